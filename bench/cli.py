"""Orchestration of ``python -m bench`` (``make bench``).

1. Find the services (``DATABASE_URL``/``REDIS_URL``/``MQTT_URL``, else the embedded stack), or
   start a tuned Mosquitto of our own with ``--own-broker``; migrate.
2. Backoffice phase: start ``manage.py run_mqtt_bridge`` and a Celery worker as children (boot and
   id tag policies "accept", a unique MQTT client id), wait until a probe charger gets a reply,
   run the scenarios, stop them.
3. Ceiling phase: start the bare responder instead (the bridge is stopped), run the same
   scenarios with new charger ids, stop it.
4. Print a table, write ``bench/results/<timestamp>.json``. Exit 1 if any reply was lost.

The closed loop runs in each OCPP version (``closed``: 1.6, ``closed-v201``: 2.0.1, same mix), one
after the other in each phase; with both, a second table compares each version's ratio to its
ceiling (``--scenario compare`` runs just those two). ``closed-amqp`` is ``closed`` behind the
RabbitMQ Web OCPP plugin (``bench.loadgen_amqp`` plays it on ``AMQP_URL``, else the machine's
RabbitMQ): the bridge and worker get ``AMQP_URL`` and an exchange and queue of the run's own, the
ceiling phase adds the bare AMQP responder; with ``closed`` beside it, a table compares the
transports (``--scenario transports`` runs just those two). No reachable RabbitMQ: it is skipped
with a note. ``--rounds N`` runs the scenarios N times in
each phase, every other round in reverse order; the ratios are then of the medians.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import amqp as bench_amqp
from bench import loadgen, loadgen_amqp, procs, report, rows, services
from bench.mqtt import Topics, topics_from_env
from bench.versions import VERSIONS

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Scenario:
    """A scenario of the command line: which load, in which OCPP version, its letter in charger ids."""

    load: str
    version: str
    letter: str
    transport: str = "mqtt"


SCENARIOS: dict[str, Scenario] = {
    "closed": Scenario("closed", "1.6", "c"),
    "closed-v201": Scenario("closed", "2.0.1", "v"),
    "closed-amqp": Scenario("closed", "1.6", "a", "amqp"),
    "open": Scenario("open", "1.6", "o"),
    "storm": Scenario("storm", "1.6", "s"),
}
GROUPS = {"all": list(SCENARIOS), "compare": ["closed", "closed-v201"], "transports": ["closed", "closed-amqp"]}
READY_TIMEOUT = 90.0
SETTLE_TIMEOUT = 30.0

logger = logging.getLogger("bench")


@dataclass
class Options:
    """Parsed command line."""

    scenarios: list[str]
    chargers: int
    storm_chargers: int
    open_chargers: int
    duration: float
    rate: float
    ceiling: bool
    backoffice: bool
    own_broker: bool
    concurrency: int
    output: Path | None
    smoke: bool
    rounds: int = 1
    profile_worker: bool = False


@dataclass
class Run:
    """State of one benchmark run."""

    options: Options
    run_id: str
    urls: dict[str, str]
    topics: Topics = field(default_factory=topics_from_env)
    children: list[procs.Child] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The AMQP broker's URL while an AMQP scenario is to run, and the run's names on it.
    amqp_url: str = ""
    amqp_names: bench_amqp.Names | None = None


def parse(argv: list[str] | None) -> Options:
    """Read the command line (``--smoke`` shrinks everything to a few seconds)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="CSMS backoffice benchmark")
    parser.add_argument(
        "--scenario",
        choices=(*SCENARIOS, *GROUPS),
        default="all",
        help="closed (1.6), closed-v201 (2.0.1), closed-amqp (1.6 over AMQP), open, storm;"
        " compare = closed + closed-v201; transports = closed + closed-amqp; all (default)",
    )
    parser.add_argument("--chargers", type=int, default=1000, help="closed-loop chargers (default 1000)")
    parser.add_argument("--storm-chargers", type=int, default=None, help="storm chargers (default 5000)")
    parser.add_argument("--open-chargers", type=int, default=None, help="open-loop chargers (default --chargers)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per closed/open run")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop offered Calls/s")
    parser.add_argument(
        "--ceiling", action=argparse.BooleanOptionalAction, default=True, help="run the bare responder too"
    )
    parser.add_argument("--backoffice", action=argparse.BooleanOptionalAction, default=True, help="run the backoffice")
    parser.add_argument("--own-broker", action="store_true", help="start Mosquitto with bench/mosquitto.conf")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default bench/results/<ts>.json)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run the scenarios N times per phase, every other round in reverse"
    )
    parser.add_argument(
        "--profile-worker",
        action="store_true",
        help="one worker process (--pool solo) profiled: bench/results/<run>-worker.prof and -worker-sql.json",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    args = parser.parse_args(argv)
    if args.smoke:
        args.chargers, args.duration, args.rate = 5, 3.0, 20.0
        args.storm_chargers = args.storm_chargers or 5
    return Options(
        scenarios=list(GROUPS.get(args.scenario, [args.scenario])),
        chargers=args.chargers,
        storm_chargers=args.storm_chargers or 5000,
        open_chargers=args.open_chargers or args.chargers,
        duration=args.duration,
        rate=args.rate,
        ceiling=args.ceiling,
        backoffice=args.backoffice,
        own_broker=args.own_broker,
        concurrency=args.concurrency,
        output=args.output,
        smoke=args.smoke,
        rounds=max(1, args.rounds),
        profile_worker=args.profile_worker,
    )


# --- the stack -------------------------------------------------------------------------------------


def child_env(run: Run) -> dict[str, str]:
    """Environment of the backoffice children: our services, permissive policies, own client id."""
    env = dict(os.environ)
    env.update(run.urls)
    env.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    env.update(
        CSMS_BOOT_POLICY="accept",
        CSMS_UNKNOWN_ID_TAG_POLICY="accept",
        CSMS_MQTT_CLIENT_ID=f"bench-bridge-{run.run_id}",
        PYTHONUNBUFFERED="1",
    )
    # Never a deployment's AMQP queue: without an AMQP scenario the children have no AMQP at all.
    env.pop("AMQP_URL", None)
    if run.amqp_names is not None:
        env.update(
            AMQP_URL=run.amqp_url,
            CSMS_AMQP_EXCHANGE=run.amqp_names.exchange,
            CSMS_AMQP_QUEUE=run.amqp_names.bridge_queue,
        )
    return env


def manage(run: Run, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` with the children's environment."""
    argv = [sys.executable, "manage.py", *args]
    return subprocess.run(argv, cwd=ROOT, env=child_env(run), capture_output=True, text=True, timeout=300)


def backoffice_missing(run: Run) -> str | None:
    """Why the backoffice cannot run here (no bridge command, failed migration), or None."""
    if manage(run, "help", "run_mqtt_bridge").returncode != 0:
        return "manage.py run_mqtt_bridge does not exist yet"
    from backoffice.devstack import ensure_database

    ensure_database(run.urls["DATABASE_URL"])
    migrated = manage(run, "migrate", "--noinput")
    if migrated.returncode != 0:
        return "migrate failed: " + (migrated.stderr.strip().splitlines() or ["?"])[-1]
    return None


def start_backoffice(run: Run) -> list[procs.Child]:
    """Start the bridge and one Celery worker on the CSMS queue."""
    from django.conf import settings

    env = child_env(run)
    log = RESULTS_DIR / run.run_id
    bridge = procs.start(
        "bridge", [sys.executable, "manage.py", "run_mqtt_bridge"], env, Path(f"{log}-bridge.log"), ROOT
    )
    worker_argv = [
        sys.executable, "-m", "celery", "-A", "backoffice", "worker",
        "--concurrency", str(run.options.concurrency), "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
        "-n", f"bench-{run.run_id}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if run.options.profile_worker:
        # The tasks run in the worker's own process (a prefork pool's children would escape the
        # profiler); the files are written when the worker exits on our SIGTERM.
        profile = f"{log}-worker"
        worker_argv[1:3] = ["-m", "bench.profiled_worker", profile]
        worker_argv += ["--pool", "solo"]
        run.notes.append(f"worker profiled (one process, --pool solo): {profile}.prof, {profile}-sql.json")
    worker = procs.start("worker", worker_argv, env, Path(f"{log}-worker.log"), ROOT)
    return [bridge, worker]


def start_responder(run: Run) -> list[procs.Child]:
    """Start the bare responder (and the bare AMQP responder for an AMQP scenario)."""
    argv = [
        sys.executable,
        "-m",
        "bench.responder",
        "--url",
        run.urls["MQTT_URL"],
        "--client-id",
        f"bench-responder-{run.run_id}",
    ]
    children = [procs.start("responder", argv, child_env(run), RESULTS_DIR / f"{run.run_id}-responder.log", ROOT)]
    if run.amqp_names is not None:
        amqp_argv = [
            sys.executable, "-m", "bench.responder_amqp", "--url", run.amqp_url,
            "--exchange", run.amqp_names.exchange, "--queue", run.amqp_names.ceiling_queue,
        ]  # fmt: skip
        log = RESULTS_DIR / f"{run.run_id}-responder-amqp.log"
        children.append(procs.start("responder-amqp", amqp_argv, child_env(run), log, ROOT))
    return children


def wait_ready(run: Run, target: str, children: list[procs.Child]) -> None:
    """Wait until a probe charger's BootNotification is answered (raise after ``READY_TIMEOUT``)."""
    deadline = time.monotonic() + READY_TIMEOUT
    attempt = 0
    while time.monotonic() < deadline:
        dead = [c.role for c in children if not c.alive()]
        if dead:
            raise RuntimeError(f"{target}: {', '.join(dead)} exited early (see bench/results/{run.run_id}-*.log)")
        attempt += 1
        prefix = f"bench-{run.run_id}-{target[:2]}probe{attempt}-"
        if not loadgen.probe(run.urls["MQTT_URL"], prefix, timeout=3.0, topics=run.topics):
            continue
        if run.amqp_names is None or loadgen_amqp.probe(
            run.amqp_url, f"{prefix}a", run.amqp_names.exchange, timeout=3.0
        ):
            return
    raise TimeoutError(f"{target} did not answer a probe within {READY_TIMEOUT:.0f} s")


# --- scenarios -------------------------------------------------------------------------------------


def scenario_runner(run: Run, name: str, prefix: str, sampler: procs.Sampler) -> Callable[[], dict[str, Any]]:
    """The load generator call for one scenario (a closed loop's costs are sampled from its window on)."""
    url, o, topics = run.urls["MQTT_URL"], run.options, run.topics
    scenario = SCENARIOS[name]
    if scenario.transport == "amqp":
        assert run.amqp_names is not None  # check_amqp dropped AMQP scenarios otherwise
        exchange = run.amqp_names.exchange
        return lambda: loadgen_amqp.run_closed(
            run.amqp_url, prefix, o.chargers, o.duration, exchange, VERSIONS[scenario.version], name, sampler.begin
        )
    if scenario.load == "closed":
        version = VERSIONS[scenario.version]
        return lambda: loadgen.run_closed(
            url, prefix, o.chargers, o.duration, version.topics(), version, name, on_window=sampler.begin
        )
    if scenario.load == "open":
        return lambda: loadgen.run_open(url, prefix, o.open_chargers, o.duration, o.rate, topics)
    return lambda: loadgen.run_storm(url, prefix, o.storm_chargers, topics)


def wait_queue_empty(timeout: float = SETTLE_TIMEOUT) -> int:
    """Wait until the Celery queue is empty (or ``timeout``); returns what is left."""
    from backoffice import metrics

    deadline = time.monotonic() + timeout
    left = 0
    while time.monotonic() < deadline:
        try:
            left = metrics.queue_depth()
        except Exception:  # no Redis: nothing to wait for
            return 0
        if left == 0:
            return 0
        time.sleep(0.2)
    return left


def run_scenario(
    run: Run, target: str, name: str, sampler: procs.Sampler, tables: list[str], round_: int = 1
) -> dict[str, Any]:
    """One scenario against the running target, with rows written and process costs."""
    prefix = f"bench-{run.run_id}-{target[0]}{SCENARIOS[name].letter}{round_ if run.options.rounds > 1 else ''}-"
    before = rows.count_rows(tables)
    sampler.begin()
    started = time.perf_counter()
    result = scenario_runner(run, name, prefix, sampler)()
    left = wait_queue_empty() if target == "backoffice" else 0
    elapsed = time.perf_counter() - started
    result["processes"] = sampler.end()
    written = rows.written(before, rows.count_rows(tables))
    total = sum(written.values())
    result["rows"] = {
        "written": written,
        "total": total,
        "rows_per_s": round(total / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
    }
    result["queue_left_after_s"] = left
    if run.options.rounds > 1:
        result["round"] = round_
    logger.info("%s %s: %s replies/s, lost %s", target, name, result["replies_per_s"], result["lost"])
    return result


def run_target(run: Run, target: str, tables: list[str]) -> list[dict[str, Any]]:
    """Start the target's processes, run every scenario, stop them."""
    children = start_backoffice(run) if target == "backoffice" else start_responder(run)
    run.children.extend(children)
    try:
        wait_ready(run, target, children)
        sampler = procs.Sampler(children)
        results = []
        for round_ in range(1, run.options.rounds + 1):
            # ABBA: what drifts over a phase (a growing database, a neighbour's load) falls on each alike.
            names = run.options.scenarios if round_ % 2 else run.options.scenarios[::-1]
            results += [run_scenario(run, target, name, sampler, tables, round_) for name in names]
        return results
    finally:
        for child in children:
            procs.stop(child)
            run.children.remove(child)
        if target == "backoffice" and run.amqp_names is not None:
            # The bridge's queue is durable: left bound, it would hoard the ceiling phase's Calls.
            bench_amqp.cleanup(run.amqp_url, queues=[run.amqp_names.bridge_queue])


# --- main ------------------------------------------------------------------------------------------


def setup_django() -> None:
    """Django for row counts and settings, with the same environment as the children."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    django.setup()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import platform

    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }


def check_no_other_consumer(run: Run) -> None:
    """Note it when something already answers Calls (another bridge, a forgotten responder)."""
    if loadgen.probe(run.urls["MQTT_URL"], f"bench-{run.run_id}-preprobe-", timeout=2.0, topics=run.topics):
        note = "another process already answers on the call topic: replies are duplicated, figures are skewed"
        run.notes.append(note)
        logger.warning(note)


def check_queue_empty(run: Run) -> None:
    """Note it when the Celery queue still holds tasks (left by an earlier run or another user)."""
    from backoffice import metrics

    try:
        depth = metrics.queue_depth()
    except Exception:  # no Redis yet: the backoffice phase will say so
        return
    if depth:
        note = f"the Celery queue held {depth} tasks before the run: the backoffice handles them first"
        run.notes.append(note)
        logger.warning(note)


def check_versions(run: Run) -> None:
    """Drop (with a note) the scenarios of a version whose route the backoffice does not subscribe to."""
    for name in list(run.options.scenarios):
        version = VERSIONS[SCENARIOS[name].version]
        if not version.enabled():
            run.options.scenarios.remove(name)
            note = f"{name} skipped: the OCPP {version.name} route is turned off (its call or reply topic is empty)"
            run.notes.append(note)
            logger.warning(note)


def check_amqp(run: Run) -> None:
    """For an AMQP scenario: reach the broker and declare the run's exchange; else drop them with a note."""
    wanted = [name for name in run.options.scenarios if SCENARIOS[name].transport == "amqp"]
    if not wanted:
        return
    url = bench_amqp.url_from_env()
    problem = bench_amqp.unreachable(url)
    if problem:
        for name in wanted:
            run.options.scenarios.remove(name)
        note = (
            f"{', '.join(wanted)} skipped: no RabbitMQ at AMQP_URL={bench_amqp.redact(url)} ({problem});"
            " set AMQP_URL to a reachable broker"
        )
        run.notes.append(note)
        logger.warning(note)
        return
    run.amqp_url, run.amqp_names = url, bench_amqp.Names.for_run(run.run_id)
    connection = bench_amqp.connect(url)
    try:
        bench_amqp.exchange_declare(connection.channel(), run.amqp_names.exchange)
    finally:
        connection.release()


def targets(run: Run) -> list[str]:
    """Which phases run: the backoffice (if it exists) then the ceiling."""
    check_versions(run)
    check_amqp(run)
    check_no_other_consumer(run)
    check_queue_empty(run)
    chosen: list[str] = []
    if run.options.backoffice:
        reason = backoffice_missing(run)
        if reason:
            run.notes.append(f"backoffice skipped: {reason}")
            logger.warning("backoffice skipped: %s", reason)
        else:
            chosen.append("backoffice")
    if run.options.ceiling:
        chosen.append("ceiling")
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if no reply was lost, 1 otherwise, 2 if nothing could run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    options = parse(argv)
    os.chdir(ROOT)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:6]
    broker = None
    if options.own_broker:
        broker, os.environ["MQTT_URL"] = services.start_own_broker(RESULTS_DIR, run_id)
    run = Run(options, run_id, services.ensure(ROOT / ".data"))
    if broker is not None:
        run.children.append(broker)
    started_at = datetime.now(UTC)
    document: dict[str, Any] = {
        "run": run_id,
        "started_at": started_at.isoformat(),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "services": {name: services.redact(url) for name, url in run.urls.items()},
        "topics": vars(run.topics),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
    }
    try:
        setup_django()
        tables = rows.tables()
        results = {target: run_target(run, target, tables) for target in targets(run)}
    finally:
        for child in list(run.children):
            procs.stop(child)
        if run.amqp_names is not None:
            names = run.amqp_names
            queues = [names.bridge_queue, names.ceiling_queue]
            bench_amqp.cleanup(run.amqp_url, queues=queues, exchanges=[names.exchange])
    return finish(run, document, results, started_at)


def finish(run: Run, document: dict[str, Any], results: dict[str, list[dict[str, Any]]], started_at: datetime) -> int:
    """Write the JSON, print the table, choose the exit code."""
    ratios = report.ratios(results)
    document.update(
        results=results,
        ratio=ratios,
        versions=report.versions(results, ratios),
        transports=report.transports(results, ratios),
        notes=run.notes,
    )
    document["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    if run.amqp_names is not None:
        document["amqp"] = {"url": bench_amqp.redact(run.amqp_url), **vars(run.amqp_names)}
    path = run.options.output or RESULTS_DIR / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    report.write(path, document)
    print(report.table(results, ratios))
    if document["versions"]:
        print()
        print(report.versions_table(document["versions"]))
    if document["transports"]:
        print()
        print(report.transports_table(document["transports"]))
    for note in run.notes:
        print(f"note: {note}")
    print(f"results: {path}")
    if not results:
        return 2
    lost = sum(r.get("lost", 0) for items in results.values() for r in items)
    return 1 if lost else 0
