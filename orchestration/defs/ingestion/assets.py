"""One Dagster asset per raw entity: new landing files → `raw.<entity>` (see orchestration.ingest)."""

import hashlib
import json
import time

import dagster as dg

from orchestration import build_state, ingest
from orchestration.build_lock import build_lock, holder
from orchestration.config import Settings, load_settings
from orchestration.contract import ENTITIES, Entity
from orchestration.defs.connectors.assets import CONNECTOR_ASSET_KEYS
from orchestration.failpoints import failpoint
from orchestration.warehouse import open_warehouse

WRITER_POOL = "duckdb_writer"  # every asset that writes the warehouse; limit 1 in dagster.yaml


def raw_key(entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity])


def _upstream(entity: Entity) -> list[dg.AssetKey]:
    """Referenced entities load first, so references can be checked against them; connectors
    run before any ingestion, so the files they write land in the same build."""
    return [raw_key(p) for p in entity.parents] + CONNECTOR_ASSET_KEYS


def _raw_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(entity.name),
        deps=_upstream(entity),
        group_name="ingestion",
        kinds={"duckdb"},
        pool=WRITER_POOL,
        description=f"raw.{entity.name}: {entity.description} Every version kept, with lineage.",
    )
    def _load(
        context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
    ) -> dg.MaterializeResult:
        settings.ensure_dirs()
        with open_warehouse(settings) as con:
            report = ingest.load_entity(
                con, entity.name, settings.landing_dir, settings.rejected_dir
            )
            (total,) = con.execute(f"select count(*) from raw.{entity.name}").fetchone()
        for f in report.files:
            context.log.info(
                f"{f.path.name}: {f.status} — read {f.rows_read}, loaded {f.rows_loaded}, "
                f"quarantined {f.rows_quarantined}, already loaded {f.rows_already_loaded}"
                + (f" ({'; '.join(f.notes)})" if f.notes else "")
            )
        for f in report.rejected:
            context.log.error(
                f"REJECTED {f.path.name}: {f.error}. Moved to {settings.rejected_dir / entity.name} "
                "with an .error.txt report."
            )
        return dg.MaterializeResult(
            metadata={
                "files_loaded": len([f for f in report.files if f.status == "loaded"]),
                "files_rejected": dg.MetadataValue.json(
                    {f.path.name: f.error for f in report.rejected}
                ),
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "released_from_quarantine": report.released_from_quarantine,
                "total_versions": total,
            }
        )

    return _load


raw_assets = [_raw_asset(e) for e in ENTITIES]


class _OneBuildAtATime(dg.Executor):
    """Dagster's in-process executor, holding the build lock (orchestration/build_lock.py) from
    before the first step to after the last: the executor of every run launched through the
    instance (schedule, sensors, UI). `arrears build` runs the job with `execute_in_process`,
    which brings its own executor; it holds the lock itself."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        # The run worker's environment holds the settings, as the code location's does.
        settings = load_settings()
        what = f"Dagster run {plan_context.dagster_run.run_id[:8]}"
        with build_lock(settings, what=what, on_wait=plan_context.log.info):
            yield from self._inner.execute(plan_context, execution_plan)


@dg.executor(
    name="in_process_one_build_at_a_time",
    config_schema=dg.in_process_executor.config_schema,
)
def one_build_at_a_time(init_context: dg.InitExecutorContext) -> dg.Executor:
    return _OneBuildAtATime(dg.in_process_executor.executor_creation_fn(init_context))


@dg.success_hook(name="step_boundary_failpoint")
def step_boundary_failpoint(context: dg.HookContext) -> None:
    """A named crash point after every step (`after_step.<step key>`), before the next starts."""
    failpoint(f"after_step.{context.step_key}")


build_warehouse_job = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, rebuild the marts, check, alert and publish.",
    # One process for the whole run: writers are serialised anyway (one DuckDB file), and a
    # process per step would pay the Dagster, dbt and Great Expectations imports every step.
    executor_def=one_build_at_a_time,
    hooks={step_boundary_failpoint},
)


@dg.sensor(
    job=build_warehouse_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, settings: dg.ResourceParam[Settings]):
    """Start a build when files appear or change in the landing folder.

    It only lists files (it never opens the warehouse, which a running build holds), and waits
    until a file has not changed for a minute so a half-copied file is not picked up.
    """
    seen: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    current, fresh = {}, False
    now = time.time()
    for entity in ENTITIES:
        for path in ingest.discover_files(settings.landing_dir, entity.name):
            stat = path.stat()
            if now - stat.st_mtime < 60:
                fresh = True  # still being written; look again next tick
                continue
            current[str(path)] = [stat.st_size, stat.st_mtime]
    new = sorted(p for p, sig in current.items() if seen.get(p) != sig)
    if not new:
        return dg.SkipReason(
            "no new landing files" + (" (some still being written)" if fresh else "")
        )
    context.update_cursor(json.dumps(current))
    yield dg.RunRequest(
        run_key="landing-" + hashlib.sha256(json.dumps(new).encode()).hexdigest()[:16],
        tags={"trigger": "landing_sensor", "new_files": str(len(new)), **build_tags(settings)},
    )


def build_tags(settings: Settings) -> dict[str, str]:
    """The inputs a run starts from, taken when it is requested (before its ingestion), for
    the publish step to record (orchestration/build_state.py)."""
    return {build_state.INPUTS_TAG: json.dumps(build_state.current_inputs(settings))}


@dg.schedule(
    name="daily_rebuild",
    job=build_warehouse_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every morning: build when anything changed since the last successful build (or the "
        "data just became stale); on a quiet day, skip."
    ),
)
def daily_rebuild(context: dg.ScheduleEvaluationContext, settings: dg.ResourceParam[Settings]):
    """A build's results depend on its inputs and, through the freshness check, on the clock:
    when neither moved, the published warehouse is already what a build would publish."""
    running = holder(settings)
    if running:
        return dg.SkipReason(f"A build is running ({running}); it is this morning's build.")
    inputs = build_state.current_inputs(settings)
    verdict = build_state.assess(settings, inputs)
    if verdict.current:
        return dg.SkipReason(verdict.message)
    context.log.info(f"Building: {verdict.message}.")
    return dg.RunRequest(
        tags={"trigger": "daily_rebuild", build_state.INPUTS_TAG: json.dumps(inputs)}
    )
