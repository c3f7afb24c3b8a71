"""Tariffs and the cost of sessions (2.0.1 block I, and the same cost for 1.6 sessions)."""

from django.apps import AppConfig
from django.conf import settings

from backoffice.celery import app

COST_UPDATE_TASK = "tariffs.tasks.session_costs_update"


class TariffsConfig(AppConfig):
    name = "tariffs"
    verbose_name = "Tariffs and cost"

    def ready(self) -> None:
        # backoffice/celery.py lists the project's periodic tasks in code; this app adds its own beside them.
        seconds = settings.CSMS_COST_UPDATE_SECONDS
        if seconds > 0:
            app.conf.beat_schedule["tariffs-cost-updates"] = {"task": COST_UPDATE_TASK, "schedule": float(seconds)}
