"""Settings for the CSMS backoffice: one module, everything read from the environment.

The small ``env_*`` helpers fail loudly (ImproperlyConfigured) on a value they cannot read, so a
typo in a deployment stops the process at start instead of silently falling back to a default.
Every setting is listed with its default and meaning in the README's configuration table.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Django core -----------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("CSMS_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # Development and tests: a fixed, obviously-insecure key. Production sets DJANGO_SECRET_KEY.
    SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "chargers",
    "transactions",
    "protocols",
    "mqtt_bridge",
    "gateway",
    "dashboard",
    "fleet",
    "drf_spectacular_sidecar",
    "apikeys",
    "certificates",
    "maintenance",
    "alerts",
    "monitoring",
    "smartcharging",
    "displays",
    "privacy",
    "tariffs",
    "eventstreams",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Services --------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csms")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
_mqtt = urlsplit(MQTT_URL)
if _mqtt.scheme not in ("mqtt", "mqtts") or not _mqtt.hostname:
    raise ImproperlyConfigured(f"MQTT_URL={MQTT_URL!r} must look like mqtt://user:pass@host:port or mqtts://...")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py's default 5 s socket timeout equals channels_redis's 5 s BZPOPMIN: an idle
        # consumer's read timed out and the websocket died. Read longer than a BZPOPMIN lasts.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
    }
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A frame is only acknowledged to Redis once its handler ran; a worker killed mid-task gets the
# frame redelivered, which is safe because every handler is idempotent.
CELERY_TASK_ACKS_LATE = True
# Celery's Django fixup otherwise closes the database connection around every task: a new
# PostgreSQL backend per batch of frames (measured: ~10% of worker CPU, +25% throughput with reuse).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task per pool process at a time: tasks a worker reserved are invisible in the Redis queue,
# so with Celery's default (4) the bridge saw no backlog, sent batches of one or two frames, and
# they queued inside the worker (open loop at 500/s: p50 212 ms, p99 358 ms; with 1: 74 / 170 ms).
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = env_str("CSMS_CELERY_QUEUE", "csms")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Work a killed worker held comes back in seconds: with Redis, a task a worker took but never
# acknowledged waits in Redis's "unacked" set until the visibility timeout (kombu's default: one
# hour), then any worker's periodic sweep puts it back in the queue. A batch takes well under a
# second; one still running past the timeout is handled twice, which the idempotent handlers absorb.
CSMS_CELERY_VISIBILITY_TIMEOUT = env_int("CSMS_CELERY_VISIBILITY_TIMEOUT", 20, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CSMS_CELERY_VISIBILITY_TIMEOUT,
    # Sweep every second (kombu: every 10 s, scanning one sweep in 10) so the timeout is what counts.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# A batch delivered this many times without finishing (its worker died each time) is split; a
# single frame past it is quarantined as a dead letter instead of killing workers forever.
CSMS_POISON_MAX_DELIVERIES = env_int("CSMS_POISON_MAX_DELIVERIES", 3, minimum=1)

# --- OCPP policies ---------------------------------------------------------------------------
CSMS_BOOT_POLICY = env_choice("CSMS_BOOT_POLICY", "pending", ("accept", "pending", "reject"))
CSMS_UNKNOWN_ID_TAG_POLICY = env_choice("CSMS_UNKNOWN_ID_TAG_POLICY", "invalid", ("invalid", "accept"))
CSMS_HEARTBEAT_INTERVAL = env_int("CSMS_HEARTBEAT_INTERVAL", 300, minimum=1)
CSMS_BOOT_RETRY_INTERVAL = env_int("CSMS_BOOT_RETRY_INTERVAL", 60, minimum=1)
# A charger is marked offline when nothing came from it for interval * factor + grace seconds.
CSMS_OFFLINE_FACTOR = env_int("CSMS_OFFLINE_FACTOR", 2, minimum=1)
CSMS_OFFLINE_GRACE = env_int("CSMS_OFFLINE_GRACE", 60, minimum=0)
# A Call with the same message id, action and payload within this window is a QoS 1 redelivery.
CSMS_DUPLICATE_WINDOW = env_int("CSMS_DUPLICATE_WINDOW", 3600, minimum=0)
CSMS_MAX_PAYLOAD_BYTES = env_int("CSMS_MAX_PAYLOAD_BYTES", 65536, minimum=256)
# Nesting depth (envelope included) the decoder accepts (mqtt_bridge/decoding.py): OCPP 1.6 needs 6, the deepest
# 2.0.1 schema 14; pickle fails near 500 levels, kombu near 980 and the stdlib json decoder near 1,000.
CSMS_MAX_JSON_DEPTH = env_int("CSMS_MAX_JSON_DEPTH", 32, minimum=16)
if CSMS_MAX_JSON_DEPTH > 256:
    raise ImproperlyConfigured(f"CSMS_MAX_JSON_DEPTH={CSMS_MAX_JSON_DEPTH} must be at most 256")
CSMS_MESSAGE_LOG_RETENTION_DAYS = env_int("CSMS_MESSAGE_LOG_RETENTION_DAYS", 30, minimum=0)
# Remote commands: how long a sent Call waits for its answer, how long a queued one waits for its
# charger, and whether the configuration is read after every accepted boot.
CSMS_COMMAND_TIMEOUT = env_int("CSMS_COMMAND_TIMEOUT", 30, minimum=1)
CSMS_COMMAND_EXPIRY = env_int("CSMS_COMMAND_EXPIRY", 3600, minimum=1)
CSMS_FETCH_CONFIGURATION_ON_BOOT = env_bool("CSMS_FETCH_CONFIGURATION_ON_BOOT", True)
# Tariff and cost: how often (seconds) the running total of active 2.0.1 sessions whose cost changed is
# sent to their stations with CostUpdated (tariffs.tasks.session_costs_update); 0: never.
CSMS_COST_UPDATE_SECONDS = env_int("CSMS_COST_UPDATE_SECONDS", 60, minimum=0)

# --- MQTT transport --------------------------------------------------------------------------
CSMS_TOPIC_CALL = env_str("CSMS_TOPIC_CALL", "ocpp/cp/{cid}")
CSMS_TOPIC_REPLY = env_str("CSMS_TOPIC_REPLY", "ocpp/cp/{cid}/Reply")
# OCPP 2.0.1 frames from our gateway (EMQX's speaks only 1.6) travel on topics of their own: a frame's
# version is its topic's. "" for either one turns the 2.0.1 route off, in the bridge and the gateway.
CSMS_TOPIC_CALL_V201 = env_str("CSMS_TOPIC_CALL_V201", "ocpp/v201/cp/{cid}")
CSMS_TOPIC_REPLY_V201 = env_str("CSMS_TOPIC_REPLY_V201", "ocpp/v201/cp/{cid}/Reply")
# OCPP 2.1 frames from our gateway (its ``ocpp2.1`` sockets) the same way; "" for either one turns 2.1 off.
CSMS_TOPIC_CALL_V21 = env_str("CSMS_TOPIC_CALL_V21", "ocpp/v21/cp/{cid}")
CSMS_TOPIC_REPLY_V21 = env_str("CSMS_TOPIC_REPLY_V21", "ocpp/v21/cp/{cid}/Reply")
CSMS_TOPIC_CALL_OVERRIDES = env_list("CSMS_TOPIC_CALL_OVERRIDES")
CSMS_TOPIC_DOWNSTREAM = env_str("CSMS_TOPIC_DOWNSTREAM", "ocpp/cs/{cid}")
# EMQX announces connections under $SYS; Mosquitto drops anything a client publishes under $SYS,
# so our own gateway's announcements also travel on a plain topic pair.
CSMS_TOPIC_PRESENCE = env_list(
    "CSMS_TOPIC_PRESENCE",
    ",".join(
        f"{root}/{{cid}}/{event}"
        for root in ("$SYS/brokers/+/gateway/ocpp/clients", "ocpp/presence/+")
        for event in ("connected", "disconnected")
    ),
)
CSMS_DEFAULT_DIALECT = env_choice("CSMS_DEFAULT_DIALECT", "emqx", ("emqx", "ocppj"))
# Routes beside the default one (the topics above): `<dialect>[+<dialect>]@<version>:<template>`,
# comma-separated, e.g. `ocppj@1.6:charger/{cid}` (mqtt_bridge/topics.py).
CSMS_MQTT_ROUTES = env_list("CSMS_MQTT_ROUTES")
# How often (seconds) the bridge reads the MQTT charger profiles again (mqtt_bridge/profiles.py); 0:
# only when it starts (restart it after changing a profile).
CSMS_MQTT_PROFILES_RELOAD = env_int("CSMS_MQTT_PROFILES_RELOAD", 0, minimum=0)
CSMS_MQTT_CLIENT_ID = env_str("CSMS_MQTT_CLIENT_ID", "csms-bridge")
CSMS_MQTT_SHARED_GROUP = env_str("CSMS_MQTT_SHARED_GROUP", "")
CSMS_MQTT_KEEPALIVE = env_int("CSMS_MQTT_KEEPALIVE", 30, minimum=5)
CSMS_MQTT_CA_FILE = env_str("CSMS_MQTT_CA_FILE", "")
CSMS_BRIDGE_BATCH_SIZE = env_int("CSMS_BRIDGE_BATCH_SIZE", 100, minimum=1)
# How long a batch may wait to fill while tasks queue up for the workers (0: never wait).
# Measured (open loop 500/s, p99; closed loop replies/s): 0 collapses to 139/s (batches of one
# or two), 10 ms p99 601 ms, 25 ms 133-139 ms / 1306, 35 ms 141 ms / 1406, 50 ms 166-227 ms / 1491.
CSMS_BRIDGE_LINGER_MS = env_int("CSMS_BRIDGE_LINGER_MS", 35, minimum=0)
# How long any batch may wait to fill (0: send what has arrived at once). Open loop at 500/s:
# 0 ms p99 141 ms, 86% of the machine; 5 ms 80 ms; 10 ms 76 ms, 72%; 20 ms 85 ms. A lone Call's
# reply takes up to this much longer.
CSMS_BRIDGE_IDLE_LINGER_MS = env_int("CSMS_BRIDGE_IDLE_LINGER_MS", 10, minimum=0)

# --- AMQP transport (the RabbitMQ Web OCPP plugin; mqtt_bridge/transports/amqp.py) ---------------
# Empty: no AMQP consumer or publisher. amqp[s]://user:pass@host:port/vhost (the vhost the plugin serves).
AMQP_URL = env_str("AMQP_URL", "").strip()
if AMQP_URL:
    _amqp = urlsplit(AMQP_URL)
    if _amqp.scheme not in ("amqp", "amqps") or not _amqp.hostname:
        raise ImproperlyConfigured(
            f"AMQP_URL={AMQP_URL!r} must look like amqp://user:pass@host:port/vhost or amqps://..."
        )
CSMS_AMQP_CA_FILE = env_str("CSMS_AMQP_CA_FILE", "")
# The plugin's `web_ocpp.exchange`: it publishes every charger frame there and reads our downlinks from it.
CSMS_AMQP_EXCHANGE = env_str("CSMS_AMQP_EXCHANGE", "amq.topic")
# Our durable queue, declared and bound at the bridge's start: the broker drops a frame no queue is bound for.
CSMS_AMQP_QUEUE = env_str("CSMS_AMQP_QUEUE", "csms.ocpp")
# Deliveries held unacknowledged (acknowledged once their batch is in Celery): a few batches' worth.
CSMS_AMQP_PREFETCH = env_int("CSMS_AMQP_PREFETCH", 4 * CSMS_BRIDGE_BATCH_SIZE, minimum=1)
# How long a reply or command waits in a charger's queue `ocpp.<cid>` (the plugin hands the backlog to a
# reconnecting charger): no longer than a sent command waits for its answer, or a charger could act on a
# command we already recorded as timed out.
CSMS_AMQP_DOWNLINK_TTL_SECONDS = env_int("CSMS_AMQP_DOWNLINK_TTL_SECONDS", CSMS_COMMAND_TIMEOUT, minimum=1)


def _amqp_prefixes(raw: str) -> dict[str, str]:
    """`ocpp16=1.6,...`: the routing-key prefix the plugin writes for each OCPP version (no `.`, `*`, `#`)."""
    prefixes: dict[str, str] = {}
    for entry in raw.split(","):
        prefix, _, version = (part.strip() for part in entry.partition("="))
        if not prefix.isascii() or not prefix.replace("_", "").replace("-", "").isalnum() or not version:
            raise ImproperlyConfigured(f"CSMS_AMQP_PREFIXES: {entry.strip()!r} must look like ocpp16=1.6")
        if not all(part.isascii() and part.isdigit() for part in version.split(".")):
            raise ImproperlyConfigured(f"CSMS_AMQP_PREFIXES: {version!r} is not an OCPP version such as 2.0.1")
        prefixes[prefix] = version
    return prefixes


CSMS_AMQP_PREFIXES = _amqp_prefixes(os.environ.get("CSMS_AMQP_PREFIXES", "") or "ocpp16=1.6,ocpp201=2.0.1,ocpp21=2.1")

# --- Static files, i18n ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:fleet"
LOGOUT_REDIRECT_URL = "dashboard:login"

REST_FRAMEWORK = {
    # Token first: its authenticate_header makes DRF answer 401 (not 403) without credentials.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.APITokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # Last: reached only without credentials; counts the request against CSMS_API_ANON_THROTTLE_RATE.
        "apikeys.authentication.AnonymousThrottleAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apikeys.permissions.ActionPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.throttling.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "apikeys.schema.ApiAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apikeys.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
}
# Requests per token (per user for browser sessions) unless the token sets its own; empty: unlimited.
CSMS_API_THROTTLE_RATE = env_str("CSMS_API_THROTTLE_RATE", "1200/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "CSMS backoffice API",
    "DESCRIPTION": (
        "The fleet, its charging sessions and the commands sent to it, for integrators. "
        "Authenticate with `Authorization: Bearer <token>` (tokens are created by an admin) or a browser "
        "session. Roles: viewer (read), operator (also commands and id tags), admin (everything)."
    ),
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CommandStatusEnum": "chargers.models.Command.Status",
        "IdTagStatusEnum": "chargers.models.ID_TAG_STATUSES",
        "IdTokenTypeEnum": "chargers.models.IdTokenType",
        "AvailabilityEnum": ["Operative", "Inoperative"],
        "ResetTypeEnum": ["Soft", "Hard"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CSMS_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


# --- OCPP gateway (gateway app: run_ocpp_gateway, simulate_fleet) ----------------------------
# Our own EMQX-compatible OCPP-J gateway. Its MQTT topics are the CSMS_TOPIC_* settings above, so
# the backoffice cannot tell it from EMQX's OCPP gateway. See the README.
CSMS_GATEWAY_HOST = env_str("CSMS_GATEWAY_HOST", "127.0.0.1")
CSMS_GATEWAY_PORT = env_int("CSMS_GATEWAY_PORT", 33033, minimum=0)
CSMS_GATEWAY_PATH = env_str("CSMS_GATEWAY_PATH", "/ocpp")
# The WebSocket subprotocols the gateway speaks, in order of preference: of those a charger offers,
# it picks the first in this list (a charger offering none of them is refused with a 400). 2.0.1 before
# 2.1: a station offering both gets the version every functional block is tested in.
CSMS_GATEWAY_SUBPROTOCOLS = env_list("CSMS_GATEWAY_SUBPROTOCOLS", "ocpp2.0.1,ocpp2.1,ocpp1.6")
CSMS_GATEWAY_TLS_CERT = env_str("CSMS_GATEWAY_TLS_CERT", "")
CSMS_GATEWAY_TLS_KEY = env_str("CSMS_GATEWAY_TLS_KEY", "")
# Development only: admit a handshake that carries no Authorization header.
CSMS_GATEWAY_ALLOW_ANONYMOUS = env_bool("CSMS_GATEWAY_ALLOW_ANONYMOUS", False)
# Empty: the gateway checks credentials in the database itself; else the URL of an EMQX-style HTTP
# authentication endpoint (this backoffice's /gateway/auth, or any other).
CSMS_GATEWAY_AUTH_URL = env_str("CSMS_GATEWAY_AUTH_URL", "")
CSMS_GATEWAY_AUTH_CACHE_SECONDS = env_int("CSMS_GATEWAY_AUTH_CACHE_SECONDS", 300, minimum=0)
# A shared secret: when set, /gateway/auth answers only requests with `Authorization: Bearer <it>` (EMQX's
# authenticator sends it as a header; our gateway too). Without it anyone who reaches the endpoint can try
# passwords (the lockout bounds that) and put any address in the per-address lockout.
CSMS_GATEWAY_AUTH_TOKEN = env_str("CSMS_GATEWAY_AUTH_TOKEN", "")
CSMS_GATEWAY_DEFAULT_HEARTBEAT = env_int("CSMS_GATEWAY_DEFAULT_HEARTBEAT", 60, minimum=1)
CSMS_GATEWAY_KEEPALIVE_BACKOFF = env_float("CSMS_GATEWAY_KEEPALIVE_BACKOFF", 1.5, minimum=1.0)
# lenient: WebSocket pings (and pongs) from the charger keep its socket alive, and a Pending/Rejected
# BootNotification reply's retry interval covers the charger's silence until it boots again (a charger
# may wait interval x 2). emqx: EMQX's rule exactly, only text frames count and only an Accepted reply
# sets the interval (a charger waiting out a 60 s retry is dropped after 90 s).
CSMS_GATEWAY_KEEPALIVE_MODE = env_choice("CSMS_GATEWAY_KEEPALIVE_MODE", "lenient", ("lenient", "emqx"))
CSMS_GATEWAY_UPSTREAM_QOS = int(env_choice("CSMS_GATEWAY_UPSTREAM_QOS", "2", ("1", "2")))
CSMS_GATEWAY_MAX_FRAME_BYTES = env_int("CSMS_GATEWAY_MAX_FRAME_BYTES", CSMS_MAX_PAYLOAD_BYTES, minimum=256)
CSMS_GATEWAY_MQTT_CLIENT_ID = env_str("CSMS_GATEWAY_MQTT_CLIENT_ID", "csms-gateway")
# The node name in the presence topics (EMQX puts its Erlang node name there).
CSMS_GATEWAY_NODE = env_str("CSMS_GATEWAY_NODE", "csms-gateway@127.0.0.1")

# --- Charger security (issue 17: security profiles, lockout; gateway app and /gateway/auth) -----
# TLS of our gateway (CSMS_GATEWAY_TLS_CERT/KEY above turn it on): the oldest TLS version accepted
# (OCPP security profiles 2 and 3 require 1.2 or later).
CSMS_GATEWAY_TLS_MIN_VERSION = env_choice("CSMS_GATEWAY_TLS_MIN_VERSION", "1.2", ("1.2", "1.3"))
# Security profile 3 (mutual TLS): the CA that signs the chargers' certificates (the CSMS CA), and any
# further CAs trusted for client certificates (comma-separated files). Without any, no client certificate
# is requested and a profile 3 charger cannot connect to our gateway.
CSMS_GATEWAY_TLS_CLIENT_CA = env_str("CSMS_GATEWAY_TLS_CLIENT_CA", "")
CSMS_GATEWAY_TLS_EXTRA_CLIENT_CAS = env_list("CSMS_GATEWAY_TLS_EXTRA_CLIENT_CAS")
# The CSMS CA (certificates app): signs the chargers' CSRs (SignCertificate); `manage.py ca_export` writes its
# certificate for CSMS_GATEWAY_TLS_CLIENT_CA. Its private key is kept in PostgreSQL encrypted with this passphrase
# (empty: the Django secret key; rotating that key then needs this set to the old one).
CSMS_CA_KEY_PASSPHRASE = env_str("CSMS_CA_KEY_PASSPHRASE", "")
CSMS_CA_NAME = env_str("CSMS_CA_NAME", "CSMS CA")
# A CSR's O must be this when set (and the CA's own O); empty: not checked.
CSMS_CA_ORGANIZATION = env_str("CSMS_CA_ORGANIZATION", "")
CSMS_CA_VALIDITY_DAYS = env_int("CSMS_CA_VALIDITY_DAYS", 3650, minimum=1)
# A charger certificate's validity (never past the CA's), and how long before its end the charger is asked
# for a new CSR (the daily certificates.tasks.certificates_renew).
CSMS_CA_CERTIFICATE_DAYS = env_int("CSMS_CA_CERTIFICATE_DAYS", 365, minimum=1)
CSMS_CA_RENEW_BEFORE_DAYS = env_int("CSMS_CA_RENEW_BEFORE_DAYS", 30, minimum=0)
# Who signs: our CA, or an external one (a dotted path to a certificates.services.CertificateSigner class).
CSMS_CA_SIGNER = env_str("CSMS_CA_SIGNER", "certificates.services.LocalSigner")
# PEM CRL file(s), comma-separated: a revoked client certificate is refused at the handshake. With a
# CRL configured, each client CA needs one (OpenSSL refuses a leaf whose issuer has no CRL). Reread
# when a file changes.
CSMS_GATEWAY_TLS_CRL = env_list("CSMS_GATEWAY_TLS_CRL")
# With TLS on, a second plain ws:// listener on this port for profile 0/1 chargers (empty: none).
_plain_port = env_str("CSMS_GATEWAY_PLAIN_PORT", "").strip()
CSMS_GATEWAY_PLAIN_PORT: int | None = env_int("CSMS_GATEWAY_PLAIN_PORT", 0, minimum=0) if _plain_port else None
# PBKDF2 iterations of a charger password's hash (Django's default, 1,000,000, costs ~0.3 s of CPU here
# per handshake checked: an attacker's request would cost us that much). A stored hash keeps its own count.
CSMS_GATEWAY_PASSWORD_ITERATIONS = env_int("CSMS_GATEWAY_PASSWORD_ITERATIONS", 100_000, minimum=10_000)
# Lockout of failed charger logins (our gateway's handshake and /gateway/auth), counted in Redis per
# charge point id and per client address: past the threshold of failures within the window, each further
# failure locks for base x 2^(failures - threshold) seconds, at most max. While locked, every attempt is
# refused (429) without checking a password. A successful login clears both counters. 0 turns one off.
CSMS_AUTH_LOCKOUT_THRESHOLD = env_int("CSMS_AUTH_LOCKOUT_THRESHOLD", 5, minimum=0)
CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD = env_int("CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD", 20, minimum=0)
CSMS_AUTH_LOCKOUT_WINDOW_SECONDS = env_int("CSMS_AUTH_LOCKOUT_WINDOW_SECONDS", 900, minimum=1)
CSMS_AUTH_LOCKOUT_BASE_SECONDS = env_int("CSMS_AUTH_LOCKOUT_BASE_SECONDS", 30, minimum=1)
CSMS_AUTH_LOCKOUT_MAX_SECONDS = env_int("CSMS_AUTH_LOCKOUT_MAX_SECONDS", 3600, minimum=1)
# At most one security event (ChargerEvent, kind security) per charger and reason in this many seconds.
CSMS_AUTH_EVENT_INTERVAL_SECONDS = env_int("CSMS_AUTH_EVENT_INTERVAL_SECONDS", 60, minimum=0)

# --- Web security (production behind a TLS-terminating proxy) ----------------------------------
# The proxy sets X-Forwarded-Proto: https; Django then knows a request was made over HTTPS. Only behind a
# proxy that sets (or strips) that header: a client could claim HTTPS otherwise.
CSMS_BEHIND_TLS_PROXY = env_bool("CSMS_BEHIND_TLS_PROXY", False)
if CSMS_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The site is served over HTTPS (directly or behind the proxy): cookies only over HTTPS, and HSTS.
CSMS_HTTPS = env_bool("CSMS_HTTPS", CSMS_BEHIND_TLS_PROXY)
SESSION_COOKIE_SECURE = CSMS_HTTPS
CSRF_COOKIE_SECURE = CSMS_HTTPS
SECURE_HSTS_SECONDS = env_int("CSMS_HSTS_SECONDS", 31_536_000 if CSMS_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CSMS_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("CSMS_SSL_REDIRECT", False)
# Plain-HTTP callers inside the deployment: the healthcheck, and EMQX asking /gateway/auth.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^gateway/auth$"]
# API requests without credentials (per client address; they are refused anyway, this bounds guessing).
CSMS_API_ANON_THROTTLE_RATE = env_str("CSMS_API_ANON_THROTTLE_RATE", "60/minute")
