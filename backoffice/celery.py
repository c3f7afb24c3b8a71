"""The Celery application: Redis broker, tasks discovered from the Django apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "commands-timeouts": {"task": "chargers.tasks.commands_timeouts", "schedule": 5.0},
    "commands-housekeeping": {"task": "mqtt_bridge.tasks.commands_housekeeping", "schedule": 5.0},
    "presence-watchdog": {"task": "chargers.tasks.presence_watchdog", "schedule": 30.0},
    "message-log-retention": {"task": "mqtt_bridge.tasks.message_log_purge", "schedule": 3600.0},
    "certificates-renew": {"task": "certificates.tasks.certificates_renew", "schedule": 86400.0},
}
