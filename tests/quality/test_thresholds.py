"""The raw checks' production thresholds (QualityConfig()), stated, and the time-based ones at their
boundaries with the defaults (the volume ratios are at theirs in test_raw_checks.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from data_quality.core import QualityConfig
from data_quality.raw import raw_checks
from data_quality.runner import run_checks
from tests.quality.fixtures import NOW, build_clean_raw, insert


def test_quality_config_defaults():
    # docs/data_quality.md documents each of these.
    assert QualityConfig() == QualityConfig(
        reference_time=None,  # the wall clock
        volume_window=10,
        volume_load_gap=dt.timedelta(minutes=10),
        volume_min_baseline_rows=100,
        volume_min_ratio=0.1,
        volume_max_ratio=10.0,
        freshness_max_age_hours={"invoices": 48.0, "payment_attempts": 48.0},
        decline_recent_days=7,
        drift_z=3.0,
        drift_min_shift=0.02,
        drift_min_baseline=50,
        amount_tolerance=0.005,
    ), "QualityConfig() defaults changed; update docs/data_quality.md and this test together"


@pytest.fixture
def con():
    con = duckdb.connect()
    build_clean_raw(con)
    yield con
    con.close()


def failed(con, entity: str, name: str, reference_time: dt.datetime) -> str | None:
    [check] = [c for c in raw_checks() if c.asset == ("raw", entity) and c.name == name]
    [result] = run_checks(con, [check], QualityConfig(reference_time=reference_time))
    return None if result.passed else result.message


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (dt.timedelta(hours=42), None),  # newest record (Mar 31 06:00) exactly 48 h old
        (
            dt.timedelta(hours=42, seconds=36),
            "raw.invoices.freshness failed: age_hours = 48.01 (expected age_hours ≤ 48).",
        ),
    ],
    ids=["48h", "48h00m36s"],
)
def test_freshness_boundary_48_hours(con, after, message):
    assert failed(con, "invoices", "freshness", NOW + after) == message


@pytest.mark.parametrize(
    ("ahead", "message"),
    [
        (dt.timedelta(hours=24), None),
        (
            dt.timedelta(hours=24, minutes=1),
            "raw.customers.ranges failed: updated_in_future = 1 "
            "(expected updated_in_future = 0): c2.",
        ),
    ],
    ids=["24h", "24h01"],
)
def test_future_slack_boundary_24_hours(con, ahead, message):
    updated = NOW + ahead
    version = dict(customer_id="c2", email="b@x.io", name="Bob", country="FR",
                   verification_status="unverified", created_at="2026-01-02",
                   updated_at=updated.isoformat(sep=" "))  # fmt: skip
    insert(con, "customers", [version], "customers/ahead.csv")
    assert failed(con, "customers", "ranges", NOW) == message
