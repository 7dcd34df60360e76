"""The MetricFlow semantic layer answers `mf query` on the golden warehouse with the marts' numbers
(worked out by hand in test_golden.py), through the read-only `published` profile target."""

import shutil

import pytest

from orchestration.config import load_settings
from tests.semantic import metricflow


@pytest.fixture(scope="module")
def mf(golden_warehouse, tmp_path_factory):
    root = tmp_path_factory.mktemp("mf")
    published = root / "arrears.duckdb"
    shutil.copy(golden_warehouse.path, published)
    settings = load_settings(
        {"ARREARS_WAREHOUSE": str(published), "ARREARS_PUBLISHED": str(published)}
    )
    return metricflow(settings, published, root)


def test_delinquency_metrics_by_day(mf):
    rows = mf(
        "--metrics", "delinquency_rate,delinquency_rate_subscriptions,revenue_at_risk",
        "--group-by", "metric_time__day", "--start-time", "2026-04-30", "--end-time", "2026-04-30",
    )  # fmt: skip
    [row] = rows
    # Cents of the marts: S07 x 3 and S10 past due (1800) of 1888.84 open (S09's April invoice,
    # 100 USD / 1.1605 = 86.17, and its three 1.05 USD invoices, 1.05 / 1.1760 = 0.89 each, at
    # the ECB rates of their issue dates, are current).
    assert float(row["delinquency_rate"]) == pytest.approx(1800 / 1888.84, abs=1e-6)
    assert float(row["delinquency_rate_subscriptions"]) == pytest.approx(2 / 9)
    assert float(row["revenue_at_risk"]) == 300


def test_monthly_metrics(mf):
    rows = {
        r["metric_time__month"][:10]: r
        for r in mf(
            "--metrics",
            "dso,involuntary_churn_rate,recovery_rate,recovered_revenue,failure_rate",
            "--group-by",
            "metric_time__month",
        )  # fmt: skip
    }
    feb, mar = rows["2026-02-01"], rows["2026-03-01"]
    # Over the 2-decimal figures of collections_monthly (billed 1100 + S09's 100 USD at the ECB
    # rate of Friday 2026-01-30 for Sunday Feb 1, 1.1919: 83.90 -> 1183.90).
    assert float(feb["dso"]) == pytest.approx(700 / 1183.90 * 28, abs=1e-6)
    assert float(mar["involuntary_churn_rate"]) == pytest.approx(1 / 9)
    # Recovery by month of entering recovery: February 2 of 5 (S03, S08) within 60 days.
    assert float(feb["recovery_rate"]) == pytest.approx(0.4)
    assert float(feb["recovered_revenue"]) == 300
    # February attempts: S01, S02, S04, S09 one success each; S03 fail, fail, success; S05 four
    # failures; S06 one; S07 three; S08 two -> 12 failures out of 17.
    assert float(feb["failure_rate"]) == pytest.approx(12 / 17)
