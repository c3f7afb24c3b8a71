"""The domain's port to the OCPP versions: what the fleet needs of a protocol, owned by the domain.

The domain (``chargers``, ``transactions``) imports no protocol package: each one (``protocols.v16``,
later ``v201``...) implements ``ProtocolPort`` and registers itself here when Django starts
(``protocols.apps``). The API, the dashboard and the admin ask ``port_of(charge_point)`` for the
charger's version and build every command with its ``shortcuts``, so no caller writes an OCPP
payload by hand and a new version brings its own spellings of the same operator shortcuts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction

if TYPE_CHECKING:
    from .models import ChargePoint, Command

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "1.6"


@dataclasses.dataclass(frozen=True)
class CommandRequest:
    """A CSMS-initiated Call to queue: its action and its request payload, in the charger's version."""

    action: str
    payload: dict[str, Any]


class Shortcuts(Protocol):
    """The operator shortcuts every version spells in its own words (the API's, dashboard's, admin's buttons)."""

    def remote_start(
        self, *, id_tag: str, connector_id: int | None = None, charging_profile: dict[str, Any] | None = None
    ) -> CommandRequest:
        """Start a session for ``id_tag``; ``charging_profile`` is the version's TxProfile, as the API takes it."""
        ...

    def remote_stop(self, *, transaction_id: int) -> CommandRequest: ...

    def reset(self, *, hard: bool) -> CommandRequest: ...

    def unlock(self, *, connector_id: int) -> CommandRequest: ...

    def availability(self, *, connector_id: int, operative: bool) -> CommandRequest: ...

    def trigger(self, *, message: str, connector_id: int | None = None) -> CommandRequest: ...

    def boot_now(self) -> CommandRequest:
        """Ask the charger to send a BootNotification at once (after an operator accepted it)."""
        ...

    def configuration_read(self) -> CommandRequest:
        """Read the charger's whole configuration (1.6 GetConfiguration; 2.0.1 GetBaseReport)."""
        ...

    def clear_cache(self) -> CommandRequest: ...


class ProtocolPort(Protocol):
    """One OCPP version as the domain sees it."""

    version: str
    shortcuts: Shortcuts
    #: CSMS-initiated actions this version can queue as commands.
    commands: frozenset[str]
    #: What ``trigger(message=...)`` accepts.
    trigger_messages: tuple[str, ...]

    def command_check(self, *, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
        """Raise ``chargers.commands.CommandError`` when this command cannot be queued as it is
        (unknown action, payload failing its schema, or a state the schema cannot know: a RemoteStop
        of a session that is not active, a reservation in the past...)."""
        ...

    def command_queued(self, *, command: Command) -> None:
        """Record what queuing ``command`` means to the domain before any answer (a reservation
        command requests its ``Reservation``); called in the transaction that queues it."""
        ...

    def command_split(self, *, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The payloads a checked command goes out as, in order: ``[payload]``, or several commands of
        the same action when the charger takes no more items in one message (2.0.1: GetVariables and
        SetVariables past the station's ``DeviceDataCtrlr.ItemsPerMessage``). Each is queued as a
        command of its own (``chargers.commands.commands_enqueue``)."""
        ...


_PORTS: dict[str, ProtocolPort] = {}


def register(port: ProtocolPort) -> None:
    """Make a version known to the domain (called by each protocol package at start)."""
    _PORTS[port.version] = port


def port_for(version: str) -> ProtocolPort:
    """The registered port of ``version``; LookupError when no package speaks it."""
    try:
        return _PORTS[version]
    except KeyError:
        raise LookupError(f"no protocol package for OCPP {version!r} (known: {', '.join(sorted(_PORTS))})") from None


def port_of(charge_point: ChargePoint) -> ProtocolPort:
    """The port of the version the charger speaks (the one of its last BootNotification)."""
    return port_for(charge_point.ocpp_version or DEFAULT_VERSION)


def versions() -> list[str]:
    """The versions registered, in order."""
    return sorted(_PORTS)


# Whatever carries a charger's Calls may know that the charger takes none (an MQTT charger whose
# firmware cannot): it registers a refuser at start, which says why, by charge point primary key.
CommandRefuser = Callable[[Sequence["ChargePoint"]], dict[int, str]]
_REFUSERS: list[CommandRefuser] = []


def command_refuser_register(refuser: CommandRefuser) -> None:
    """Have ``refuser`` asked before any command is queued (``chargers.commands``); once is enough."""
    if refuser not in _REFUSERS:
        _REFUSERS.append(refuser)


def commands_refused(*, charge_points: Sequence[ChargePoint]) -> dict[int, str]:
    """Why each of these chargers cannot be sent commands, by primary key (the others can)."""
    refused: dict[int, str] = {}
    for refuser in _REFUSERS:
        for pk, reason in refuser(charge_points).items():
            refused.setdefault(pk, reason)
    return refused


# A Call answered with a CallError (its payload failed its schema, or its handler refused it) can mean
# something to the domain: a SignCertificate whose CSR is garbage is a security event of the charger
# (``certificates``). The processing tells the observers of the action once the CallError is decided; what
# they do can never change that answer.
@dataclasses.dataclass(frozen=True)
class CallRefusal:
    """A charger's Call refused with a CallError: the Call's action and version, and the error answered."""

    action: str
    ocpp_version: str
    code: str
    description: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


CallRefusalObserver = Callable[["ChargePoint", CallRefusal], object]
_REFUSAL_OBSERVERS: dict[str, list[CallRefusalObserver]] = {}


def call_refusal_observer_register(action: str, observer: CallRefusalObserver) -> None:
    """Have ``observer`` told of every CallError answered to a Call of ``action`` (any version); once is enough."""
    observers = _REFUSAL_OBSERVERS.setdefault(action, [])
    if observer not in observers:
        observers.append(observer)


def call_refused(*, charge_point: ChargePoint, refusal: CallRefusal) -> None:
    """Tell the observers of ``refusal.action``. Each runs in its own savepoint: one that raises is logged and
    what it wrote undone, and the CallError is answered all the same."""
    for observer in _REFUSAL_OBSERVERS.get(refusal.action, ()):
        try:
            with transaction.atomic():
                observer(charge_point, refusal)
        except Exception:
            logger.exception("refusal observer %r of %s failed", observer, refusal.action)
