"""A Celery worker under the profiler, with every SQL statement timed by the code that sent it.

    python -m bench.profiled_worker OUT_PREFIX [celery worker arguments...]

``python -m bench --profile-worker`` starts the worker this way (one process, ``--pool solo``, so the
tasks run where the profiler is). When the worker stops (SIGTERM: a warm shutdown) it writes

- ``OUT_PREFIX.prof``: cProfile's statistics (wall clock: time spent waiting on PostgreSQL, Redis
  and the broker counts, as it does for the chargers), for ``pstats`` or snakeviz;
- ``OUT_PREFIX-sql.json``: per (caller, statement shape) the number of executions and their total
  wall time; the caller is the innermost frame in the backoffice's own code (not Django's), the
  shape the SQL with its literals and numbers replaced, cut at 160 characters. COPY goes through
  psycopg directly and is not in it (its time is in the profile, under ``bulk._copy``).

With ``BENCH_AUTO_EXPLAIN_MS=N`` in the environment, each of the worker's database sessions loads
PostgreSQL's ``auto_explain`` (a superuser's right, as the bench's postgres user has): the plan of
every statement that took N ms or more, with actual times and buffers, goes to the server's log.
"""

from __future__ import annotations

import cProfile
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OWN_CODE = ("chargers", "transactions", "mqtt_bridge", "protocols", "backoffice", "fleet", "dashboard", "bench")
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_SPACES = re.compile(r"\s+")


def shape(sql: str) -> str:
    """The statement without its literals, so executions of one statement add up."""
    return _SPACES.sub(" ", _LITERALS.sub("?", sql)).strip()[:160]


def caller() -> str:
    """``app/module.py:line function`` of the innermost frame in our own code."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(str(ROOT)) and "/.venv/" not in path:
            relative = os.path.relpath(path, ROOT)
            if relative.split(os.sep, 1)[0] in OWN_CODE and not relative.endswith("bulk.py"):
                return f"{relative}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


class StatementTimes:
    """A Django ``execute_wrapper``: counts and times each statement by caller and shape."""

    def __init__(self) -> None:
        self.count: dict[tuple[str, str], int] = defaultdict(int)
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = (caller(), shape(sql))
            self.count[key] += 1
            self.seconds[key] += time.perf_counter() - started

    def report(self) -> list[dict[str, Any]]:
        """Every (caller, statement), the most time first."""
        rows = [
            {"caller": where, "sql": sql, "count": self.count[(where, sql)], "seconds": round(seconds, 4)}
            for (where, sql), seconds in self.seconds.items()
        ]
        return sorted(rows, key=lambda row: -row["seconds"])


def main(argv: list[str]) -> int:
    """Run ``celery`` with ``argv[1:]`` under the profiler; write the files under ``argv[0]``."""
    out, celery_args = Path(argv[0]), argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    from celery.__main__ import main as celery_main
    from django.db.backends.signals import connection_created

    statements = StatementTimes()

    explain_ms = os.environ.get("BENCH_AUTO_EXPLAIN_MS", "")

    def wrap(sender: Any, connection: Any, **kwargs: Any) -> None:
        # Sent again for each new connection of the same wrapper object (after a reconnect).
        if statements not in connection.execute_wrappers:
            connection.execute_wrappers.append(statements)
        if explain_ms:
            with connection.connection.cursor() as cursor:
                cursor.execute("LOAD 'auto_explain'")
                for name, value in (
                    ("log_min_duration", f"{int(explain_ms)}ms"),
                    ("log_analyze", "on"),
                    ("log_buffers", "on"),
                    ("log_nested_statements", "on"),
                ):
                    cursor.execute(f"SET auto_explain.{name} = '{value}'")

    connection_created.connect(wrap, weak=False)
    profiler = cProfile.Profile()
    sys.argv = ["celery", *celery_args]
    profiler.enable()
    try:
        celery_main()
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(f"{out}.prof")
        Path(f"{out}-sql.json").write_text(json.dumps(statements.report(), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
