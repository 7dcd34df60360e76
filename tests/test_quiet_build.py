"""A build with nothing new does nothing, and says so; anything new, or any doubt, builds.

Each test works on a copy of the session's sample home (files copied with their times, so the
copy's inputs are the sample's), never on the shared sample itself. A build that must run is
caught at `pipeline._run`, the one place that starts the Dagster job: the session build already
ran that path, and a second full build here would only cost time.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import build_state, pipeline
from orchestration.build_lock import holder
from orchestration.config import DBT_PROJECT_DIR, load_settings


@pytest.fixture
def home(sample_settings, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(sample_settings.home, copy, symlinks=True)  # copy2 keeps mtimes
    return copy


def _runs(settings) -> int:
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        return len(instance.get_runs())


def _published_state(settings) -> tuple[str, int]:
    target = settings.published_path.resolve()
    return target.name, target.stat().st_mtime_ns


@pytest.fixture
def launched(monkeypatch) -> list[dict]:
    """The inputs of every build that went on to start the Dagster job (not started here)."""
    calls = []

    def run(settings, inputs):
        calls.append(inputs)
        return True

    monkeypatch.setattr(pipeline, "_run", run)
    return calls


def test_the_sample_build_recorded_the_inputs_it_started_from(sample_settings):
    record = json.loads(build_state.record_path(sample_settings).read_text())
    assert record["inputs"] == build_state.current_inputs(sample_settings)
    assert record["published_version"] == sample_settings.published_path.resolve().name
    assert record["warehouse"] == build_state.warehouse_files(sample_settings)
    with duckdb.connect(str(sample_settings.published_path), read_only=True) as con:
        (as_of,) = con.execute("select max(as_of) from marts.monitoring_status").fetchone()
    assert record["data_as_of"] == as_of.isoformat()


def test_a_build_with_nothing_new_runs_nothing_and_republishes_nothing(home, launched, capsys):
    settings = load_settings({"ARREARS_HOME": str(home)})
    runs, published = _runs(settings), _published_state(settings)
    warehouse = build_state.warehouse_files(settings)
    record = json.loads(build_state.record_path(settings).read_text())

    assert pipeline.build(settings)

    out = capsys.readouterr().out
    assert f"Nothing new landed since build {record['run_id'][:8]}" in out
    assert "the published warehouse is current" in out
    assert f"data as of {record['data_as_of'][:16].replace('T', ' ')} UTC" in out
    assert launched == []  # the Dagster job was not started: no step, no dbt
    assert _runs(settings) == runs
    assert _published_state(settings) == published  # same file, same mtime
    assert build_state.warehouse_files(settings) == warehouse


def test_a_new_landing_file_builds(home, launched, capsys):
    settings = load_settings({"ARREARS_HOME": str(home)})
    folder = settings.landing_dir / "payment_attempts"
    newest = max(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    shutil.copy(newest, folder / f"next-day{newest.suffix}")

    assert pipeline.build(settings)

    assert "Building: new or changed landing files since build" in capsys.readouterr().out
    assert launched == [build_state.current_inputs(settings)]  # the new file is in them


@pytest.mark.parametrize(
    "variable, value",
    [("ARREARS_REPORTING_CURRENCY", "USD"), ("ARREARS_PII_SALT", "another salt")],
)
def test_a_changed_setting_builds(home, launched, capsys, variable, value):
    settings = load_settings({"ARREARS_HOME": str(home), variable: value})
    assert pipeline.build(settings)
    assert "Building: the settings changed since build" in capsys.readouterr().out
    assert len(launched) == 1


def test_a_changed_dbt_var_or_model_changes_the_dbt_digest(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    before = build_state.dbt_project_digest(project)
    assert build_state.dbt_project_digest(DBT_PROJECT_DIR) == before  # content, not location

    yml = project / "dbt_project.yml"
    yml.write_text(yml.read_text().replace("recovery_window_days: 60", "recovery_window_days: 61"))
    after_var = build_state.dbt_project_digest(project)
    assert after_var != before

    model = project / "models" / "marts" / "fct_invoices.sql"
    model.write_text(model.read_text() + "\n-- a comment is a change too\n")
    assert build_state.dbt_project_digest(project) not in (before, after_var)


def test_a_changed_dbt_project_builds(home, launched, capsys, monkeypatch):
    settings = load_settings({"ARREARS_HOME": str(home)})
    monkeypatch.setattr(build_state, "dbt_project_digest", lambda: "a changed project")
    assert pipeline.build(settings)
    assert "Building: the dbt project changed since build" in capsys.readouterr().out


def test_dbt_builds_incrementally_unless_the_definition_changed_since_the_recorded_build(home):
    settings = load_settings({"ARREARS_HOME": str(home)})
    recorded = json.loads(build_state.record_path(settings).read_text())["inputs"]
    # New data (landing, sources, acknowledgements) is what incremental models are for.
    new_data = {**recorded, "landing": "a new day", "sources": "x", "acknowledgements": "y"}
    assert build_state.dbt_refresh_flags(settings, new_data) == []
    # Anything that changes what the models compute rebuilds every row.
    for part in ("dbt_project", "code", "settings", "libraries"):
        changed = {**recorded, part: "changed"}
        assert build_state.full_refresh_reason(settings, changed) == (
            "the models' definition changed since the last successful build"
        )
        assert build_state.dbt_refresh_flags(settings, changed) == ["--full-refresh"]
    build_state.forget(settings)  # a first build, or one after a run from the UI
    assert build_state.dbt_refresh_flags(settings, recorded) == ["--full-refresh"]


def test_a_write_after_the_recorded_build_builds(home, launched, capsys):
    """A failed or partial run (or dbt by hand) leaves the warehouse unlike the published copy."""
    settings = load_settings({"ARREARS_HOME": str(home)})
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create table raw.left_by_a_failed_run as select 1 as x")
    assert pipeline.build(settings)
    assert "the warehouse was written after build" in capsys.readouterr().out
    assert len(launched) == 1


def test_a_missing_or_foreign_published_copy_builds(home, launched, capsys):
    settings = load_settings({"ARREARS_HOME": str(home)})
    settings.published_path.unlink()
    assert pipeline.build(settings)
    assert "the published copy is not the one of build" in capsys.readouterr().out


def test_no_record_builds(home, launched, capsys):
    settings = load_settings({"ARREARS_HOME": str(home)})
    build_state.forget(settings)
    assert pipeline.build(settings)
    assert "Building: no successful build recorded." in capsys.readouterr().out


def test_a_quiet_day_that_makes_the_data_stale_builds_once(home):
    """Freshness (48 h) is judged against the wall clock: the first quiet day past the limit
    builds, so the WARN check records it; later quiet days skip again."""
    settings = load_settings({"ARREARS_HOME": str(home)})
    newest = datetime(2026, 3, 1, 12, 0)
    limit = 48.0
    path = build_state.record_path(settings)
    record = json.loads(path.read_text())
    inputs = build_state.current_inputs(settings)

    def write(stale: bool) -> None:
        record["freshness"] = {
            "invoices": {"newest": newest.isoformat(), "limit_hours": limit, "stale": stale}
        }
        path.write_text(json.dumps(record))

    write(stale=False)  # built while the newest invoice was fresh
    assert build_state.assess(settings, inputs, now=newest + timedelta(hours=48)).current
    late = build_state.assess(settings, inputs, now=newest + timedelta(hours=48, seconds=1))
    assert not late.current
    assert "newest invoices record is now older than 48 h" in late.message

    write(stale=True)  # the build that recorded it stale
    assert build_state.assess(settings, inputs, now=newest + timedelta(days=5)).current


def test_the_daily_schedule_skips_a_quiet_day_and_requests_a_build_otherwise(home):
    from orchestration.defs.ingestion.assets import daily_rebuild

    settings = load_settings({"ARREARS_HOME": str(home)})
    quiet = daily_rebuild.evaluate_tick(dg.build_schedule_context(resources={"settings": settings}))
    assert not quiet.run_requests
    assert "Nothing new landed since build" in quiet.skip_message

    (settings.landing_dir / "customers" / "late.csv").write_text("customer_id\n")
    busy = daily_rebuild.evaluate_tick(dg.build_schedule_context(resources={"settings": settings}))
    (request,) = busy.run_requests
    assert json.loads(request.tags[build_state.INPUTS_TAG]) == build_state.current_inputs(settings)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARREARS_", "DAGSTER_"))}
    return {**env, "ARREARS_HOME": str(home)}


def test_a_second_build_waits_for_the_first_then_starts_from_what_it_left(home):
    """Two processes: one holds the build lock as a running build does; `arrears build` says who
    holds it and waits. The holder is killed (SIGKILL, no cleanup): the kernel frees the lock,
    and the waiting build goes on — here to find nothing new."""
    settings = load_settings({"ARREARS_HOME": str(home)})
    hold = (
        "import time\n"
        "from orchestration.build_lock import build_lock\n"
        "from orchestration.config import load_settings\n"
        "with build_lock(load_settings(), what='the first build'):\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(600)\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-c", hold], env=_env(home), stdout=subprocess.PIPE, text=True
    )
    second = None
    try:
        assert first.stdout.readline().strip() == "holding"
        assert f"pid {first.pid}, the first build" in holder(settings)
        second = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "build"],
            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        line = second.stdout.readline()
        assert f"Another build is running (pid {first.pid}, the first build, since" in line
        assert "waiting for it to finish" in line
        time.sleep(1.0)
        assert second.poll() is None  # still waiting while the first holds the lock
        first.send_signal(signal.SIGKILL)
        out, _ = second.communicate(timeout=120)
    finally:
        first.kill()
        if second and second.poll() is None:
            second.kill()
    assert second.returncode == 0, out
    assert "The other build finished: this one starts from what it left." in out
    assert "Nothing new landed since build" in out
    assert holder(settings) is None


def test_every_launched_run_holds_the_build_lock_from_first_step_to_last(tmp_path, monkeypatch):
    """Runs the daemon launches (schedule, sensors, UI) go through the job's executor, which
    takes the lock before the in-process executor's first event and frees it after its last.
    (`arrears build` runs in-process and holds the lock itself.)"""
    from orchestration.defs.ingestion.assets import _OneBuildAtATime, build_warehouse_job

    assert build_warehouse_job.executor_def.name == "in_process_one_build_at_a_time"
    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    settings = load_settings()
    seen = []

    class Steps:
        retries = step_dependency_config = None

        def execute(self, plan_context, execution_plan):
            seen.append(holder(settings))
            yield "first step"
            seen.append(holder(settings))
            yield "last step"

    class Run:
        run_id = "0123456789abcdef"

    class Log:
        def info(self, message):
            raise AssertionError(f"nothing else holds the lock, yet: {message}")

    class Context:
        dagster_run = Run()
        log = Log()

    events = list(_OneBuildAtATime(Steps()).execute(Context(), None))
    assert events == ["first step", "last step"]
    assert seen[0] == seen[1] and "Dagster run 01234567" in seen[0]
    assert holder(settings) is None


def test_the_landing_sensor_requests_a_build_with_the_inputs_it_saw(home):
    """A sensor's run records the inputs as they were when it was requested: a file landing
    after that is not counted as built, and the next build picks it up."""
    from orchestration.defs.ingestion.assets import landing_sensor

    settings = load_settings({"ARREARS_HOME": str(home)})  # copied files: older than a minute
    seen = build_state.current_inputs(settings)
    result = landing_sensor.evaluate_tick(
        dg.build_sensor_context(cursor=None, resources={"settings": settings})
    )
    (request,) = result.run_requests
    assert json.loads(request.tags[build_state.INPUTS_TAG]) == seen

    (settings.landing_dir / "customers" / "after-the-request.csv").write_text("customer_id\n")
    assert build_state.current_inputs(settings)["landing"] != seen["landing"]
