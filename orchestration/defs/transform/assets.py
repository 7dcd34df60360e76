"""Every dbt model and seed as a Dagster asset downstream of its raw ingestion asset; dbt data
tests run in the same `dbt build` and show as asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration import spark
from orchestration.config import Settings, exported
from orchestration.defs.ingestion.assets import WRITER_POOL
from orchestration.defs.transform.project import arrears_dbt, dbt_resource, prepare_manifest

# `dg dev` and tests load this module without the pipeline's preparation step.
prepare_manifest()


class ArrearsDbtTranslator(DagsterDbtTranslator):
    """Default keys ([schema, name]; source('raw', x): ["raw", x], the ingestion assets' keys);
    one group per layer folder (staging, intermediate, marts, semantic), seeds in `reference`,
    and the layers' `monitoring/` sub-folders in one group `monitoring`: the alerting piece's
    models, which the golden-history tests leave out (tests/dbt/conftest.py OWN_GROUPS)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        folders = dbt_resource_props.get("fqn", [])[1:-1]
        if "monitoring" in folders:
            return "monitoring"
        return folders[0] if folders else "transform"


@dbt_assets(
    manifest=arrears_dbt.manifest_path,
    project=arrears_dbt,
    dagster_dbt_translator=ArrearsDbtTranslator(),
    pool=WRITER_POOL,
    name="arrears_dbt",
)
def arrears_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: dg.ResourceParam[Settings]
):
    # The project's own target/ keeps dbt's partial parse between runs (writers run one at a time).
    # Unit tests check the models' logic, not the data: they run in `make test`
    # (tests/dbt/test_unit_tests.py), not in every production build.
    # dbt's profile reads the settings from its environment, which DbtCliResource copies from
    # this process's when it starts dbt: they are exported for that moment.
    # On Spark (docs/spark.md) the raw tables go over as Parquet first, and the marts come back
    # into the DuckDB warehouse after, where the checks, the score, alerting and publish read them.
    if settings.engine == "spark":
        spark.export_raw(settings)
        spark.reset_tables(settings)
    with exported(settings):
        invocation = dbt.cli(
            ["build", "--exclude-resource-type", "unit_test"],
            context=context,
            target_path=arrears_dbt.target_path,
        )
    yield from invocation.stream()
    if settings.engine == "spark":
        counts = spark.import_marts(settings)
        context.log.info(f"Copied {len(counts)} Spark marts into {settings.warehouse_path}")


defs = dg.Definitions(
    assets=[arrears_dbt_assets],
    resources={"dbt": dbt_resource()},
)
