"""The functional-block seam (protocols.blocks): a block's handlers replace the core's, its effects run after
the core's on answered commands, its checks and queued hooks after the core's; and both versions' protocol
modules are built from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.commands import CommandError
from chargers.models import ChargePoint, Command
from protocols import for_version
from protocols.blocks import Block, blocks_check, blocks_handlers, blocks_queued, blocks_results_apply
from protocols.v16 import protocol as v16
from protocols.v201 import protocol as v201
from protocols.v201 import results

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_blocks_handler_replaces_the_cores_and_the_others_stay() -> None:
    def core(cp: Any, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"by": "core"}

    def block(cp: Any, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"by": "block"}

    merged = blocks_handlers({"A": core, "B": core}, [Block("x", handlers={"B": block})])
    assert merged["A"] is core and merged["B"] is block


def test_both_versions_handlers_are_the_merged_ones() -> None:
    for protocol, module in ((for_version("1.6"), v16), (for_version("2.0.1"), v201)):
        assert protocol is not None
        assert dict(protocol.handlers) == module.HANDLERS
        for block in module.BLOCKS:
            for action, handler in block.handlers.items():
                assert protocol.handlers[action] is handler


@pytest.mark.django_db
def test_a_blocks_effect_runs_after_the_cores_on_the_answered_command() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-B", ocpp_version="2.0.1")
    command = Command.objects.create(
        charge_point=station,
        action="SendLocalList",
        message_id="m-1",
        request={"versionNumber": 7, "updateType": "Full"},
        response={"status": "Accepted"},
        status=Command.Status.ACCEPTED,
    )
    seen: list[tuple[str, Any]] = []

    def effect(command: Command, response: dict[str, Any], now: datetime) -> None:
        # The core's effect (the local list version) is already there.
        station.refresh_from_db()
        seen.append((command.action, (response, station.local_list_version, now)))

    apply = blocks_results_apply(results.commands_results_apply, [Block("x", effects={"SendLocalList": effect})])
    apply(commands=[command], now=NOW)
    assert seen == [("SendLocalList", ({"status": "Accepted"}, 7, NOW))]


@pytest.mark.django_db
def test_a_blocks_check_refuses_and_its_queued_hook_sees_the_command() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-C", ocpp_version="2.0.1")

    def check(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
        if payload.get("bad"):
            raise CommandError("bad", {"bad": ["refused by the block"]})

    queued: list[int] = []
    block = Block("x", checks={"Reset": check}, queued={"Reset": lambda command: queued.append(command.pk)})
    blocks_check([block], station, "Reset", {"type": "Immediate"})
    with pytest.raises(CommandError) as refused:
        blocks_check([block], station, "Reset", {"bad": True})
    assert refused.value.errors == {"bad": ["refused by the block"]}
    command = Command.objects.create(charge_point=station, action="Reset", message_id="m-2", request={})
    blocks_queued([block], command)
    blocks_queued([block], Command(charge_point=station, action="ClearCache", message_id="m-3", request={}))
    assert queued == [command.pk]
