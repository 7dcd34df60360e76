"""The semantic layer's expected_revenue_at_risk reads the score the risk step wrote, through the
dbt mart built after it (models/marts/risk/subscription_risk.sql), to the cent."""

from decimal import Decimal

import duckdb

from tests.semantic import metricflow


def test_expected_revenue_at_risk_is_the_sum_of_the_scores(risk_history, tmp_path):
    warehouse, report = risk_history
    assert report.status == "scored"
    mf = metricflow(warehouse.settings, warehouse.path, tmp_path)
    # One scoring date: the as-of date.
    [row] = mf("--metrics", "expected_revenue_at_risk", "--group-by", "metric_time__day")
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        as_of, total = con.execute(
            "select any_value(scoring_date), sum(expected_revenue_at_risk_reporting) "
            "from marts.subscription_risk"
        ).fetchone()
    assert row["metric_time__day"][:10] == str(as_of)
    assert Decimal(row["expected_revenue_at_risk"]).quantize(Decimal("0.01")) == total
    assert total > 0


def test_the_mart_over_the_scores_is_built_after_the_risk_asset():
    # The dbt step that builds everything else cannot hold it: the scores do not exist yet then.
    import dagster as dg

    from orchestration.defs.risk.assets import RISK_KEY, risk_dbt_assets
    from orchestration.defs.transform.assets import arrears_dbt_assets

    mart = dg.AssetKey(["marts", "subscription_risk"])
    assert set(risk_dbt_assets.keys) == {mart} and mart not in arrears_dbt_assets.keys
    [spec] = risk_dbt_assets.specs
    assert [d.asset_key for d in spec.deps] == [RISK_KEY]
