"""An asyncio OCPP-J gateway that behaves like EMQX's OCPP gateway (see shared WIRE.md).

Each charger holds a WebSocket on ``/ocpp/{cid}`` (HTTP Basic auth) with subprotocol ``ocpp2.0.1``,
``ocpp2.1`` or ``ocpp1.6``: of those the charger offers, the gateway picks the first of its own list
(``CSMS_GATEWAY_SUBPROTOCOLS``, an order of preference). Every text frame is published on MQTT as
EMQX's JSON envelope, on the topics of the socket's OCPP version: a 1.6 socket's on EMQX's
(``CSMS_TOPIC_CALL`` / ``CSMS_TOPIC_REPLY``), so the backoffice cannot tell us from EMQX; a 2.0.1
socket's on ``CSMS_TOPIC_CALL_V201`` / ``CSMS_TOPIC_REPLY_V201``, the route that makes its frames 2.0.1, and a
2.1 socket's on ``CSMS_TOPIC_CALL_V21`` / ``CSMS_TOPIC_REPLY_V21`` (its SENDs with the Calls, its
CALLRESULTERRORs with the results: the MessageTypeId tells them apart).
Every downlink on the downstream topic (one for all versions: the gateway knows each socket) is written
to the charger's socket as one OCPP-J frame. The gateway keeps no OCPP state beyond what EMQX keeps:
the keepalive interval (from a BootNotification reply) and one connection per charge point id (a
second connection replaces the first).

Keepalive: EMQX drops a charger that sent no text frame for 1.5 heartbeat intervals, whatever its
WebSocket pings, and knows no interval but an Accepted reply's. In the default ``lenient`` mode a
ping or pong from the charger also counts, and a Pending/Rejected reply's retry interval covers the
silence of a charger waiting to boot again; ``emqx`` mode keeps EMQX's rule exactly.

Security: every handshake is decided by ``services.handshake_authenticate`` (the charger's security
profile, the username rule, the password, a verified client certificate's CN, the lockout), the same
function /gateway/auth answers EMQX with. With a certificate and key the listener speaks TLS 1.2+ only and,
given client CAs, verifies client certificates (CRLs too) in the handshake; ``plain_port`` adds a ws://
listener beside it for profile 0 and 1 chargers (one port per scheme: a charger's URL says which).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import ssl
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any, cast

from django.conf import settings
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from gateway import lockout, protocol, services
from gateway.mqtt import MqttLink

logger = logging.getLogger(__name__)

KEEPALIVE_MODES = ("lenient", "emqx")
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# How often the TLS files are looked at for changes (a renewed server certificate, a new CRL).
TLS_RELOAD_CHECK_SECONDS = 5.0
# A charger told Pending/Rejected may stay silent for about twice the retry interval before it boots
# again (the SAP e-mobility simulator waits interval x 2).
BOOT_RETRY_SILENCE = 2
# The WebSocket library refuses a frame past its max_size before we see a byte of it, closing the
# socket (1009). It reads up to this many times our limit, so that an oversized Call is answered
# with a CallError and the charger stays connected; past that a frame is not worth reading.
OVERSIZE_READ_FACTOR = 4
# OCPP 2.1's frames that are never answered, counted apart (the backoffice logs a CALLRESULTERROR too).
_UNANSWERED_KINDS = {protocol.SEND: "frames_up_send", protocol.CALLRESULTERROR: "frames_up_callresulterror"}


@dataclasses.dataclass(frozen=True)
class UpstreamRoute:
    """The topic templates of one OCPP version's frames: Calls, and results and errors."""

    call: str
    reply: str

    @property
    def action_in_topic(self) -> bool:
        return "{action}" in self.call


@dataclasses.dataclass
class GatewayConfig:
    """Everything the gateway reads; ``from_settings`` fills it from Django settings."""

    host: str = "127.0.0.1"
    port: int = 33033
    path: str = "/ocpp"
    # In order of preference; a version whose topics are "" is not spoken.
    subprotocols: list[str] = dataclasses.field(default_factory=lambda: ["ocpp2.0.1", "ocpp1.6"])
    tls_cert: str = ""
    tls_key: str = ""
    tls_min_version: str = "1.2"
    # Client certificates (security profile 3) are asked for only when there are CAs to verify them with.
    tls_client_cas: list[str] = dataclasses.field(default_factory=list)
    tls_crls: list[str] = dataclasses.field(default_factory=list)
    tls_handshake_timeout: float = 10.0
    # With TLS on: a plain listener beside it for profile 0/1 chargers (None: none; 0: any free port).
    plain_port: int | None = None
    allow_anonymous: bool = False
    auth_url: str = ""
    auth_token: str = ""
    auth_cache_seconds: float = 300
    lockout_policy: lockout.Policy = dataclasses.field(default_factory=lockout.Policy)
    default_heartbeat: float = 60
    keepalive_backoff: float = 1.5
    keepalive_tick: float = 1.0
    keepalive_mode: str = "lenient"
    upstream_qos: int = 2
    max_frame_bytes: int = 65536
    max_json_depth: int = 32
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_client_id: str = "csms-gateway"
    mqtt_keepalive: int = 30
    mqtt_ca_file: str = ""
    mqtt_clean_session: bool = False  # tests: leave no persistent session behind in the broker
    node: str = "csms-gateway@127.0.0.1"
    topic_call: str = "ocpp/cp/{cid}"
    topic_reply: str = "ocpp/cp/{cid}/Reply"
    topic_call_v201: str = "ocpp/v201/cp/{cid}"
    topic_reply_v201: str = "ocpp/v201/cp/{cid}/Reply"
    topic_call_v21: str = "ocpp/v21/cp/{cid}"
    topic_reply_v21: str = "ocpp/v21/cp/{cid}/Reply"
    topic_downstream: str = "ocpp/cs/{cid}"
    presence_templates: list[str] = dataclasses.field(default_factory=list)
    stats_interval: float = 60.0

    @classmethod
    def from_settings(cls, **overrides: Any) -> GatewayConfig:
        """The configuration in force (``CSMS_GATEWAY_*``, ``CSMS_TOPIC_*``, ``MQTT_URL``), then overrides."""
        values: dict[str, Any] = {
            "host": settings.CSMS_GATEWAY_HOST,
            "port": settings.CSMS_GATEWAY_PORT,
            "path": settings.CSMS_GATEWAY_PATH,
            "subprotocols": list(settings.CSMS_GATEWAY_SUBPROTOCOLS),
            "tls_cert": settings.CSMS_GATEWAY_TLS_CERT,
            "tls_key": settings.CSMS_GATEWAY_TLS_KEY,
            "tls_min_version": settings.CSMS_GATEWAY_TLS_MIN_VERSION,
            "tls_client_cas": [
                *([settings.CSMS_GATEWAY_TLS_CLIENT_CA] if settings.CSMS_GATEWAY_TLS_CLIENT_CA else []),
                *settings.CSMS_GATEWAY_TLS_EXTRA_CLIENT_CAS,
            ],
            "tls_crls": list(settings.CSMS_GATEWAY_TLS_CRL),
            "plain_port": settings.CSMS_GATEWAY_PLAIN_PORT,
            "allow_anonymous": settings.CSMS_GATEWAY_ALLOW_ANONYMOUS,
            "auth_url": settings.CSMS_GATEWAY_AUTH_URL,
            "auth_token": settings.CSMS_GATEWAY_AUTH_TOKEN,
            "auth_cache_seconds": settings.CSMS_GATEWAY_AUTH_CACHE_SECONDS,
            "lockout_policy": lockout.Policy.from_settings(),
            "default_heartbeat": settings.CSMS_GATEWAY_DEFAULT_HEARTBEAT,
            "keepalive_backoff": settings.CSMS_GATEWAY_KEEPALIVE_BACKOFF,
            "keepalive_mode": settings.CSMS_GATEWAY_KEEPALIVE_MODE,
            "upstream_qos": settings.CSMS_GATEWAY_UPSTREAM_QOS,
            "max_frame_bytes": settings.CSMS_GATEWAY_MAX_FRAME_BYTES,
            "max_json_depth": settings.CSMS_MAX_JSON_DEPTH,
            "mqtt_url": settings.MQTT_URL,
            "mqtt_client_id": settings.CSMS_GATEWAY_MQTT_CLIENT_ID,
            "mqtt_keepalive": settings.CSMS_MQTT_KEEPALIVE,
            "mqtt_ca_file": settings.CSMS_MQTT_CA_FILE,
            "node": settings.CSMS_GATEWAY_NODE,
            "topic_call": settings.CSMS_TOPIC_CALL,
            "topic_reply": settings.CSMS_TOPIC_REPLY,
            "topic_call_v201": settings.CSMS_TOPIC_CALL_V201,
            "topic_reply_v201": settings.CSMS_TOPIC_REPLY_V201,
            "topic_call_v21": settings.CSMS_TOPIC_CALL_V21,
            "topic_reply_v21": settings.CSMS_TOPIC_REPLY_V21,
            "topic_downstream": settings.CSMS_TOPIC_DOWNSTREAM,
            "presence_templates": list(settings.CSMS_TOPIC_PRESENCE),
        }
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        if self.keepalive_mode not in KEEPALIVE_MODES:
            raise ValueError(f"keepalive_mode must be one of {KEEPALIVE_MODES}, not {self.keepalive_mode!r}")
        unknown = [p for p in self.subprotocols if p not in protocol.OCPP_VERSIONS]
        if unknown:
            raise ValueError(f"subprotocols {unknown} unknown: the gateway speaks {list(protocol.OCPP_VERSIONS)}")
        if not self.spoken_subprotocols:
            raise ValueError(f"none of the subprotocols {self.subprotocols} has its MQTT topics set")
        if self.tls_min_version not in TLS_VERSIONS:
            raise ValueError(f"tls_min_version must be one of {list(TLS_VERSIONS)}, not {self.tls_min_version!r}")
        if (self.tls_client_cas or self.tls_crls or self.plain_port is not None) and not self.tls:
            raise ValueError("client CAs, CRLs and a plain port need TLS (tls_cert and tls_key)")

    @property
    def routes(self) -> dict[str, UpstreamRoute]:
        """Where each OCPP version's frames are published; a version whose topics are "" has none."""
        topics = {
            "1.6": (self.topic_call, self.topic_reply),
            "2.0.1": (self.topic_call_v201, self.topic_reply_v201),
            "2.1": (self.topic_call_v21, self.topic_reply_v21),
        }
        return {version: UpstreamRoute(call, reply) for version, (call, reply) in topics.items() if call and reply}

    @property
    def spoken_subprotocols(self) -> list[str]:
        """The subprotocols negotiated, in order of preference: those whose version has its topics."""
        routes = self.routes
        return [p for p in dict.fromkeys(self.subprotocols) if protocol.OCPP_VERSIONS.get(p) in routes]

    @property
    def lenient_keepalive(self) -> bool:
        """Pings and boot retry intervals keep a socket alive (else EMQX's rule: text frames only)."""
        return self.keepalive_mode == "lenient"

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @property
    def scheme(self) -> str:
        return "wss" if self.tls else "ws"


class TlsContexts:
    """The server's SSL context: TLS 1.2 or later, our certificate, and for security profile 3 the client
    CAs (a client certificate is asked for, optional at the TLS level: the profile decides after the
    handshake) and CRLs (a revoked certificate fails the handshake).

    Rebuilt when one of its files changes (looked at every TLS_RELOAD_CHECK_SECONDS at most), so a new CRL
    or a renewed certificate needs no restart; a file that cannot be read keeps the previous context.
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._files = [config.tls_cert, config.tls_key, *config.tls_client_cas, *config.tls_crls]
        self._stamps = self._file_stamps()
        self._context = self.build()  # fails loudly at start: a gateway must not run with half its TLS
        self._next_check = time.monotonic() + TLS_RELOAD_CHECK_SECONDS

    @property
    def verifies_clients(self) -> bool:
        return bool(self.config.tls_client_cas)

    def _file_stamps(self) -> list[tuple[float, int]]:
        stamps = []
        for name in self._files:
            try:
                info = os.stat(name)
                stamps.append((info.st_mtime, info.st_size))
            except OSError:
                stamps.append((0.0, -1))
        return stamps

    def build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = TLS_VERSIONS[self.config.tls_min_version]
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        for ca_file in self.config.tls_client_cas:
            context.load_verify_locations(cafile=ca_file)
        if self.config.tls_client_cas:
            context.verify_mode = ssl.CERT_OPTIONAL
        for crl_file in self.config.tls_crls:
            context.load_verify_locations(cafile=crl_file)
        if self.config.tls_crls:
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return context

    def context(self) -> ssl.SSLContext:
        """The context for the next handshake (rebuilt first if a file changed)."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + TLS_RELOAD_CHECK_SECONDS
            stamps = self._file_stamps()
            if stamps != self._stamps:
                try:
                    self._context = self.build()
                    self._stamps = stamps
                    logger.info("TLS files changed: certificate, client CAs and CRLs reloaded")
                except (OSError, ssl.SSLError, ValueError) as exc:
                    logger.error("TLS files changed but cannot be loaded (%s): keeping the previous ones", exc)
        return self._context


def certificate_common_name(ssl_object: ssl.SSLObject | None) -> str | None:
    """The CN of the client certificate verified in this TLS session; None without one.

    A certificate with no CN, or several, gives "" (never a charge point id, so it matches none).
    """
    if ssl_object is None:
        return None
    certificate = ssl_object.getpeercert()
    if not certificate:
        return None
    subject = certificate.get("subject", ())
    names = [
        attribute[1]
        for rdn in (subject if isinstance(subject, tuple) else ())
        for attribute in rdn
        if isinstance(attribute, tuple) and attribute[0] == "commonName"
    ]
    return str(names[0]) if len(names) == 1 else ""


class Authenticator:
    """Decides whether a handshake is admitted: the anonymous flag, then ``services.handshake_authenticate``.

    The check runs in worker threads (the password hash is deliberately slow) against the database, or
    against an EMQX-style HTTP endpoint when ``auth_url`` is set (which then keeps the lockout and the
    security events). A positive answer is cached for ``auth_cache_seconds`` per (id, password, TLS,
    certificate CN), so a reconnecting charger does not pay the hash again (nor a lock set by someone
    failing as its id), as long as the credential's generation is the one it was admitted with: a rotated
    password, a changed profile or a disabled credential takes effect at the next handshake.
    Addresses found locked are remembered here, so that their next attempts are refused on the event
    loop, without a thread, a query or (for TLS) a handshake.
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        #: (id, user:password digest, TLS, certificate CN) -> (expiry, the credential's generation then).
        self._cache: dict[tuple[str, str, bool, str | None], tuple[float, str]] = {}
        self._locked_addresses: dict[str, float] = {}
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gateway-auth")

    def address_locked_for(self, address: str) -> float:
        """Seconds the address is known to stay locked (0.0: not known to be locked)."""
        until = self._locked_addresses.get(address)
        if until is None:
            return 0.0
        remaining = until - time.monotonic()
        if remaining <= 0:
            del self._locked_addresses[address]
            return 0.0
        return remaining

    def address_locked(self, address: str, seconds: float) -> None:
        if not address or seconds <= 0:
            return
        if len(self._locked_addresses) > 100_000:
            now = time.monotonic()
            self._locked_addresses = {a: t for a, t in self._locked_addresses.items() if t > now}
        self._locked_addresses[address] = time.monotonic() + seconds

    async def admit(self, attempt: services.HandshakeAttempt, *, has_authorization: bool) -> services.AuthDecision:
        """The decision for one handshake."""
        if self.config.allow_anonymous and not has_authorization and attempt.certificate_cn is None:
            return services.AuthDecision(allowed=True)
        locked = self.address_locked_for(attempt.address)
        if locked > 0:
            return services.AuthDecision(allowed=False, reason=services.LOCKED_OUT, retry_after=max(1, round(locked)))
        digest = hashlib.sha256((attempt.password or "").encode("utf-8", "surrogatepass")).hexdigest()
        key = (attempt.charge_point_id, f"{attempt.username}:{digest}", attempt.tls, attempt.certificate_cn)
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        caching = self.config.auth_cache_seconds > 0
        generation = ""
        if caching:
            # The credential's generation (services.credential_generation) changes with every change of it: a
            # rotated-out password or a profile left behind is never admitted from the cache. Read before the
            # check, so a change during the check makes the entry stale at once; "" (Redis cannot say): no cache.
            generation = await loop.run_in_executor(self._executor, self._generation, attempt.charge_point_id)
            expiry, cached_generation = self._cache.get(key, (0.0, ""))
            if expiry > now and generation and cached_generation == generation:
                return services.AuthDecision(allowed=True)
        decision = await loop.run_in_executor(self._executor, self._check, attempt)
        self.address_locked(attempt.address, decision.address_locked_seconds)
        if decision.allowed and caching and generation:
            if len(self._cache) > 100_000:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + self.config.auth_cache_seconds, generation)
        return decision

    @staticmethod
    def _generation(charge_point_id: str) -> str:
        return services.credential_generation(charge_point_id=charge_point_id)

    def _check(self, attempt: services.HandshakeAttempt) -> services.AuthDecision:
        try:
            if self.config.auth_url:
                return self._check_http(attempt)
            return self._check_database(attempt)
        except Exception:
            logger.exception("credential check for %s failed; refusing the handshake", attempt.charge_point_id)
            return services.AuthDecision(allowed=False, reason=services.CHECK_FAILED)

    def _check_http(self, attempt: services.HandshakeAttempt) -> services.AuthDecision:
        body = json.dumps(
            {
                "clientid": attempt.charge_point_id,
                "username": attempt.username or "",
                "password": attempt.password or "",
                "peerhost": attempt.address,
                "transport": "wss" if attempt.tls else "ws",
                "cert_common_name": attempt.certificate_cn or "",
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.config.auth_token:
            headers["Authorization"] = f"Bearer {self.config.auth_token}"
        request = urllib.request.Request(self.config.auth_url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (URL from settings)
            if response.status not in (200, 204):
                return services.AuthDecision(allowed=False, reason=services.CHECK_FAILED)
            answer = json.loads(response.read() or b"{}")
        if isinstance(answer, dict) and answer.get("result") == "allow":
            return services.AuthDecision(allowed=True)
        cn = attempt.certificate_cn
        mismatch = cn is not None and cn != attempt.charge_point_id
        return services.AuthDecision(
            allowed=False, reason=services.CERTIFICATE_CN_MISMATCH if mismatch else services.DENIED
        )

    def _check_database(self, attempt: services.HandshakeAttempt) -> services.AuthDecision:
        from django.db import close_old_connections, connections

        close_old_connections()
        try:
            return services.handshake_authenticate(attempt=attempt, policy=self.config.lockout_policy)
        finally:
            # Worker threads come and go with the executor: never leave a connection behind them.
            connections.close_all()

    async def tls_failure_record(self, address: str) -> None:
        """A client certificate refused at the TLS handshake counts as a failed login of its address.

        No charge point id is known then (the request path travels inside the failed session), so there is
        no security event either: the failure is logged and counted, and feeds the address's lockout.
        """
        if self.config.auth_url or not address:
            return  # the endpoint keeps the lockout; this gateway may not even reach its Redis
        failure = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: lockout.lockout_failure_record(
                charge_point_id="", address=address, policy=self.config.lockout_policy
            ),
        )
        self.address_locked(address, failure.address_locked_seconds)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class OcppServerConnection(ServerConnection):
    """A server connection that remembers when the charger last sent a ping or a pong, and that does its
    own TLS handshake on a TLS listener.

    The library answers pings itself and never hands them to the handler, so the time is taken
    where frames are processed: one float per connection, one assignment per ping.

    TLS: the listener is plain TCP and each connection starts TLS itself (``loop.start_tls``) instead of
    asyncio doing it, because a handshake that asyncio refuses vanishes without a word: here a refused
    client certificate is counted and logged with its address and feeds that address's lockout, a locked
    address is dropped before any TLS work, and every handshake gets the current context (a new CRL).
    ``gateway`` is set on a subclass per TLS listener.
    """

    last_control_rx: float = 0.0
    gateway: Gateway | None = None
    # True from the TCP accept until the TLS handshake succeeded: the library's connection is not made yet.
    tls_pending: bool = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.gateway is None:
            super().connection_made(transport)
            return
        self.tls_pending = True
        # Nothing may be read before TLS: start_tls takes over the transport on the next loop turn.
        cast(asyncio.Transport, transport).pause_reading()
        self.gateway.tls_accept(self, cast(asyncio.Transport, transport))

    def tls_established(self, transport: asyncio.BaseTransport) -> None:
        """The TLS handshake succeeded: from here on a connection like any other."""
        self.tls_pending = False
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # asyncio's TLS layer reports the end of a refused handshake to the protocol it was started for.
        if self.tls_pending:
            return
        super().connection_lost(exc)

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode in (Opcode.PING, Opcode.PONG):
            self.last_control_rx = time.monotonic()
        super().process_event(event)


@dataclasses.dataclass(eq=False)
class Session:
    """One charger connection."""

    ws: ServerConnection
    info: protocol.ClientInfo
    interval: float
    last_rx: float
    route: UpstreamRoute
    # The version of the socket's subprotocol: its topics, and the spelling of its error codes.
    ocpp_version: str = "1.6"
    # Set by a Pending/Rejected BootNotification reply, cleared by an Accepted one (lenient mode).
    retry_interval: float | None = None
    closing: bool = False
    announced: bool = False

    def last_activity(self, *, pings_count: bool) -> float:
        """When the charger last proved its socket: a text frame, or also a ping/pong."""
        if pings_count and isinstance(self.ws, OcppServerConnection):
            return max(self.last_rx, self.ws.last_control_rx)
        return self.last_rx

    def silence_allowed(self, backoff: float) -> float:
        """Seconds of silence before the watchdog drops the charger."""
        interval = self.interval
        if self.retry_interval is not None:
            interval = max(interval, self.retry_interval * BOOT_RETRY_SILENCE)
        return interval * backoff


class Gateway:
    """The WebSocket server, the MQTT link between it and the broker, and the keepalive watchdog."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.authenticator = Authenticator(config)
        self._downstream_re = protocol.cid_regex(config.topic_downstream)
        self._routes = config.routes
        self._subprotocols = [Subprotocol(p) for p in config.spoken_subprotocols]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._background: list[asyncio.Task[None]] = []
        self._tls: TlsContexts | None = TlsContexts(config) if config.tls else None
        self._tls_handshakes: set[asyncio.Task[None]] = set()
        self._plain_server: Server | None = None
        self._stopping = False
        self._pending_presence: list[Any] = []
        self.mqtt = MqttLink(
            url=config.mqtt_url,
            client_id=config.mqtt_client_id,
            subscriptions=[protocol.topic_for(config.topic_downstream, cid="+")],
            on_message=self._on_mqtt_message,
            keepalive=config.mqtt_keepalive,
            ca_file=config.mqtt_ca_file,
            clean_session=config.mqtt_clean_session,
        )

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect to the broker, then listen."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(None, self.mqtt.start)
        connection_class: type[OcppServerConnection] = OcppServerConnection
        if self._tls is not None:
            connection_class = type("OcppTlsServerConnection", (OcppServerConnection,), {"gateway": self})
        self._server = await self._listen(self.config.port, connection_class)
        if self._tls is not None and self.config.plain_port is not None:
            self._plain_server = await self._listen(self.config.plain_port, OcppServerConnection)
        self._background = [
            asyncio.create_task(self._keepalive_watchdog()),
            asyncio.create_task(self._log_stats()),
        ]
        logger.info(
            "OCPP gateway listening on %s://%s:%s%s/{cid}%s (%s, anonymous %s, keepalive %s, %s)",
            self.config.scheme,
            self.config.host,
            self.port,
            self.config.path.rstrip("/"),
            f" and ws://{self.config.host}:{self.plain_port}" if self._plain_server is not None else "",
            ", ".join(self._subprotocols),
            "allowed" if self.config.allow_anonymous else "refused",
            self.config.keepalive_mode,
            "client certificates verified" if self._tls and self._tls.verifies_clients else "no client certificates",
        )

    async def _listen(self, port: int, connection_class: type[OcppServerConnection]) -> Server:
        return await serve(
            self._handler,
            self.config.host,
            port,
            process_request=self._process_request,
            subprotocols=self._subprotocols,
            select_subprotocol=self._select_subprotocol,
            # EMQX does not compress (websocket.compress = false) and never pings chargers; the
            # library answers the chargers' pings. Both keep a connection at a few kilobytes.
            compression=None,
            ping_interval=None,
            max_size=self.config.max_frame_bytes * OVERSIZE_READ_FACTOR,
            server_header=None,
            create_connection=connection_class,
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        if self._server is None:
            return self.config.port
        # websockets types ``sockets`` as an Iterable (asyncio's tuple today): take the first without indexing.
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def plain_port(self) -> int | None:
        """The plain listener's port beside a TLS one (None: there is none)."""
        if self._plain_server is None:
            return None
        return next(iter(self._plain_server.sockets)).getsockname()[1]

    async def serve_forever(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop`` is set, then stop cleanly."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Close every connection (announcing each disconnect), then the MQTT link."""
        self._stopping = True
        for task in self._background:
            task.cancel()
        for handshake in list(self._tls_handshakes):
            handshake.cancel()
        for server in (self._server, self._plain_server):
            if server is not None:
                server.close()
                await server.wait_closed()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        loop = asyncio.get_running_loop()
        for info in self._pending_presence:
            with contextlib.suppress(Exception):
                await loop.run_in_executor(None, info.wait_for_publish, 2)
        await loop.run_in_executor(None, self.mqtt.stop)
        self.authenticator.close()
        logger.info("OCPP gateway stopped: %s", dict(self.counters))

    # --- TLS -----------------------------------------------------------------------------------------
    def tls_accept(self, connection: OcppServerConnection, transport: asyncio.Transport) -> None:
        """A TCP connection on the TLS listener: refuse a locked address at once, else shake hands."""
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        if self.authenticator.address_locked_for(address) > 0 or self._stopping:
            self.counters["tls_locked_out" if not self._stopping else "tls_refused_stopping"] += 1
            transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._tls_handshake(connection, transport, address))
        self._tls_handshakes.add(task)
        task.add_done_callback(self._tls_handshakes.discard)

    async def _tls_handshake(
        self, connection: OcppServerConnection, transport: asyncio.Transport, address: str
    ) -> None:
        assert self._tls is not None
        loop = asyncio.get_running_loop()
        try:
            tls_transport = await loop.start_tls(
                transport,
                connection,
                self._tls.context(),
                server_side=True,
                ssl_handshake_timeout=self.config.tls_handshake_timeout,
            )
        except asyncio.CancelledError:
            transport.abort()
            raise
        except Exception as exc:  # start_tls closed the transport
            await self._tls_refused(address, exc)
            return
        if tls_transport is None:  # the transport was closing
            transport.abort()
            return
        self.counters["tls_handshakes"] += 1
        connection.tls_established(tls_transport)

    async def _tls_refused(self, address: str, exc: Exception) -> None:
        """One line and counters for a failed TLS handshake; a refused certificate also counts as a failed login."""
        if isinstance(exc, ssl.SSLCertVerificationError):
            # "certificate has expired", "certificate revoked", "unable to get local issuer certificate", ...
            reason = str(exc.verify_message or "certificate refused")
            self.counters["tls_certificate_refused"] += 1
            logger.warning("TLS handshake from %s refused: client certificate: %s", address or "?", reason)
            with contextlib.suppress(Exception):
                await self.authenticator.tls_failure_record(address)
            return
        reason = str(getattr(exc, "reason", None) or type(exc).__name__)
        self.counters["tls_handshake_failed"] += 1
        logger.info("TLS handshake from %s failed: %s", address or "?", reason)

    # --- handshake ----------------------------------------------------------------------------------
    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        cid = protocol.charge_point_id_from_path(request.path, self.config.path)
        if cid is None:
            self.counters["handshake_bad_path"] += 1
            return connection.respond(HTTPStatus.NOT_FOUND, "Unknown path: use /ocpp/{charge point id}\n")
        offered = {p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")}
        if offered.isdisjoint(self._subprotocols):
            self.counters["handshake_no_subprotocol"] += 1
            return connection.respond(HTTPStatus.BAD_REQUEST, "no_supported_subprotocol\n")
        header = request.headers.get("Authorization")
        credentials = protocol.basic_credentials(header)
        ssl_object = connection.transport.get_extra_info("ssl_object")
        peer = connection.remote_address
        attempt = services.HandshakeAttempt(
            charge_point_id=cid,
            username=credentials[0] if credentials else None,
            password=credentials[1] if credentials else None,
            address=str(peer[0]) if peer else "",
            tls=ssl_object is not None,
            certificate_cn=certificate_common_name(ssl_object),
            authorization_malformed=header is not None and credentials is None,
        )
        decision = await self.authenticator.admit(attempt, has_authorization=header is not None)
        if decision.allowed:
            return None
        reason = decision.reason or services.DENIED
        logger.warning("refused %s from %s: %s", cid, attempt.address or "?", reason.slug)
        if reason.http_status == HTTPStatus.TOO_MANY_REQUESTS:
            self.counters["handshake_locked_out"] += 1
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too many failed logins: try again later\n")
            response.headers["Retry-After"] = str(decision.retry_after or 1)
            return response
        if reason.http_status == HTTPStatus.FORBIDDEN:
            self.counters["handshake_forbidden"] += 1
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden: the client certificate is not this charger's\n")
        if reason.http_status == HTTPStatus.SERVICE_UNAVAILABLE:
            self.counters["handshake_check_failed"] += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Credentials cannot be checked now\n")
        self.counters["handshake_unauthorized"] += 1
        response = connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
        return response

    def _select_subprotocol(self, connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        """Ours, not the charger's, order of preference: the first of our list that the charger offers.

        OCPP leaves the choice to the server; a charger lists what it speaks in any order.
        """
        for subprotocol in self._subprotocols:
            if subprotocol in offered:
                return subprotocol
        return None  # not reached: _process_request refused the handshake

    # --- connection -------------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        version = protocol.OCPP_VERSIONS[ws.subprotocol or ""]  # negotiated: one of ours
        cid = protocol.charge_point_id_from_path(ws.request.path, self.config.path)
        assert cid is not None  # checked in _process_request
        credentials = protocol.basic_credentials(ws.request.headers.get("Authorization"))
        peer = ws.remote_address
        local = ws.local_address
        info = protocol.ClientInfo(
            cid=cid,
            username=credentials[0] if credentials else None,
            peer_host=str(peer[0]) if peer else "",
            sockport=int(local[1]) if local else self.port,
            keepalive=int(self.config.default_heartbeat),
            connected_at_ms=_now_ms(),
            proto_ver=version,
        )
        session = Session(
            ws=ws,
            info=info,
            interval=self.config.default_heartbeat,
            last_rx=time.monotonic(),
            route=self._routes[version],
            ocpp_version=version,
        )
        self._open(session)
        reason = "sock_closed"
        try:
            async for message in ws:
                session.last_rx = time.monotonic()
                if isinstance(message, str):
                    self._upstream(session, message)
                else:
                    self.counters["frames_binary_dropped"] += 1
                    logger.warning("%s: binary frame dropped (OCPP-J is text only)", cid)
        except ConnectionClosed:
            pass
        except Exception:  # never let one charger take the process down
            logger.exception("%s: connection handler failed", cid)
            reason = "internal_error"
        finally:
            self._closed(session, reason)

    def _open(self, session: Session) -> None:
        cid = session.info.cid
        old = self.sessions.get(cid)
        if old is not None:
            # EMQX discards the older connection of a client id. Announce its end before the new
            # connection's start, so a presence consumer sees them in order.
            logger.info("%s: second connection, discarding the first", cid)
            self.counters["connections_discarded"] += 1
            self._end(old, "discarded")
        self.sessions[cid] = session
        self.counters["connections_opened"] += 1
        self._publish_presence(session, "connected")

    def _end(self, session: Session, reason: str) -> None:
        """Announce a disconnect now and close the socket in the background."""
        if session.closing:
            return
        session.closing = True
        session.announced = True
        self._publish_presence(session, "disconnected", reason=reason)
        self._spawn(session.ws.close(1000, reason))

    def _closed(self, session: Session, reason: str) -> None:
        cid = session.info.cid
        if self.sessions.get(cid) is session:
            del self.sessions[cid]
        self.counters["connections_closed"] += 1
        if not session.announced:
            session.announced = True
            self._publish_presence(session, "disconnected", reason="shutdown" if self._stopping else reason)

    # --- upstream ------------------------------------------------------------------------------------
    def _upstream(self, session: Session, text: str) -> None:
        cid = session.info.cid
        try:
            frame = protocol.upstream_from_frame(
                text,
                max_bytes=self.config.max_frame_bytes,
                max_depth=self.config.max_json_depth,
                ocpp_version=session.ocpp_version,
                action_in_topic=session.route.action_in_topic,
            )
        except protocol.FrameError as exc:
            self._refuse(session, text, exc)
            return
        if frame.kind in (protocol.CALL, protocol.SEND):
            topic = protocol.topic_for(session.route.call, cid=cid, action=frame.action)
        else:
            topic = protocol.topic_for(session.route.reply, cid=cid)
        self.mqtt.publish(topic, protocol.dumps(frame.envelope), self.config.upstream_qos)
        self.counters["frames_up"] += 1
        if frame.kind in _UNANSWERED_KINDS:
            self.counters[_UNANSWERED_KINDS[frame.kind]] += 1

    def _refuse(self, session: Session, text: str, exc: protocol.FrameError) -> None:
        """A frame we cannot publish: one log line, counted, answered when it is an answerable Call.

        The socket stays open: one bad frame (a fuzzer's, a firmware bug's) must not cost the
        charger its connection, nor us a traceback.
        """
        self.counters["frames_malformed"] += 1
        self.counters[f"frames_malformed_{exc.reason}"] += 1
        answer = exc.answer()
        logger.warning(
            "%s: frame refused (%s), message id %s, %d bytes: %s; %s",
            session.info.cid,
            exc.reason,
            repr(exc.unique_id) if exc.unique_id else "unreadable",
            len(text.encode("utf-8", "surrogatepass")),
            exc.description,
            f"answered {exc.code}" if answer else "not answered",
        )
        if answer is not None:
            self.counters["callerrors_sent"] += 1
            self._spawn(self._send(session, protocol.dumps(answer)))

    def _publish_presence(self, session: Session, event: str, *, reason: str = "") -> None:
        now = _now_ms()
        if event == "connected":
            payload = protocol.connected_event(session.info, now_ms=now)
        else:
            payload = protocol.disconnected_event(session.info, reason=reason, now_ms=now)
        text = protocol.dumps(payload)
        topics = protocol.presence_topics(
            self.config.presence_templates, node=self.config.node, cid=session.info.cid, event=event
        )
        for topic in topics:
            info = self.mqtt.publish(topic, text, 1)
            if self._stopping:
                self._pending_presence.append(info)
        self.counters[f"presence_{event}"] += 1

    # --- downstream ----------------------------------------------------------------------------------
    def _on_mqtt_message(self, topic: str, payload: bytes) -> None:
        """paho's thread: hand the message to the event loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._downstream, topic, payload)

    def _downstream(self, topic: str, payload: bytes) -> None:
        found = self._downstream_re.match(topic)
        if found is None:
            self.counters["downlinks_bad_topic"] += 1
            return
        cid = found.group("cid")
        session = self.sessions.get(cid)
        if session is None or session.closing:
            # EMQX has no session for an offline charger either: the downlink is lost.
            self.counters["downlinks_no_session"] += 1
            logger.debug("%s: downlink dropped, charger not connected: %.200r", cid, payload)
            return
        try:
            downlink = protocol.downlink_from_payload(payload)
        except protocol.FrameError as exc:
            self.counters["downlinks_malformed"] += 1
            logger.warning("%s: malformed downlink dropped (%s): %.200r", cid, exc, payload)
            return
        interval = downlink.heartbeat_interval()
        if interval is not None:
            session.interval = interval
            session.info.keepalive = interval
            session.retry_interval = None
            session.last_rx = time.monotonic()  # EMQX restarts its keepalive timer here
        elif self.config.lenient_keepalive and (retry := downlink.boot_retry_interval()) is not None:
            # Not a heartbeat interval: the charger is told to wait this long before booting again
            # and may say nothing meanwhile. EMQX ignores it and drops such a charger.
            session.retry_interval = retry
            session.last_rx = time.monotonic()
        self._spawn(self._send(session, downlink.text))

    async def _send(self, session: Session, text: str) -> None:
        try:
            await session.ws.send(text)  # one message, one WebSocket frame
            self.counters["frames_down"] += 1
        except ConnectionClosed:
            self.counters["downlinks_lost_on_close"] += 1

    # --- background ----------------------------------------------------------------------------------
    async def _keepalive_watchdog(self) -> None:
        """Disconnect chargers silent for longer than their interval times the backoff.

        The interval is the heartbeat interval, or twice a boot retry interval when that is longer;
        in lenient mode a ping or pong breaks the silence too. One sweep for all connections (not a
        timer each) keeps a connection's footprint small.
        """
        backoff = self.config.keepalive_backoff
        pings_count = self.config.lenient_keepalive
        while True:
            await asyncio.sleep(self.config.keepalive_tick)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                silent = now - session.last_activity(pings_count=pings_count)
                if not session.closing and silent > session.silence_allowed(backoff):
                    logger.info("%s: no frame for %.0f s, disconnecting", session.info.cid, silent)
                    self.counters["keepalive_timeouts"] += 1
                    self._end(session, "keepalive_timeout")

    async def _log_stats(self) -> None:
        while True:
            await asyncio.sleep(self.config.stats_interval)
            logger.info("gateway: %d connections, %s", len(self.sessions), dict(self.counters))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
