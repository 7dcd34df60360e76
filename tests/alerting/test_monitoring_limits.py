"""What failure-rate monitoring can judge, and that it says so (docs/alerting.md).

A tiny account with no history (tiny_account_fixture.py) must get no invented expected rate and
be reported as not evaluable; the fifteen-week history of detection_fixture.py is marked window by
window. Every number is worked out from the fixtures' rules.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import duckdb
import yaml

from orchestration.config import DBT_PROJECT_DIR
from tests.alerting import tiny_account_fixture as tiny

WINDOW_COLUMNS = (
    "attempts, failures, failure_rate, expected_rate, expected_rate_upper, lift, score, "
    "revenue_affected, is_anomalous, evaluation_status"
)


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_a_burst_without_history_gets_no_invented_expected_rate(monitored_tiny):
    [hour] = query(
        monitored_tiny,
        f"select {WINDOW_COLUMNS} from marts.failure_rates_hourly "
        "where segment_type = 'overall' and window_start = ?",
        [tiny.BURST_START],
    )
    # 15 of 15 declined. No history: no expected rate (it read 0.999), so no band, no lift, no
    # score and no revenue "beyond expected"; 15 attempts are below the floor of 20.
    assert hour == (15, 15, 1.0, None, None, None, None, None, False, "insufficient_volume")
    [day] = query(
        monitored_tiny,
        f"select {WINDOW_COLUMNS} from marts.failure_rates_daily where segment_type = 'overall'",
    )
    # The day holds 5 + 15 = 20 attempts: enough volume, but nothing to compare them with.
    assert day == (20, 15, 0.75, None, None, None, None, None, False, "no_baseline")


def test_every_window_of_the_tiny_account_is_marked(monitored_tiny):
    rows = query(
        monitored_tiny,
        "select 'hour', window_start, evaluation_status, count(*) from marts.failure_rates_hourly "
        "group by all union all "
        "select 'day', window_start, evaluation_status, count(*) from marts.failure_rates_daily "
        "group by all order by 1 desc, 2",
    )
    # 7 segments (overall, card, stripe, visa, FR, starter, soft) in each window.
    assert rows == [
        ("hour", tiny.NORMAL_START, "insufficient_volume", 7),
        ("hour", tiny.BURST_START, "insufficient_volume", 7),
        ("day", tiny.DAY, "no_baseline", 7),
    ]


def test_monitoring_status_says_the_tiny_account_was_not_evaluable(monitored_tiny):
    [row] = query(
        monitored_tiny,
        "select as_of, anomalies, incidents, evaluated_through, failure_rate_windows, "
        "windows_evaluated, windows_insufficient_volume, windows_no_baseline, "
        "min_window_attempts, evaluation_status, evaluation_note from marts.monitoring_status",
    )
    assert row == (
        tiny.BURST_END, 0, 0, None, 21, 0, 14, 7, 20, "not_evaluable",
        "Failure rates were not evaluated: none of the 21 windows could be judged (14 with "
        "fewer than 20 attempts and 7 without a baseline yet). No anomaly among them means none "
        "could be found, not that none happened.",
    )  # fmt: skip


def test_the_fifteen_week_history_is_judged_from_its_sixth_week(monitored):
    rows = query(
        monitored,
        "select 'hour', segment_value = 'tiny', evaluation_status, count(*), "
        "min(window_start), max(window_start) from marts.failure_rates_hourly "
        "where segment_type = 'processor' group by all union all "
        "select 'day', segment_value = 'tiny', evaluation_status, count(*), "
        "min(window_start), max(window_start) from marts.failure_rates_daily "
        "where segment_type = 'processor' group by all order by 1 desc, 2, 3",
    )
    # Data from Mon 2025-12-01. A level needs the 7-day blocks ending 1 and 8 days before (from
    # 2025-12-09); the pay-cycle factor, the same day of the previous month with a level (from
    # 2026-01-09). So 39 days without a baseline, then 66 judged. tiny's hours hold 5 attempts.
    first, judged, last_hour = (
        datetime(2025, 12, 1),
        datetime(2026, 1, 9),
        datetime(2026, 3, 15, 23),
    )
    assert rows == [
        ("hour", False, "evaluated", 2 * 66 * 24, judged, last_hour),
        ("hour", False, "no_baseline", 2 * 39 * 24, first, datetime(2026, 1, 8, 23)),
        ("hour", True, "insufficient_volume", 105 * 24, first, last_hour),
        ("day", False, "evaluated", 2 * 66, judged, datetime(2026, 3, 15)),
        ("day", False, "no_baseline", 2 * 39, first, datetime(2026, 1, 8)),
        ("day", True, "evaluated", 66, judged, datetime(2026, 3, 15)),
        ("day", True, "no_baseline", 39, first, datetime(2026, 1, 8)),
    ]  # fmt: skip
    # No window without a baseline carries an expected rate or a score.
    assert query(
        monitored,
        "select count(*) from marts.failure_rates_hourly where expected_rate is null "
        "and (expected_rate_upper is not null or score is not null or revenue_affected is not null)",
    ) == [(0,)]


def test_monitoring_status_counts_the_judged_windows_of_the_history(monitored):
    [row] = query(
        monitored,
        "select evaluated_through, failure_rate_windows, windows_evaluated, "
        "windows_insufficient_volume, windows_no_baseline, evaluation_status, evaluation_note "
        "from marts.monitoring_status",
    )
    # 13 segments (overall, card, 3 processors, 2 brands, 3 countries, 2 plans, soft), each with
    # attempts in all 2,520 hours and 105 days; only tiny's hours are under 20 attempts.
    hours, days = 13 * 2520, 13 * 105
    evaluated = 12 * 66 * 24 + 13 * 66
    no_baseline = 12 * 39 * 24 + 13 * 39
    assert (hours + days, evaluated, 2520, no_baseline) == (34125, 19866, 2520, 11739)
    assert row == (
        datetime(2026, 3, 16), 34125, 19866, 2520, 11739, "partly_evaluated",
        "Failure rates: 19,866 of 34,125 windows evaluated; 2,520 with fewer than 20 attempts "
        "and 11,739 without a baseline yet could not raise an alert on their own.",
    )  # fmt: skip


def test_the_volume_floor_follows_its_definition():
    """dbt_project.yml: the fewest attempts in which a window whose every attempt failed reaches
    the alert bar against an expected rate of one half."""
    variables = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    bar = 10.0 ** -variables["failure_rate_min_score"]
    floor = variables["failure_rate_min_attempts"]
    assert 0.5**floor <= bar < 0.5 ** (floor - 1)
    assert floor == math.ceil(variables["failure_rate_min_score"] / math.log10(2)) == 20
