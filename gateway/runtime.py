"""Process plumbing shared by the gateway and simulator commands."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit (one socket per charger); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C) in the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
