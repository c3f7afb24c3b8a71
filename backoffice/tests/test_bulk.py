"""``copy_insert``: COPY through a reused staging table, against the real PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import DataError, transaction
from django.utils import timezone

from backoffice import bulk
from mqtt_bridge.models import InboundCall, MessageLog

pytestmark = pytest.mark.django_db

LOG_FIELDS = ("charge_point_id", "direction", "kind", "message_id", "action", "payload", "raw", "topic")
LOG_FIELDS += ("error_code", "error_description", "created_at")


def log_row(message_id: str, action: str = "Heartbeat") -> tuple:
    return ("CP-1", "in", "call", message_id, action, {"n": message_id}, "", "", "", "", timezone.now())


def test_each_call_inserts_its_own_rows_once() -> None:
    with transaction.atomic():
        bulk.copy_insert(model=MessageLog, fields=LOG_FIELDS, rows=[log_row("a"), log_row("b")])
        bulk.copy_insert(model=MessageLog, fields=LOG_FIELDS, rows=[log_row("c")])
    assert sorted(MessageLog.objects.values_list("message_id", flat=True)) == ["a", "b", "c"]
    assert MessageLog.objects.get(message_id="c").payload == {"n": "c"}


def test_a_failed_call_leaves_nothing_and_the_next_one_works() -> None:
    with transaction.atomic():
        with pytest.raises(DataError), transaction.atomic():
            # The action column holds 64 characters: the COPY fails, as Django's DataError.
            bulk.copy_insert(model=MessageLog, fields=LOG_FIELDS, rows=[log_row("x"), log_row("y", "A" * 65)])
        bulk.copy_insert(model=MessageLog, fields=LOG_FIELDS, rows=[log_row("z")])
    assert list(MessageLog.objects.values_list("message_id", flat=True)) == ["z"]


def test_on_conflict_applies() -> None:
    fields = ("charge_point_id", "message_id", "action", "payload_hash", "reply", "received_at")
    upsert = "ON CONFLICT (charge_point_id, message_id) DO UPDATE SET reply = EXCLUDED.reply"
    for reply in ({"kind": 3, "payload": {}}, {"kind": 4}):
        with transaction.atomic():
            bulk.copy_insert(
                model=InboundCall,
                fields=fields,
                rows=[("CP-1", "m1", "Heartbeat", "h", reply, timezone.now())],
                on_conflict=upsert,
            )
    assert InboundCall.objects.get().reply == {"kind": 4}
