"""``copy_insert``: COPY through a reused staging table, against the real PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import DataError, transaction
from django.utils import timezone

from backoffice import bulk
from mqtt_bridge.models import InboundCall, MessageLog

pytestmark = pytest.mark.django_db

LOG_FIELDS: tuple[str, ...] = ("charge_point_id", "direction", "kind", "message_id", "action", "payload", "raw")
LOG_FIELDS += ("topic", "error_code", "error_description", "created_at")


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


def test_update_objects_writes_the_fields_given_and_cuts_nothing() -> None:
    from chargers.models import ChargePoint, Command

    charge_point = ChargePoint.objects.create(charge_point_id="CP-1")
    commands = [
        Command.objects.create(charge_point=charge_point, action="Reset", message_id=f"c{i}", request={"n": i})
        for i in range(3)
    ]
    commands[0].status, commands[0].response = "accepted", {"status": "Accepted"}
    commands[1].status, commands[1].response, commands[1].error_code = "failed", None, "NotSupported"
    commands[2].action = "Changed in memory only"
    with transaction.atomic():
        bulk.update_objects(commands[:2], ["status", "response", "error_code"])
    rows = {c.message_id: c for c in Command.objects.all()}
    assert (rows["c0"].status, rows["c0"].response) == ("accepted", {"status": "Accepted"})
    assert (rows["c1"].status, rows["c1"].error_code) == ("failed", "NotSupported")
    assert Command.objects.filter(message_id="c1", response__isnull=True).exists()  # SQL NULL, not JSON null
    assert rows["c2"].action == "Reset" and rows["c0"].request == {"n": 0}

    commands[0].status = "x" * 17  # the column holds 16: an error, never a silent cut
    with pytest.raises(DataError), transaction.atomic():
        bulk.update_objects(commands[:1], ["status"])
