"""Production web security from the environment (issue 17 item 6): secure cookies, HSTS and the proxy's
scheme header, read by a fresh settings module (the environment of the process, as in production)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
]


def settings_with(**env: str) -> dict[str, Any]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {NAMES!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CSMS_HTTPS", "CSMS_BEHIND", "CSMS_HSTS"))}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "backoffice.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_development_defaults_keep_plain_http_working() -> None:
    assert settings_with() == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_SSL_REDIRECT": False,
    }


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_on() -> None:
    assert settings_with(CSMS_BEHIND_TLS_PROXY="true") == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": False,
    }
    assert settings_with(CSMS_HTTPS="true", CSMS_HSTS_SECONDS="600")["SECURE_HSTS_SECONDS"] == 600


def test_a_bad_value_stops_the_process() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        settings_with(CSMS_BEHIND_TLS_PROXY="perhaps")
    assert "CSMS_BEHIND_TLS_PROXY" in failed.value.stderr


@pytest.mark.django_db
def test_hsts_is_sent_on_requests_the_proxy_marks_https_and_auth_is_never_redirected(settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    secure = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert secure["Strict-Transport-Security"] == "max-age=3600"
    assert client.get("/dashboard/").status_code == 301  # plain HTTP from a browser: to https
    # EMQX asks over plain HTTP inside the deployment: answered, not redirected
    assert client.post("/gateway/auth", data="{}", content_type="application/json").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)
