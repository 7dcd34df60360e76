"""`arrears build`: one full Dagster materialisation — ingest, transform, check, alert, publish.

The same job runs under `make dev` from the landing sensor and the daily schedule; this entry
point only runs it in-process against the persistent Dagster instance, so the run shows up in
the UI history too. It holds the build lock throughout (`orchestration.build_lock`), and when
nothing changed since the last successful build (`orchestration.build_state`) it stops before
importing Dagster: nothing is rebuilt and nothing republished.
"""

from __future__ import annotations

import json
import logging
import os
import time

from orchestration import build_state
from orchestration.build_lock import build_lock
from orchestration.config import Settings, exported
from orchestration.contract import ENTITIES
from orchestration.landing import discover_files

log = logging.getLogger(__name__)

INSTANCE_YAML = """\
# Written by orchestration.pipeline: one DuckDB writer at a time (see STACK_NOTES.md), and the
# daemon starts one run at a time (runs also take the build lock, orchestration/build_lock.py).
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def landing_is_empty(settings: Settings) -> bool:
    return not any(discover_files(settings.landing_dir, e.name) for e in ENTITIES)


def write_instance_config(settings: Settings) -> None:
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    path = settings.dagster_home / "dagster.yaml"
    if not path.exists() or path.read_text() != INSTANCE_YAML:
        path.write_text(INSTANCE_YAML)


def prepare_dbt(settings: Settings) -> None:
    """Parse the dbt project when its manifest is missing or stale (dagster-dbt needs it)."""
    try:
        from orchestration.defs.transform.project import prepare_manifest
    except ImportError:  # the transform layer is not part of this checkout
        return
    prepare_manifest(settings)


RUN_PID_TAG = "arrears/pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_crashed_runs(instance) -> list[str]:
    """Fail the runs of `arrears build` processes that died mid-run (SIGKILL, power cut).

    A killed run never releases its slot in the `duckdb_writer` pool, and with no Dagster daemon
    watching an in-process run, every later build would wait for that slot forever. Runs
    started elsewhere (the UI, the sensor) carry no pid tag and are left to the daemon.
    """
    import dagster as dg

    released = []
    active = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=active)):
        pid = run.tags.get(RUN_PID_TAG)
        if pid and int(pid) != os.getpid() and not _alive(int(pid)):
            instance.report_run_failed(run, message="The build process died mid-run.")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(run.run_id)
    return released


def load_definitions(settings: Settings):
    from orchestration.definitions import build_definitions

    return build_definitions(settings)


def build(settings: Settings) -> bool:
    """Materialise every asset once, unless nothing changed since the last successful build.
    Returns False (with the failing steps logged) on failure."""
    settings.ensure_dirs()
    started = time.monotonic()
    with build_lock(settings):
        inputs = build_state.current_inputs(settings)  # before ingestion: see build_state
        verdict = build_state.assess(settings, inputs)
        if verdict.current:
            print(verdict.message)
            return True
        print(f"Building: {verdict.message}.")
        ok = _run(settings, inputs)
    log.info("build finished in %.1fs", time.monotonic() - started)
    return ok


def _run(settings: Settings, inputs: dict[str, str]) -> bool:
    import dagster as dg

    write_instance_config(settings)
    # Exported for the instance (DAGSTER_HOME) and any child process; the assets get `settings`.
    with exported(settings), dg.DagsterInstance.get() as instance:
        for run_id in release_crashed_runs(instance):
            print(f"Released run {run_id}: its process died mid-run; this build redoes its work.")
        prepare_dbt(settings)
        job = load_definitions(settings).resolve_job_def("build_warehouse")
        result = job.execute_in_process(
            instance=instance,
            tags={RUN_PID_TAG: str(os.getpid()), build_state.INPUTS_TAG: json.dumps(inputs)},
            raise_on_error=False,
            # One INFO line per step and per file keeps progress readable; DEBUG is for the UI.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    return report_run(result)


def report_run(result) -> bool:
    """Whether a build run did all its work, printing the steps that did not."""
    failed = steps_with(result, "STEP_FAILURE")
    if failed:
        print(f"Build FAILED in steps: {', '.join(failed)} — the published warehouse was kept.")
    # A step whose inputs never arrived is skipped, not failed, and Dagster still calls the run a
    # success; on Spark a garbled dbt event once skipped the checks and publish that way.
    skipped = steps_with(result, "STEP_SKIPPED")
    if skipped:
        print(f"Build INCOMPLETE, steps skipped (their inputs never arrived): {', '.join(skipped)}")
    return result.success and not skipped


def steps_with(result, event_type: str) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == event_type]
