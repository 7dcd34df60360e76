"""One build at a time per warehouse, whoever starts it: a person's `arrears build`, the landing
sensor, the daily schedule, a run launched from the UI.

The lock is an exclusive `flock` on `.build.lock` beside the warehouse, held for the whole build:
`arrears build` takes it before looking at anything, and every run launched through the Dagster
instance takes it in its executor (`orchestration.defs.ingestion.assets`) before its first step,
so a run launched by the daemon waits for a person's build and the other way round. The second build waits,
saying who holds the lock; then it starts from what the first one left (often: nothing new, so
it does nothing). The kernel releases a `flock` when its process dies, however it dies, so a
killed build never leaves a stale lock behind.

Dagster's `duckdb_writer` pool (limit 1) still serialises the steps that write the warehouse; it
cannot keep two runs' steps from interleaving (one run's publish between another's ingestion and
dbt), which this lock does.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from orchestration.config import Settings

LOCK_NAME = ".build.lock"

# Locks this process holds, with how many nested holders: a second `flock` on a new descriptor
# in the same process would wait for the first one forever.
_held: dict[Path, list] = {}


def lock_path(settings: Settings) -> Path:
    return settings.warehouse_path.parent / LOCK_NAME


def _describe(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (FileNotFoundError, json.JSONDecodeError):
        holder = {}
    if not holder:
        return "another process"
    return f"pid {holder['pid']}, {holder['what']}, since {holder['since']} UTC"


def holder(settings: Settings) -> str | None:
    """Who holds the build lock, or None when no build is running (never waits)."""
    path = lock_path(settings)
    if path in _held:
        return _describe(path)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _describe(path)
    finally:
        os.close(fd)  # closing releases the probe's shared lock
    return None


@contextmanager
def build_lock(
    settings: Settings, what: str = "arrears build", on_wait: Callable[[str], None] = print
) -> Iterator[None]:
    """Hold the build lock for the block; wait (announcing it through `on_wait`) while another
    build holds it."""
    path = lock_path(settings)
    if path in _held:
        _held[path][1] += 1
        try:
            yield
        finally:
            _held[path][1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait(f"Another build is running ({_describe(path)}): waiting for it to finish.")
            fcntl.flock(fd, fcntl.LOCK_EX)
            on_wait("The other build finished: this one starts from what it left.")
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "what": what, "since": since}).encode(), 0)
        _held[path] = [fd, 1]
        try:
            yield
        finally:
            del _held[path]
    finally:
        os.close(fd)  # releases the lock
