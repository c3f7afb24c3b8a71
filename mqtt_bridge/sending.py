"""The outbound side of commands: the domain queues them (``chargers.commands``), this sends them.

Each command the domain marks sent (``commands_next_send``: the charger is online and free) becomes
a Call Frame for its charger's route (transport, dialect and OCPP version as the charger last
spoke), is published by that transport's publisher (``outbound.publish``), and logged; if the
broker does not take them, the domain puts them back to queued.
"""

from __future__ import annotations

from chargers.commands import commands_next_send, commands_unsend
from chargers.models import Command

from .frames import Frame, Kind
from .outbound import PublishError, publish
from .processing import command_calls_log


def command_frame(command: Command) -> Frame:
    """The Call that carries ``command``, for the route its charger last spoke on."""
    charge_point = command.charge_point
    return Frame(
        charge_point_id=charge_point.charge_point_id,
        kind=Kind.CALL,
        message_id=command.message_id,
        action=command.action,
        payload=command.request,
        ocpp_version=charge_point.ocpp_version,
        dialect=charge_point.dialect,
        transport=charge_point.transport,
    )


def command_send_next(charge_point_pk: int) -> bool:
    """Send the charger's next queued command if it is free; True when one was sent."""
    return commands_send_next([charge_point_pk]) == 1


def commands_send_next(charge_point_pks: list[int]) -> int:
    """Send the next queued command of each of these chargers that is free; returns how many went out.

    If the broker does not take them they are queued again (and PublishError raised).
    """
    frames = [command_frame(command) for command in commands_next_send(charge_point_pks=charge_point_pks)]
    if not frames:
        return 0
    try:
        publish(frames)
    except PublishError:
        commands_unsend(message_ids=[frame.message_id for frame in frames])
        raise
    command_calls_log(frames)
    return len(frames)
