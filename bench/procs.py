"""Child processes of a benchmark run, and what they (and the services) cost.

Children are started in their own session so a stop can signal each child's whole process group
(a Celery worker and its pool processes) by that child's id, and nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

SERVICE_NAMES: dict[str, tuple[str, ...]] = {
    "broker": ("mosquitto", "amqtt"),
    "rabbitmq": ("beam.smp",),  # its Erlang VM (an EMQX here would be counted too: the same VM)
    "postgres": ("postgres", "postgresql"),
    "redis": ("redis-server",),
}
STOP_TIMEOUT = 15.0
SAMPLE_INTERVAL = 0.5


@dataclass
class Child:
    """A process started by the benchmark, with its log file."""

    role: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the child is still running."""
        return self.popen.poll() is None


def start(role: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> Child:
    """Start ``argv`` as a new session, output to ``log_path``."""
    log = log_path.open("wb")
    popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Child(role, popen, log)


def stop(child: Child) -> int | None:
    """SIGTERM the child (a Celery worker then finishes its current tasks), SIGKILL its process
    group after ``STOP_TIMEOUT``; returns the exit code."""
    if child.alive():
        child.popen.send_signal(signal.SIGTERM)
        try:
            child.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.popen.wait(5)
    _signal_group(child.pid, signal.SIGKILL)  # leftover pool processes of that group, if any
    child.log.close()
    return child.popen.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def service_processes(names: Iterable[str]) -> list[psutil.Process]:
    """Running processes whose name starts with one of ``names`` (read only)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if any((proc.info["name"] or "").startswith(name) for name in names):
            found.append(proc)
    return found


def rss(processes: Iterable[psutil.Process]) -> int:
    """Sum of resident memory in bytes."""
    total = 0
    for proc in processes:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def cpu_seconds(processes: Iterable[psutil.Process]) -> dict[tuple[int, float], float]:
    """User + system CPU time in seconds of each process (by pid and start time: pids are reused)."""
    seconds = {}
    for proc in processes:
        try:
            times = proc.cpu_times()
            seconds[(proc.pid, proc.create_time())] = times.user + times.system
        except psutil.Error:
            pass
    return seconds


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle since boot (all cores)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class Sampler:
    """Samples the peak RSS of each role's process tree and the CPU time spent per role."""

    children: list[Child]
    peaks: dict[str, int] = field(default_factory=dict)
    _cpu_start: dict[str, dict[tuple[int, float], float]] = field(default_factory=dict)
    _wall_start: float = 0.0
    _machine_start: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def roles(self) -> dict[str, list[psutil.Process]]:
        """Processes per role: our children, the services, and this process."""
        groups: dict[str, list[psutil.Process]] = {}
        for child in self.children:
            groups.setdefault(child.role, []).extend(tree(child.pid))
        for role, names in SERVICE_NAMES.items():
            groups[role] = service_processes(names)
        groups["loadgen"] = [psutil.Process()]
        return groups

    def begin(self) -> None:
        """Start a measured window (again, if one runs): reset peaks, note CPU times, start sampling."""
        if self._thread is not None and self._thread.is_alive():
            self._stop.set()
            self._thread.join()
        self.peaks = {}
        self._cpu_start = {role: cpu_seconds(procs) for role, procs in self.roles().items()}
        self._wall_start = time.perf_counter()
        self._machine_start = machine_busy_seconds()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def end(self) -> dict[str, object]:
        """Stop sampling; peak RSS (MiB) and CPU use (% of one core) per role, machine load."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        wall = max(time.perf_counter() - self._wall_start, 1e-9)
        # Per process: one that started in the window (a new PostgreSQL backend, the next
        # scenario's worker) counts from zero; comparing sums over different sets of processes
        # went negative and showed PostgreSQL at 0%.
        cpu = {
            role: sum(sec - self._cpu_start.get(role, {}).get(key, 0.0) for key, sec in cpu_seconds(procs).items())
            for role, procs in self.roles().items()
        }
        per_role = {role: round(100 * max(sec, 0.0) / wall, 1) for role, sec in cpu.items()}
        cpus = os.cpu_count() or 1
        machine = round(100 * (machine_busy_seconds() - self._machine_start) / wall / cpus, 1)
        # Whatever else ran on the machine meanwhile (other users, other services).
        # Processes that ended during the window (a PostgreSQL backend per connection) land here too.
        per_role["other"] = round(max(machine * cpus - sum(per_role.values()), 0.0), 1)
        return {
            "peak_rss_mib": {role: round(peak / 2**20, 1) for role, peak in self.peaks.items()},
            "cpu_percent_of_one_core": per_role,
            "cpu_seconds": {role: round(max(sec, 0.0), 3) for role, sec in cpu.items()},
            "wall_s": round(wall, 3),
            "machine_cpu_percent": machine,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }

    def _run(self) -> None:
        while True:
            for role in [child.role for child in self.children]:
                procs = [p for child in self.children if child.role == role for p in tree(child.pid)]
                self.peaks[role] = max(self.peaks.get(role, 0), rss(procs))
            if self._stop.wait(SAMPLE_INTERVAL):
                return
