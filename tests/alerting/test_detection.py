"""The detection models on a crafted history whose anomalies are known (detection_fixture.py).

dbt builds the monitoring marts once per session (conftest `monitored`). Expected values are worked out by hand from the fixture's rules.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.alerting.channels import AlertChannels
from orchestration.alerting.state import AlertPolicy
from orchestration.alerting.store import sync_alerts
from tests.alerting import detection_fixture as fx


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def incident_id(*parts: object) -> str:
    return hashlib.md5("|".join(str(p) for p in parts).encode()).hexdigest()


def test_exactly_the_injected_incidents_are_found_with_their_windows(monitored):
    rows = query(
        monitored,
        "select detector, segment_type, segment_value, started_at, ended_at, is_open "
        "from marts.incidents order by started_at",
    )
    assert rows == [
        ("failure_rate", "processor", "acme", fx.OLD_OUTAGE[1], fx.OLD_OUTAGE[2], False),
        ("failure_rate", "processor", "bolt", fx.BIG_SPIKE[1], fx.BIG_SPIKE[2], False),
        ("dispute_spike", "overall", "all", fx.DISPUTE_SPIKE_DAY, datetime(2026, 3, 6), False),
        # The attack is seen through its device, its customer and its BIN: one incident, named
        # after the device. Last attempt: card 30 at 29 × 16 s = 7 min 44 s.
        ("card_testing", "device", "dev-attack", fx.CARD_TESTING_START,
         fx.CARD_TESTING_START + timedelta(minutes=7, seconds=44), False),
        # Data ends at 23:39 (acme's 40th attempt of the hour): the spike is still on.
        ("failure_rate", "processor", "bolt", fx.OPEN_SPIKE[1], None, True),
    ]  # fmt: skip


def test_a_large_spike_is_one_incident_with_its_numbers(monitored):
    [row] = query(
        monitored,
        "select incident_id, window_count, attempts, events, observed_value, expected_value, "
        "revenue_affected, severity, first_detected_at from marts.incidents "
        "where segment_value = 'bolt' and not is_open",
    )
    # Two hours of 40 attempts with 30 failures; bolt's history is a flat 5 %. Revenue affected:
    # 60 failed × 30 EUR − 5 % × 80 × 30 EUR = 1800 − 120.
    assert row[0] == incident_id("failure_rate", "processor|bolt|hour", fx.BIG_SPIKE[1])
    assert row[1:4] == (2, 80, 60)
    assert row[4] == pytest.approx(0.75) and row[5] == pytest.approx(0.05)
    assert float(row[6]) == 1680.0
    assert row[7] == "critical"
    assert row[8] == fx.BIG_SPIKE[1] + timedelta(hours=1)  # at the end of its first hour


def test_collateral_segments_are_explained_by_the_processor_and_join_its_incident(monitored):
    rows = query(
        monitored,
        "select a.segment_type, a.explained_by, a.incident_id = i.incident_id "
        "from marts.anomalies a, marts.incidents i "
        "where a.window_start = ? and i.segment_value = 'bolt' and not i.is_open "
        "order by a.segment_type",
        [fx.BIG_SPIKE[1]],
    )
    # 15:00: overall 34 of 85 (4 acme + 30 bolt + 0 tiny) is anomalous too, but not without bolt.
    assert rows == [
        ("decline_class", "processor = bolt", True),
        ("overall", "processor = bolt", True),
        ("payment_method", "processor = bolt", True),
        ("processor", None, True),
    ]


def test_a_low_volume_spike_is_noise(monitored):
    [(attempts, failures, score, anomalous)] = query(
        monitored,
        "select attempts, failures, score, is_anomalous from marts.failure_rates_hourly "
        "where segment_type = 'processor' and segment_value = 'tiny' and window_start = ?",
        [fx.LOW_VOLUME_SPIKE[1]],
    )
    assert (attempts, failures, anomalous) == (5, 3, False)
    # Against tiny's 10 % (upper bound ≈ 16.7 %): 5 × KL(0.6 ‖ 0.167) / ln 10 ≈ 1.0.
    assert 0.5 < score < 1.5
    assert query(
        monitored, "select count(*) from marts.anomalies where segment_value = 'tiny'"
    ) == [(0,)]


def test_an_old_incident_does_not_inflate_a_later_weeks_baseline(monitored):
    rows = query(
        monitored,
        "select window_start, failures, is_screened_out, history_attempts, expected_rate "
        "from marts.failure_rates_hourly where segment_type = 'processor' "
        "and segment_value = 'acme' and window_start in (?, ?, ?) order by window_start",
        [fx.OLD_OUTAGE[1], datetime(2026, 2, 18, 10), datetime(2026, 3, 4, 10)],
    )
    # The outage hour (pooling the six Wednesdays before it) is screened out; four weeks later the
    # Wednesday-10:00 slot pools the five clean Wednesdays of its six (5 × 40 attempts, 4 failing)
    # and the 10 % level: exactly 10 %.
    # Had the outage been pooled: (5 × 4 + 32 + 50 × 0.1) / (240 + 50) = 19.7 %.
    assert [r[:4] for r in rows] == [
        (fx.OLD_OUTAGE[1], 32, True, 240),
        (datetime(2026, 2, 18, 10), 4, False, 200),
        (datetime(2026, 3, 4, 10), 4, False, 200),
    ]
    assert [r[4] for r in rows] == [pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.1)]


def test_card_testing_is_flagged_at_its_fifth_card_and_a_customer_changing_card_is_not(monitored):
    rows = query(
        monitored,
        "select entity_type, entity_value, attempts, failures, distinct_cards, cards_validated, "
        "detected_at, is_card_testing from marts.card_testing_bursts order by started_at, 1",
    )
    fifth_card = fx.CARD_TESTING_START + timedelta(seconds=4 * 16)
    assert rows == [
        ("card_bin", "497003", 2, 1, 2, 1, None, False),
        ("customer", "cus-3", 2, 1, 2, 1, None, False),
        ("device", "dev-cus3", 2, 1, 2, 1, None, False),
        ("card_bin", "411111", 30, 27, 30, 3, fifth_card, True),
        ("customer", "cus-attacker", 30, 27, 30, 3, fifth_card, True),
        ("device", "dev-attack", 30, 27, 30, 3, fifth_card, True),
    ]


def test_the_dispute_spike_day_against_a_flat_baseline(monitored):
    [row] = query(
        monitored,
        "select disputes, expected_disputes, is_screened_out, is_anomalous from marts.disputes_daily "
        "where is_anomalous",
    )
    assert row == (12, 1.0, True, True)


def test_network_ratios_use_each_networks_own_denominator(monitored):
    rows = query(
        monitored,
        "select program, month_start, level, cases, transactions, is_reached "
        "from marts.dispute_network_ratios where month_start = '2026-02-01' order by 1, 3",
    )
    # VAMP, February: one dispute a day on a visa acme payment (28), over February's successful
    # visa billing payments: per hour 18 acme + 19 bolt, per day 60 tiny (3 visa slots an hour,
    # one failing every other hour); minus bolt's spike (2 h × 14) and tiny's (1).
    visa_feb = 28 * 24 * (18 + 19) + 28 * 60 - 2 * 14 - 1
    # ECP, February: no chargeback on mastercard; the denominator is JANUARY's mastercard
    # payments: per hour 18 acme + 19 bolt + per day 48 tiny (2 slots an hour, i = 1, 3), less
    # acme's outage (2 h × 14 extra failures among its mastercard slots i = 5..31).
    mastercard_jan = 31 * 24 * (18 + 19) + 31 * 48 - 2 * 14
    assert rows == [
        ("mastercard_ecp", datetime(2026, 2, 1), "early_warning", 0, mastercard_jan, False),
        ("mastercard_ecp", datetime(2026, 2, 1), "excessive", 0, mastercard_jan, False),
        ("mastercard_ecp", datetime(2026, 2, 1), "high_excessive", 0, mastercard_jan, False),
        ("visa_vamp", datetime(2026, 2, 1), "excessive", 28, visa_feb, False),
    ]


def test_the_incidents_table_feeds_the_alerting_state_machine(monitored, tmp_path):
    # The alerting tables go into a copy: the session's warehouse stays as dbt left it.
    warehouse = tmp_path / "copy.duckdb"
    warehouse.write_bytes(monitored.read_bytes())
    report = sync_alerts(
        warehouse,
        AlertChannels(log_path=tmp_path / "alerts.log"),
        AlertPolicy(cooldown=timedelta(hours=2), notify_lookback=timedelta(hours=24)),
        now=datetime(2026, 3, 16, 0, 5),
    )
    # Only the open bolt spike is announced; the four older incidents are history (backfilled).
    assert report.sent == 1 and report.events == {"opened": 1, "backfilled": 4, "resolved": 4}
    lines = (tmp_path / "alerts.log").read_text().splitlines()
    assert (
        len(lines) == 1
        and '"title": "[CRITICAL] failure rate spike \\u2014 processor = bolt"' in lines[0]
    )
