"""`arrears build`: one full Dagster materialisation — ingest, transform, check, alert, publish.

The same job runs under `make dev` from the landing sensor and the daily schedule; this entry
point only runs it in-process against the persistent Dagster instance, so the run shows up in
the UI history too.
"""

from __future__ import annotations

import logging
import time

from orchestration.config import Settings, exported
from orchestration.contract import ENTITIES
from orchestration.ingest import discover_files

log = logging.getLogger(__name__)

INSTANCE_YAML = """\
# Written by orchestration.pipeline: one DuckDB writer at a time (see STACK_NOTES.md).
concurrency:
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


def prepare_dbt() -> None:
    """Parse the dbt project when its manifest is missing or stale (dagster-dbt needs it)."""
    try:
        from orchestration.defs.transform.project import prepare_manifest
    except ImportError:  # the transform layer is not part of this checkout
        return
    prepare_manifest()


def load_definitions():
    from orchestration.definitions import defs

    return defs()


def build(settings: Settings) -> bool:
    """Materialise every asset once. Returns False (with the failing steps logged) on failure."""
    import dagster as dg

    settings.ensure_dirs()
    write_instance_config(settings)
    started = time.monotonic()
    with exported(settings), dg.DagsterInstance.get() as instance:
        prepare_dbt()
        job = load_definitions().resolve_job_def("build_warehouse")
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # One INFO line per step and per file keeps progress readable; DEBUG is for the UI.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    log.info("build finished in %.1fs", time.monotonic() - started)
    if failed:
        print(f"Build FAILED in steps: {', '.join(failed)} — the published warehouse was kept.")
    return result.success
