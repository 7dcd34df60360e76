"""The last asset of every build: publish the read-only copy for dashboards and analysts."""

import dagster as dg

from orchestration.config import Settings
from orchestration.contract import ENTITIES
from orchestration.defs.alerting.assets import ALERTS_KEY
from orchestration.defs.ingestion.assets import WRITER_POOL, raw_key
from orchestration.defs.transform.assets import arrears_dbt_assets
from orchestration.publish import publish

# Everything a reader sees must be finished first: a failed or skipped upstream step (a blocking
# raw check, a failing dbt test) skips the publish, and the previous copy stays in place.
UPSTREAM = sorted(
    {raw_key(e.name) for e in ENTITIES} | set(arrears_dbt_assets.keys) | {ALERTS_KEY},
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
    counts = publish(settings.warehouse_path, settings.published_path, settings.duckdb_memory_limit)
    context.log.info(f"Published {len(counts)} tables to {settings.published_path}")
    return dg.MaterializeResult(
        metadata={
            "path": str(settings.published_path),
            "tables": len(counts),
            "row_counts": dg.MetadataValue.json(counts),
        }
    )
