"""Every named kill point of an incremental build (issue 17): a build of the next day's data,
killed there with SIGKILL, then re-run, ends with exactly the warehouse and published copy of an
uninterrupted build of the same files; a reader meanwhile sees the previous whole version.

One small warehouse: the session's sample home (built and published) plus a drop of newer
versions of a few payment attempts, which touches their invoices, so every incremental model
merges. Each case starts from a copy of that home.

Kill points (orchestration/failpoints.py): the fixed Python ones, `after_step.<key>` at every step
boundary of the build job, and, in dbt's SQL, between the delete and the insert of every
incremental model's merge and before each invoice-level model's state record. A Python point
kills its own process; a dbt one writes a marker file and blocks in its open transaction, and
the harness then kills the whole process group (Dagster and its dbt child).
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.failpoints import FAILPOINTS
from tests.reliability.warehouse_state import fingerprint

# In the order a build reaches them. The step keys are the build job's (test_definitions.py pins
# its shape); connector steps with nothing configured still run and succeed.
STEPS = (
    "connectors__stripe", "connectors__stripe_api", "connectors__stripe_tables",
    "connectors__mapped_csv", "raw__customers", "raw_quality_layer_0", "raw__subscriptions",
    "raw__payment_attempts", "raw__invoices", "raw__dunning_messages", "raw__disputes",
    "raw__refunds", "raw__escalations", "raw__payment_plans", "raw__payment_plan_instalments",
    "raw__payment_method_updates", "raw_quality_layer_1", "raw_quality_layer_2",
    "raw_quality_layer_3", "raw_quality_layer_4", "arrears_dbt", "risk__subscription_scores",
    "risk_dbt", "alerting__alerts", "mart_quality_checks", "published_warehouse",
)  # fmt: skip
INVOICE_MODELS = ("int_invoice_ledger", "int_invoice_balance_periods", "int_invoice_recovery",
                  "fct_invoices")  # fmt: skip
MERGING_MODELS = (*INVOICE_MODELS, "fct_payment_attempts")
# ingest.before_commit/after_commit need a file to load: the drop is one (payment_attempts).
KILL_POINTS = (
    *FAILPOINTS,
    *(f"after_step.{step}" for step in STEPS),
    *(f"dbt.{model}.between_delete_and_insert" for model in MERGING_MODELS),
    *(f"dbt.{model}.before_state_record" for model in INVOICE_MODELS),
)

# A case costs a killed build and an incremental re-run (~1.5 min on a quiet machine, 6–8 min at
# load 13): `make test` runs one kill point of each family; ARREARS_ALL_KILL_POINTS=1 runs all.
EACH_FAMILY = (
    "ingest.after_commit",
    "quality.before_commit",
    "after_step.arrears_dbt",
    "dbt.fct_invoices.between_delete_and_insert",
    "dbt.int_invoice_ledger.before_state_record",
    "publish.table_rewritten",
)
SELECTED = KILL_POINTS if os.environ.get("ARREARS_ALL_KILL_POINTS") else EACH_FAMILY


def test_there_are_at_least_20_named_kill_points_and_each_family_is_run():
    assert len(set(KILL_POINTS)) == len(KILL_POINTS) >= 20
    assert set(EACH_FAMILY) <= set(KILL_POINTS)
    families = {point.split(".")[0] for point in KILL_POINTS}
    assert families == {point.split(".")[0] for point in EACH_FAMILY}


def _build(home: Path, log: Path, failpoint: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARREARS_", "DAGSTER_"))}
    env["ARREARS_HOME"] = str(home)
    marker = home / "failpoint-reached"
    if failpoint:
        env["ARREARS_FAILPOINT"] = failpoint
        env["ARREARS_FAILPOINT_MARKER"] = str(marker)
    with log.open("a") as out:
        out.write(f"\n=== build, kill point {failpoint}\n")
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "build"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if marker.exists():  # a dbt kill point: blocked in its transaction
                os.killpg(proc.pid, signal.SIGKILL)
                marker.unlink()
                break
            time.sleep(0.05)
        code = proc.wait(timeout=60)
    # No process of the build may outlive it (dbt is its child, in the same group).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    return code


def _next_day(landing: Path) -> None:
    """Newer versions (one second later) of five attempts: their invoices are touched."""
    newest = max((landing / "payment_attempts").iterdir())
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * replace (updated_at + interval 1 second as updated_at) "
            f"from '{newest}' order by attempt_id limit 5) "
            f"to '{landing / 'payment_attempts' / 'next-day.parquet'}' (format parquet)"
        )


@pytest.fixture(scope="module")
def day_two(sample_settings, tmp_path_factory) -> Path:
    """The sample home with the next day landed (not built)."""
    home = tmp_path_factory.mktemp("kill_points") / "home"
    shutil.copytree(sample_settings.home, home, symlinks=True)
    _next_day(load_settings({"ARREARS_HOME": str(home)}).landing_dir)
    return home


@pytest.fixture(scope="module")
def uninterrupted(day_two, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("uninterrupted") / "home"
    shutil.copytree(day_two, home, symlinks=True)
    log = home.parent / "build.log"
    assert _build(home, log) == 0, log.read_text()[-3000:]
    settings = load_settings({"ARREARS_HOME": str(home)})
    return {
        "published": fingerprint(settings.published_path),
        "warehouse": fingerprint(settings.warehouse_path, ("raw", "intermediate", "marts")),
    }


@pytest.mark.parametrize("kill_point", SELECTED)
def test_a_build_killed_there_then_rerun_equals_an_uninterrupted_build(
    day_two, uninterrupted, tmp_path, kill_point
):
    home = tmp_path / "home"
    shutil.copytree(day_two, home, symlinks=True)
    settings = load_settings({"ARREARS_HOME": str(home)})
    before = settings.published_path.resolve()
    log = tmp_path / "builds.log"

    assert _build(home, log, kill_point) == -signal.SIGKILL, log.read_text()[-3000:]
    # Readers see a whole version: the previous one, or (killed after the swap) the new one.
    current = settings.published_path.resolve(strict=True)
    with duckdb.connect(str(current), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_invoices").fetchone()[0] > 0

    assert _build(home, log) == 0, log.read_text()[-3000:]
    assert settings.published_path.resolve() != before  # the new day is published
    assert not list(settings.published_path.parent.glob(".*.tmp"))
    published = fingerprint(settings.published_path)
    assert published == uninterrupted["published"]
    assert len(published) >= 10  # the comparison covers the marts, not an empty schema
    warehouse = fingerprint(settings.warehouse_path, ("raw", "intermediate", "marts"))
    assert warehouse == uninterrupted["warehouse"]
