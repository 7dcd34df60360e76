"""Accumulated evidence: the hourly Bernoulli CUSUM of failure rates (failure_rates.yml).

Its bar follows from the false-alarm target; on an incident spread over thin hours
(thin_hours_fixture.py, built once per session) every increment, the statistic hour by hour and
the alarm are worked out by hand, and the old per-window rule is shown to find nothing there.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from orchestration.config import DBT_PROJECT_DIR
from tests.alerting import thin_hours_fixture as fx

HOURS_PER_YEAR = 8760
QUIET, INCIDENT_START, INCIDENT_END = fx.THIN_INCIDENT

# quiet's every hour: 5 attempts, expected 20 % (a flat history), its slot pooling the 6 previous
# weeks (30 attempts) and 50 pseudo-attempts: upper bound 0.2 + 2·√(0.2·0.8/80) = 0.289443.
P0 = 0.2 + 2 * math.sqrt(0.2 * 0.8 / 80)
# The odds × 4: p1 = 4·p0 / (1 + 3·p0) = 0.619677.
P1 = 4 * P0 / (1 + 3 * P0)
# 4 failures of 5: 4·ln(p1/p0) + ln((1−p1)/(1−p0)) = +2.419957 nats;
# 1 of 5 (normal): ln(p1/p0) + 4·ln((1−p1)/(1−p0)) = −1.738926 nats.
UP = 4 * math.log(P1 / P0) + math.log((1 - P1) / (1 - P0))
DOWN = math.log(P1 / P0) + 4 * math.log((1 - P1) / (1 - P0))


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def dbt_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def cusum_bar() -> float:
    return math.log(HOURS_PER_YEAR * dbt_vars()["failure_rate_cusum_years_per_false_alarm"])


def test_the_bar_follows_from_one_false_alarm_per_segment_per_hundred_years():
    # At most one restart per hourly window, each reaching h with probability ≤ e^-h: false
    # alarms per segment-year ≤ 8760·e^-h = 1/N.
    years = dbt_vars()["failure_rate_cusum_years_per_false_alarm"]
    h = cusum_bar()
    assert years == 100
    assert h == pytest.approx(13.6831, abs=1e-4)  # ln(876,000) nats
    assert HOURS_PER_YEAR * math.exp(-h) == pytest.approx(1 / years)
    assert dbt_vars()["failure_rate_cusum_odds_ratio"] == 4


def test_walds_bound_holds_on_a_simulated_null():
    """A restart of the CUSUM reaches h with probability ≤ e^-h when the rate is p0. Checked by
    simulation where crossings are common enough to count (h = 3: e^-3 = 0.050), with the
    fixture's hours (5 attempts, p0 = 0.289, odds × 4)."""
    rng = np.random.default_rng(7)
    failures = rng.binomial(5, P0, size=200_000)
    steps = failures * math.log(P1 / P0) + (5 - failures) * math.log((1 - P1) / (1 - P0))
    h, s, restarts, alarms = 3.0, 0.0, 0, 0
    for x in steps:
        if s == 0.0:
            restarts += 1
        s = max(0.0, s + x)
        if s >= h:  # an alarm; the statistic starts again
            alarms, s = alarms + 1, 0.0
    assert restarts > 100_000
    assert alarms / restarts <= math.exp(-h)
    assert alarms > 0  # the bound is not vacuous here


def test_an_incident_spread_over_thin_hours_adds_up_to_an_alarm(monitored_thin_hours):
    rows = query(
        monitored_thin_hours,
        "select window_start, attempts, failures, expected_rate, expected_rate_upper, "
        "cusum_increment, cusum, is_anomalous, anomaly_basis, evaluation_status "
        "from marts.failure_rates_hourly where segment_value = ? and window_start >= ? "
        "and window_start < ? order by window_start",
        [QUIET, INCIDENT_START - timedelta(hours=1), INCIDENT_START + timedelta(hours=15)],
    )
    starts = [INCIDENT_START + timedelta(hours=h) for h in range(-1, 15)]
    assert [r[0] for r in rows] == starts
    assert [(r[1], r[3], r[4]) for r in rows] == [(5, pytest.approx(0.2), pytest.approx(P0))] * 16
    # By hand: 0 before; +2.419957 for each of the six incident hours (14.519745 at the sixth,
    # the first at or above h = 13.683121: an alarm at 02:00–03:00); then −1.738926 for each
    # normal hour until it is back at 0 (at 11:00).
    expected, s = [], 0.0
    for start in starts:
        inside = INCIDENT_START <= start < INCIDENT_END
        s = max(0.0, s + (UP if inside else DOWN))
        expected.append((4 if inside else 1, UP if inside else DOWN, s))
    assert [(r[2], r[5], r[6]) for r in rows] == [
        (k, pytest.approx(x), pytest.approx(c, abs=1e-9)) for k, x, c in expected
    ]
    assert rows[6][6] == pytest.approx(14.519745, abs=1e-6) and rows[6][6] >= cusum_bar()
    assert rows[5][6] == pytest.approx(12.099787, abs=1e-6) and rows[5][6] < cusum_bar()
    assert (rows[-2][6], rows[-1][6]) == (pytest.approx(0.608340, abs=1e-6), 0.0)
    alarm = INCIDENT_START + timedelta(hours=5)
    assert [(r[0], r[8]) for r in rows if r[7]] == [(alarm, "cusum")]
    # The six thin hours were judged (they hold the alarm's evidence); the normal hours around
    # them are below the floor and could not alarm alone.
    assert [r[9] for r in rows] == (
        ["insufficient_volume"] + ["evaluated"] * 6 + ["insufficient_volume"] * 9
    )


def test_the_alarm_is_one_incident_over_the_true_window(monitored_thin_hours):
    rows = query(
        monitored_thin_hours,
        "select detector, segment_type, segment_value, started_at, ended_at, first_detected_at, "
        "window_count, attempts, events, severity from marts.incidents",
    )
    # The run's first hour is the change point: the incident starts at 21:00, is raised when
    # the sixth hour closes (03:00) and ends there (03:00–04:00 is normal again); 6 × 4 of 5.
    assert rows == [
        ("failure_rate", "processor", QUIET, INCIDENT_START, INCIDENT_END, INCIDENT_END, 6, 30,
         24, "critical"),
    ]  # fmt: skip


def test_the_old_per_window_rule_found_nothing_there(monitored_thin_hours):
    # No hour holds 20 attempts; none is even elevated alone: 5 × KL(0.8 ‖ 0.289443) / ln 10 =
    # 1.2155 < 1.3, so no stretch of elevated hours forms either.
    [(hours, max_attempts, max_score, elevated_alone)] = query(
        monitored_thin_hours,
        "select count(*), max(attempts), max(score), count(*) filter (where score >= 1.3) "
        "from marts.failure_rates_hourly where segment_value = ? and window_start >= ? "
        "and window_start < ?",
        [QUIET, INCIDENT_START, INCIDENT_END],
    )
    kl = 0.8 * math.log(0.8 / P0) + 0.2 * math.log(0.2 / (1 - P0))
    assert (hours, max_attempts, elevated_alone) == (6, 5, 0)
    assert max_score == pytest.approx(5 * kl / math.log(10)) == pytest.approx(1.2155, abs=1e-4)
    # Each day holds half of it: 3 × 4 + 21 × 1 = 33 of 120 against 0.2 + 2·√(0.16/770): score
    # 0.30, far from 6 — and no anomalous window of any kind but the CUSUM's alarm.
    days = query(
        monitored_thin_hours,
        "select window_start, attempts, failures, expected_rate_upper, score, is_anomalous "
        "from marts.failure_rates_daily where segment_value = ? and window_start in (?, ?) "
        "order by 1",
        [QUIET, datetime(2026, 2, 26), datetime(2026, 2, 27)],
    )
    upper = 0.2 + 2 * math.sqrt(0.16 / 770)
    q = 33 / 120
    day_score = 120 * (q * math.log(q / upper) + (1 - q) * math.log((1 - q) / (1 - upper)))
    assert [(d[1], d[2], d[5]) for d in days] == [(120, 33, False), (120, 33, False)]
    assert [(d[3], d[4]) for d in days] == [
        (pytest.approx(upper), pytest.approx(day_score / math.log(10)))
    ] * 2
    assert query(
        monitored_thin_hours,
        "select anomaly_basis, count(*) from marts.failure_rates_hourly where is_anomalous "
        "group by 1 union all "
        "select anomaly_basis, count(*) from marts.failure_rates_daily where is_anomalous "
        "group by 1",
    ) == [("cusum", 1)]


def test_a_clean_series_stays_at_zero(monitored_thin_hours):
    # Every other segment, and quiet outside the incident, lose evidence every hour: busy's
    # 4 of 40 and quiet's 1 of 5 are below their upper expected rates, so the statistic never
    # leaves 0 there (the mixed segments see quiet's 3 extra failures diluted in 45 attempts).
    rows = query(
        monitored_thin_hours,
        "select segment_type, segment_value, max(cusum) from marts.failure_rates_hourly "
        "where not (segment_value = ? and window_start >= ? and window_start < ?) group by all "
        "having max(cusum) > 0",
        [QUIET, INCIDENT_START, INCIDENT_START + timedelta(hours=14)],
    )
    assert rows == []
