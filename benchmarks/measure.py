"""Measuring a command: wall time and the peak resident memory of its whole process tree."""

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    returncode: int
    output: str
    started_at: float = 0.0  # epoch seconds, to line the run up with Dagster's step timestamps
    # User + system CPU of the process and the descendants it waited for: unlike wall time,
    # barely inflated when other processes compete for the cores.
    cpu_seconds: float = 0.0
    # (epoch seconds, MB) about once a second: which step of a run held the memory.
    rss_timeline: list[tuple[float, float]] = field(default_factory=list)


def _group_rss_kb(group: int) -> int:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != group:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    cmd: list[str], env: dict[str, str], log: Path | None = None, cwd: Path | None = None
) -> Measurement:
    """Run `cmd` in its own process group, sampling the group's summed RSS every 100 ms."""
    started_at = time.time()
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, cwd=cwd,
    )  # fmt: skip
    peak = 0
    timeline: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        window_peak, window_start = 0, time.time()
        while not done.is_set():
            rss = _group_rss_kb(proc.pid)
            peak = max(peak, rss)
            window_peak = max(window_peak, rss)
            if time.time() - window_start >= 1.0:
                timeline.append((window_start, window_peak / 1024))
                window_peak, window_start = 0, time.time()
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    if log is not None:
        log.write_text(output)
    cpu = _children_cpu() - cpu_before
    return Measurement(seconds, peak / 1024, proc.returncode, output, started_at, cpu, timeline)
