"""Functional blocks: how a feature (firmware, smart charging, monitoring...) plugs into a version.

OCPP groups its messages in functional blocks (2.0.1's A..P). A block's protocol side is one module per
version (``protocols.v201.smartcharging``...) exporting ``BLOCK``; the version's ``protocol`` module lists
its blocks and merges them with its core (``blocks_merge``), so a new block is a new module and one line,
never an edit of the core's handlers, results or command checks. The block's domain side (models,
services, API, dashboard panel) lives in an app of its own, which never imports this package.

What a block brings, every part optional:
- ``handlers``: Calls from chargers it answers, by action. They replace the core's handler of the same
  action (the core answers most notifications by recording them, until a block gives them meaning).
- ``effects``: what an answered command changes, by action, run after the core's effect of that action, in
  the results' transaction, for commands answered without a CallError (``status`` accepted or rejected).
- ``checks``: refusals before a command is queued, by action, run after the schema and the core's checks;
  raise ``chargers.commands.CommandError``.
- ``queued``: what queuing a command means before its answer, by action (in the enqueue's transaction).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chargers.models import ChargePoint, Command

    from . import Handler

#: An answered command's effect: (command, its response payload, now).
Effect = Callable[["Command", dict[str, Any], datetime], None]
#: A refusal before queuing: (charger, payload); raises CommandError.
Check = Callable[["ChargePoint", dict[str, Any]], None]
#: What queuing means: (the queued command).
Queued = Callable[["Command"], None]


@dataclasses.dataclass(frozen=True)
class Block:
    """One functional block's protocol side in one version (see the module's docstring)."""

    name: str
    handlers: Mapping[str, Handler] = dataclasses.field(default_factory=dict)
    effects: Mapping[str, Effect] = dataclasses.field(default_factory=dict)
    checks: Mapping[str, Check] = dataclasses.field(default_factory=dict)
    queued: Mapping[str, Queued] = dataclasses.field(default_factory=dict)


def blocks_handlers(core: Mapping[str, Handler], blocks: Sequence[Block]) -> dict[str, Handler]:
    """The core's handlers with every block's on top (a block's handler replaces the core's)."""
    merged = dict(core)
    for block in blocks:
        merged.update(block.handlers)
    return merged


def blocks_results_apply(core: Callable[..., None], blocks: Sequence[Block]) -> Callable[..., None]:
    """The version's ``results_apply``: the core's effects, then each block's, command by command."""

    def results_apply(*, commands: list[Command], now: datetime) -> None:
        core(commands=commands, now=now)
        for command in commands:
            for block in blocks:
                effect = block.effects.get(command.action)
                if effect is not None:
                    effect(command, command.response or {}, now)

    return results_apply


def blocks_check(blocks: Sequence[Block], charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Every block's check of ``action`` (raising CommandError); call after the core's."""
    for block in blocks:
        check = block.checks.get(action)
        if check is not None:
            check(charge_point, payload)


def blocks_queued(blocks: Sequence[Block], command: Command) -> None:
    """Every block's record of a queued ``command``; call after the core's."""
    for block in blocks:
        queued = block.queued.get(command.action)
        if queued is not None:
            queued(command)
