"""The sampler's CPU figures when processes come and go in the window (PostgreSQL backends do)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench import procs

# A child that starts a process which burns CPU and ends inside the window, then a second one
# that starts in the window and burns too; files say when each step is done.
CHILD = """
import pathlib, subprocess, sys, time
here = pathlib.Path(sys.argv[1])
burn = (
    "import pathlib, sys, time\\n"
    "t = time.process_time()\\n"
    "while time.process_time() - t < 0.5: pass\\n"
    "pathlib.Path(sys.argv[1]).touch()\\n"
    "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.01)\\n"
)
first = subprocess.Popen([sys.executable, "-c", burn, str(here / "first-burnt"), str(here / "go")])
first.wait()
subprocess.Popen([sys.executable, "-c", burn, str(here / "second-burnt"), str(here / "never")])
time.sleep(60)
"""


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear"
        time.sleep(0.01)


def test_cpu_of_processes_that_come_and_go_in_the_window(tmp_path: Path) -> None:
    child = procs.start(
        "worker", [sys.executable, "-c", CHILD, str(tmp_path)], dict(os.environ), tmp_path / "log", tmp_path
    )
    try:
        sampler = procs.Sampler([child])
        wait_for(tmp_path / "first-burnt")
        sampler.begin()
        first = sampler._thread
        sampler.begin()  # a window opened again (a closed loop's, after its boot) stops the first sampling
        assert first is not None and not first.is_alive()
        # the first process holds 0.5 s of CPU, and ends in the window
        (tmp_path / "go").touch()
        wait_for(tmp_path / "second-burnt")  # the second burnt 0.5 s in the window
        figures = sampler.end()
    finally:
        procs.stop(child)
    worker = figures["cpu_percent_of_one_core"]["worker"]  # type: ignore[index]
    # At least the second process's 0.5 s over a window of a few seconds; summing CPU over the
    # processes alive at each end instead found less at the end than at the start: 0%.
    assert worker > 5, figures
    assert figures["cpu_seconds"]["worker"] >= 0.45, figures  # type: ignore[index]
