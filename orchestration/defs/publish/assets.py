"""The last asset of every build: publish the read-only copy for dashboards and analysts, and
record what it was built from (orchestration/build_state.py)."""

import json

import dagster as dg

from data_quality.core import QualityConfig
from orchestration import build_state
from orchestration.config import Settings
from orchestration.contract import ENTITIES
from orchestration.defs.alerting.assets import ALERTS_KEY
from orchestration.defs.ingestion.assets import WRITER_POOL, raw_key
from orchestration.defs.risk.assets import RISK_KEY, risk_dbt_assets
from orchestration.defs.transform.assets import arrears_dbt_assets
from orchestration.publish import publish
from orchestration.warehouse import open_warehouse

# Everything a reader sees must be finished first: a failed or skipped upstream step (a blocking
# raw check, a failing dbt test) skips the publish, and the previous copy stays in place.
UPSTREAM = sorted(
    {raw_key(e.name) for e in ENTITIES}
    | set(arrears_dbt_assets.keys)
    | set(risk_dbt_assets.keys)
    | {ALERTS_KEY, RISK_KEY},
    key=lambda k: k.to_user_string(),
)


@dg.asset(
    key="published_warehouse",
    deps=UPSTREAM,
    group_name="publish",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    description="Read-only copy of the marts, quality and alert tables, swapped in atomically.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    before = build_state.warehouse_files(settings)
    as_of, freshness = _clock_facts(settings)
    counts = publish(settings.warehouse_path, settings.published_path, settings.duckdb_memory_limit)
    context.log.info(f"Published {len(counts)} tables to {settings.published_path}")
    inputs = context.run.tags.get(build_state.INPUTS_TAG)
    if inputs and build_state.warehouse_files(settings) == before:
        build_state.write_record(
            settings,
            run_id=context.run.run_id,
            inputs=json.loads(inputs),
            warehouse=before,
            published_version=settings.published_path.resolve().name,
            data_as_of=as_of,
            freshness=freshness,
        )
        context.log.info("Recorded what this build was built from: a build with nothing new skips.")
    else:
        # Started without its inputs recorded (the UI), or the warehouse moved under the copy.
        build_state.forget(settings)
    return dg.MaterializeResult(
        metadata={
            "path": str(settings.published_path),
            "tables": len(counts),
            "row_counts": dg.MetadataValue.json(counts),
        }
    )


def _clock_facts(settings: Settings):
    """The data's own clock and the newest record of each entity whose freshness is judged
    against the wall clock (the only check a quiet day can change)."""
    limits = QualityConfig().freshness_max_age_hours
    with open_warehouse(settings, read_only=True) as con:
        (as_of,) = con.execute("select max(as_of) from marts.monitoring_status").fetchone()
        freshness = {
            name: build_state.Freshness(
                con.execute(f"select max(updated_at) from raw.{name}").fetchone()[0], limit
            )
            for name, limit in limits.items()
        }
    return as_of, freshness
