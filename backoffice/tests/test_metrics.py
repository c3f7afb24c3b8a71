"""Metrics land in the real Redis and render; /metrics and /healthz through Django's test client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from pytest_django.fixtures import Settings

from backoffice import metrics


@pytest.fixture
def name() -> Iterator[str]:
    """A metric name of our own, deleted afterwards."""
    unique = f"csms_test_{uuid.uuid4().hex[:8]}"
    yield unique
    metrics.reset([f"{unique}_total", f"{unique}_seconds"])


def samples(text: bytes, metric: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of one family, keyed by (sample name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        if family.name == metric:
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_counts_add_up_in_redis_and_render(name: str) -> None:
    metrics.count(f"{name}_total", action="Heartbeat", outcome="ok")
    metrics.count(f"{name}_total", 4, action="Heartbeat", outcome="ok")
    metrics.count(f"{name}_total", action="BootNotification", outcome="error")
    found = samples(metrics.render(), name)
    assert found[(f"{name}_total", (("action", "Heartbeat"), ("outcome", "ok")))] == 5
    assert found[(f"{name}_total", (("action", "BootNotification"), ("outcome", "error")))] == 1


def test_histogram_buckets_are_cumulative(name: str) -> None:
    for seconds in (0.0005, 0.004, 0.2, 99.0):
        metrics.observe(f"{name}_seconds", seconds)
    found = samples(metrics.render(), f"{name}_seconds")
    assert found[(f"{name}_seconds_bucket", (("le", "0.001"),))] == 1
    assert found[(f"{name}_seconds_bucket", (("le", "0.005"),))] == 2
    assert found[(f"{name}_seconds_bucket", (("le", "0.25"),))] == 3
    assert found[(f"{name}_seconds_bucket", (("le", "+Inf"),))] == 4
    assert found[(f"{name}_seconds_count", ())] == 4
    assert found[(f"{name}_seconds_sum", ())] == pytest.approx(99.2045)


def test_batched_sends_everything_at_the_end(name: str) -> None:
    with metrics.batched():
        metrics.count(f"{name}_total", kind="result")
        metrics.observe(f"{name}_seconds", 0.01, action="Heartbeat")
        assert not metrics.get_redis().exists(metrics.COUNTER_PREFIX + f"{name}_total")
    found = samples(metrics.render(), name)
    assert found[(f"{name}_total", (("kind", "result"),))] == 1


def test_the_known_names_render_with_their_help() -> None:
    metrics.count("csms_bridge_reconnects_total", 0)
    text = metrics.render().decode()
    assert (
        "# HELP csms_bridge_reconnects_total Reconnections of the bridge process's consumers to their broker, "
        "by transport." in text
    )
    assert "# TYPE csms_celery_queue_depth gauge" in text
    assert "csms_metrics_store_up 1.0" in text


def test_an_unreachable_redis_never_raises(name: str, settings: Settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    metrics.count(f"{name}_total")
    metrics.observe(f"{name}_seconds", 0.1)
    with metrics.batched():
        metrics.count(f"{name}_total")
    assert b"csms_metrics_store_up 0.0" in metrics.render()


def test_metrics_endpoint_serves_the_text_format(client: Client, name: str) -> None:
    metrics.count(f"{name}_total", reason="bad-json")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert samples(response.content, name)[(f"{name}_total", (("reason", "bad-json"),))] == 1


def test_metrics_token_requires_a_bearer(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSMS_METRICS_TOKEN", "s3cret")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


@pytest.mark.django_db
def test_healthz_is_ok_with_the_real_services(client: Client) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert {body[key]["status"] for key in ("database", "redis", "mqtt")} == {"ok"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_broker(client: Client, settings: Settings) -> None:
    settings.MQTT_URL = "mqtt://127.0.0.1:1"
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["mqtt"]["status"] == "error" and body["mqtt"]["reason"]
    assert body["database"]["status"] == "ok"
