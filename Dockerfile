# One image for every backoffice process: web (uvicorn), bridge, worker, beat. See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are served by WhiteNoise from STATIC_ROOT; settings need no service to import.
RUN python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 10001 --home-dir /app csms

USER csms
EXPOSE 8000
CMD ["uvicorn", "backoffice.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
