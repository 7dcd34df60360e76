"""The early-warning delinquency score as an asset: after the dbt marts it reads, before the dbt
models over its output (models/marts/risk/: marts.subscription_risk, which the semantic layer's
expected_revenue_at_risk reads) and the publish. Its key is the dbt source those models read."""

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestration import risk
from orchestration.config import Settings
from orchestration.defs.ingestion.assets import WRITER_POOL
from orchestration.defs.transform.assets import (
    RISK_OUTPUT_MODELS,
    ArrearsDbtTranslator,
    arrears_dbt_assets,
    dbt_build,
)
from orchestration.defs.transform.project import arrears_dbt
from orchestration.warehouse import open_warehouse

RISK_KEY = dg.AssetKey(["risk", "subscription_scores"])


@dg.asset(
    key=RISK_KEY,
    deps=[
        get_asset_key_for_model([arrears_dbt_assets], "risk_features"),
        get_asset_key_for_model([arrears_dbt_assets], "dim_subscriptions"),
    ],
    group_name="risk",
    kinds={"duckdb", "scikitlearn"},
    pool=WRITER_POOL,
    description=(
        "risk.subscription_scores (published as marts.subscription_risk by dbt), "
        "marts.subscription_risk_evaluation / subscription_risk_model: a "
        "calibrated gradient-boosting score of delinquency in the next 60 days for every active "
        "subscription, trained out of time on marts.risk_features, with its evaluation against "
        "a rule and a logistic regression (docs/metrics.md, docs/model_card.md). Too little "
        "history gives empty tables and the reason, not a failure."
    ),
)
def subscription_risk(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    with open_warehouse(settings) as con:
        report = risk.run(con)
    if report.reason:
        context.log.warning(f"Delinquency score not trained: {report.reason}")
    else:
        context.log.info(f"Scored {report.scored_rows} subscriptions ({report.model_version}).")
    return dg.MaterializeResult(
        metadata={
            "status": report.status,
            "reason": report.reason or "",
            "model_version": report.model_version,
            "scored_rows": report.scored_rows,
            "evaluation": dg.MetadataValue.json(report.evaluation),
            "top_features": dg.MetadataValue.json(report.top_features),
        }
    )


@dbt_assets(
    manifest=arrears_dbt.manifest_path,
    project=arrears_dbt,
    dagster_dbt_translator=ArrearsDbtTranslator(),
    pool=WRITER_POOL,
    name="risk_dbt",
    select=RISK_OUTPUT_MODELS,
)
def risk_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: dg.ResourceParam[Settings]
):
    """marts.subscription_risk and its data tests, from the scores the asset above wrote.
    On DuckDB whatever the engine: the score reads the marts from the DuckDB warehouse (a Spark
    build copies them there) and writes its table there (docs/spark.md)."""
    yield from dbt_build(context, dbt, settings, "duckdb")
