"""The semantic layer's expected_revenue_at_risk reads the score the risk step wrote, through the
dbt mart built after it (models/marts/risk/subscription_risk.sql), to the cent."""

import csv
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.config import DBT_PROJECT_DIR

MF = Path(sys.executable).with_name("mf")


def test_expected_revenue_at_risk_is_the_sum_of_the_scores(risk_history, tmp_path):
    warehouse, report = risk_history
    assert report.status == "scored"
    env = {
        **warehouse.settings.subprocess_env(),
        "ARREARS_PUBLISHED": str(warehouse.path),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    # mf reads dbt_project/target/semantic_manifest.json: parse writes it (catalog `arrears`, as
    # the pipeline's own parse does).
    parsed = subprocess.run(
        [str(MF.with_name("dbt")), "parse", "--quiet"], cwd=DBT_PROJECT_DIR, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    out = tmp_path / "result.csv"
    result = subprocess.run(
        [str(MF), "query", "--metrics", "expected_revenue_at_risk",
         "--group-by", "metric_time__day", "--csv", str(out)],
        cwd=DBT_PROJECT_DIR, env={**env, "DBT_TARGET": "published"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with out.open() as fh:
        [row] = list(csv.DictReader(fh))  # one scoring date: the as-of date
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
