"""Operational endpoints: ``/metrics`` (Prometheus) and ``/healthz`` (dependencies reachable).

``/metrics`` needs no authentication unless the environment variable ``CSMS_METRICS_TOKEN`` is
set; then a request must carry ``Authorization: Bearer <token>``.

``/healthz`` checks PostgreSQL (``SELECT 1``), Redis (``PING``), the MQTT broker (TCP connect
plus MQTT CONNECT/CONNACK with a throwaway client id, 2 s timeout) and, when ``AMQP_URL`` is set,
RabbitMQ (an AMQP login and the plugin's exchange, 2 s timeout); it answers 200 when all are ok,
503 otherwise, with a short reason for each failure.
"""

from __future__ import annotations

import hmac
import os
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from backoffice import metrics
from mqtt_bridge.mqtt import broker_address, client_create
from mqtt_bridge.transports import amqp

MQTT_TIMEOUT = 2.0
REASON_MAX = 200


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Every CSMS metric in the Prometheus text format."""
    token = os.environ.get("CSMS_METRICS_TOKEN", "")
    if token and not _bearer_matches(request, token):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def healthz_view(request: HttpRequest) -> JsonResponse:
    """``{"database": {...}, "redis": {...}, "mqtt": {...}, ["amqp": {...},] "status": "ok"|"error"}``."""
    checks: dict[str, Callable[[], None]] = {
        "database": check_database,
        "redis": check_redis,
        "mqtt": check_mqtt,
    }
    if settings.AMQP_URL:
        checks["amqp"] = check_amqp
    results = {name: _run_check(check) for name, check in checks.items()}
    healthy = all(result["status"] == "ok" for result in results.values())
    body: dict[str, object] = {**results, "status": "ok" if healthy else "error"}
    return JsonResponse(body, status=200 if healthy else 503)


def _run_check(check: Callable[[], None]) -> dict[str, str | float]:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:  # a failing dependency is the answer, not a crash
        reason = f"{type(exc).__name__}: {exc}"[:REASON_MAX]
        return {"status": "error", "reason": reason}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def check_database() -> None:
    """Raise unless PostgreSQL answers ``SELECT 1``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    """Raise unless Redis answers ``PING``."""
    metrics.get_redis().ping()


def check_mqtt() -> None:
    """Raise unless the broker of settings.MQTT_URL answers CONNECT with a successful CONNACK."""
    client = client_create(client_id=f"csms-healthz-{uuid.uuid4().hex[:12]}", clean_session=True)
    client.connect_timeout = MQTT_TIMEOUT
    outcome: dict[str, str] = {}

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        outcome["reason"] = str(reason)
        outcome["ok"] = "yes" if not getattr(reason, "is_failure", False) else ""

    client.on_connect = on_connect
    try:
        _await_connack(client, *broker_address(), outcome)
    finally:
        _close(client)
    if not outcome.get("ok"):
        raise ConnectionError(f"CONNACK refused: {outcome['reason']}")


def check_amqp() -> None:
    """Raise unless RabbitMQ (settings.AMQP_URL) takes our login and has the plugin's exchange."""
    amqp.connection_check(timeout=MQTT_TIMEOUT)


def _close(client: mqtt.Client) -> None:
    """Send DISCONNECT if connected and release the socket."""
    client.disconnect()
    sock = client.socket()
    if sock is not None:
        sock.close()


def _await_connack(client: mqtt.Client, host: str, port: int, outcome: dict[str, str]) -> None:
    deadline = time.monotonic() + MQTT_TIMEOUT
    client.connect(host, port, keepalive=10)
    while "reason" not in outcome:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no CONNACK from {host}:{port} within {MQTT_TIMEOUT:.0f} s")
        client.loop(timeout=min(0.1, remaining))


@csrf_exempt  # it changes nothing; a POST to a wrong path gets the same 404 (not the CSRF page)
def api_not_found_view(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any ``/api/`` path no route matches: the API's own 404 (JSON, as its schema says), not the dashboard's page.

    A client that got an id's shape wrong (``/chargers/CP-1/customer-information/-5/``) reads why in the
    format it asked for.
    """
    return JsonResponse({"detail": "Not found."}, status=404)
