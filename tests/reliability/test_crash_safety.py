"""A build killed (SIGKILL) during ingestion, during dbt and during publish, then re-run, ends
with exactly the warehouse of an uninterrupted build; readers never see a half-written copy."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from orchestration.config import load_settings
from orchestration.generator import GeneratorConfig, generate
from tests.reliability.warehouse_state import fingerprint
from tests.sample import SAMPLE


def _build(
    home: Path, log: Path, failpoint: str | None = None, kill_during_dbt: bool = False
) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARREARS_", "DAGSTER_"))}
    env["ARREARS_HOME"] = str(home)
    if failpoint:
        env["ARREARS_FAILPOINT"] = failpoint
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "build"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        if kill_during_dbt:
            _kill_when_dbt_writes(proc, home)
        return proc.wait(timeout=600)


def _kill_when_dbt_writes(proc: subprocess.Popen, home: Path) -> None:
    """Kill the whole process group (Dagster and its dbt child) once dbt has started building."""
    target = home / "warehouse" / "arrears.duckdb"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _dbt_running(proc.pid) and target.exists():
            time.sleep(2.0)  # into the run: models are being written
            os.killpg(proc.pid, signal.SIGKILL)
            return
        time.sleep(0.1)


def _dbt_running(group: int) -> bool:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != group:
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if b"dbt" in cmdline and b"build" in cmdline:
            return True
    return False


def test_builds_killed_at_each_stage_then_rerun_equal_an_uninterrupted_build(
    sample_settings, tmp_path
):
    home = tmp_path / "crashy"
    settings = load_settings({"ARREARS_HOME": str(home)})
    generate(GeneratorConfig(**SAMPLE), settings.landing_dir)
    log = tmp_path / "builds.log"

    # 1. Killed inside a file's transaction: nothing of it may remain.
    assert _build(home, log, failpoint="ingest.before_commit") == -signal.SIGKILL
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw._load_manifest").fetchone()[0] == 0
        assert con.execute("select count(*) from raw.customers").fetchone()[0] == 0

    # 2. Killed right after the first file committed: that file stays loaded exactly once.
    assert _build(home, log, failpoint="ingest.after_commit") == -signal.SIGKILL
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw._load_manifest").fetchone()[0] == 1

    # 3. Killed while dbt writes the marts.
    assert _build(home, log, kill_during_dbt=True) == -signal.SIGKILL

    # 4. Killed after the new published copy is written, before it is swapped in.
    assert _build(home, log, failpoint="publish.before_replace") == -signal.SIGKILL
    assert not settings.published_path.exists()  # readers see no copy rather than half of one

    # 5. An ordinary re-run completes and matches the uninterrupted build.
    assert _build(home, log) == 0, log.read_text()[-3000:]
    assert not list(settings.published_path.parent.glob(".*.tmp"))
    expected = fingerprint(sample_settings.published_path)
    assert fingerprint(settings.published_path) == expected
    assert len(expected) >= 10  # the comparison covers the marts, not an empty schema
    raw = ("raw",)
    assert fingerprint(settings.warehouse_path, raw) == fingerprint(
        sample_settings.warehouse_path, raw
    )
