"""Every dbt model and seed as a Dagster asset downstream of its raw ingestion asset; dbt data
tests run in the same `dbt build` and show as asset checks."""

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration import build_state, spark
from orchestration.config import Settings, exported
from orchestration.defs.ingestion.assets import WRITER_POOL
from orchestration.defs.transform.project import arrears_dbt, dbt_resource, prepare_manifest

# `dg dev` and tests load this module without the pipeline's preparation step.
prepare_manifest()


class ArrearsDbtTranslator(DagsterDbtTranslator):
    """Default keys ([schema, name]; source('raw', x): ["raw", x], the ingestion assets' keys);
    one group per layer folder (staging, intermediate, marts, semantic), seeds in `reference`,
    the layers' `monitoring/` sub-folders in one group `monitoring`: the alerting piece's
    models, which the golden-history tests leave out (tests/dbt/conftest.py OWN_GROUPS), and
    `marts/risk/` in the group `risk` of the score's assets."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        folders = dbt_resource_props.get("fqn", [])[1:-1]
        if "monitoring" in folders:
            return "monitoring"
        # The models over the delinquency score's Python output, beside its asset.
        if "risk" in folders:
            return "risk"
        return folders[0] if folders else "transform"


# The models over the delinquency score's Python output run after it: orchestration/defs/risk.
RISK_OUTPUT_MODELS = "path:models/marts/risk"


@dbt_assets(
    manifest=arrears_dbt.manifest_path,
    project=arrears_dbt,
    dagster_dbt_translator=ArrearsDbtTranslator(),
    pool=WRITER_POOL,
    name="arrears_dbt",
    exclude=RISK_OUTPUT_MODELS,
)
def arrears_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: dg.ResourceParam[Settings]
):
    yield from dbt_build(context, dbt, settings, settings.engine)


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: Settings, engine: str
) -> Iterator:
    """`dbt build` of the selected models, their seeds and data tests on `engine` (one of
    config.ENGINES)."""
    # The project's own target/ keeps dbt's partial parse between runs (writers run one at a time).
    # Unit tests check the models' logic, not the data: they run in `make test`
    # (tests/dbt/test_unit_tests.py), not in every production build.
    # dbt's profile reads the settings from its environment, which DbtCliResource copies from
    # this process's when it starts dbt: they are exported for that moment.
    # On Spark (docs/spark.md) the raw tables go over as Parquet first, and the marts come back
    # into the DuckDB warehouse after, where the checks, the score, alerting and publish read them.
    if engine == "spark":
        spark.export_raw(settings)
        spark.reset_tables(settings)
    refresh = build_state.dbt_refresh_flags(
        settings, build_state.run_inputs(context.run.tags, settings), context.log
    )
    # The profile picks its target from the exported engine (dbt_project/profiles.yml).
    with exported(replace(settings, engine=engine)):
        invocation = dbt.cli(
            ["build", "--exclude-resource-type", "unit_test", *refresh],
            context=context,
            target_path=arrears_dbt.target_path,
        )
    yield from invocation.stream()
    # Every dbt step writes the same target/run_results.json; a copy named after the step keeps
    # each step's node timings for `make bench` (benchmarks/profile.py) after the next one runs.
    run_results = invocation.target_path / "run_results.json"
    if run_results.exists():
        shutil.copyfile(
            run_results, run_results.with_name(f"run_results.{context.op_def.name}.json")
        )
    if engine == "spark":
        counts = spark.import_marts(settings)
        context.log.info(f"Copied {len(counts)} Spark marts into {settings.warehouse_path}")


defs = dg.Definitions(
    assets=[arrears_dbt_assets],
    resources={"dbt": dbt_resource()},
)
