"""The power-curve benchmark (benchmarks/alert_quality.py) in miniature: one size, one seed, a
hand-built ground truth and alerts, and a hand-built clean history for the outage curve. It
checks the scorer's numbers, not the detector (the full runs are `alert_quality.py` itself)."""

from __future__ import annotations

import argparse
import math
from datetime import datetime, timedelta

import pytest

from benchmarks.alert_quality import (
    CUSUM_BAR,
    Alert,
    Hour,
    Truth,
    cusum_alarm_hour,
    cusum_increment,
    minimum_detectable,
    power_curve,
    recall_by_evidence,
    report,
)

T = datetime(2026, 9, 18)


def test_the_cusum_reimplementation_adds_up_by_hand():
    # p0 = 0.2 (the upper expected rate); odds x 4 -> p1 = 0.8 / 1.6 = 0.5. Four failures of five:
    # 4 ln(0.5 / 0.2) + ln(0.5 / 0.8) = 3.665163 - 0.470004 = 3.195159 nats.
    hour = Hour(attempts=5, failures=4, expected_rate=0.15, expected_rate_upper=0.2)
    assert cusum_increment(hour) == pytest.approx(3.195159, abs=1e-6)
    assert math.log(8760 * 100) == pytest.approx(CUSUM_BAR)  # 13.683 nats, dbt_project.yml
    # Four such hours hold 12.78 < 13.68, the fifth 15.98: the alarm is the window's 5th hour.
    quiet = Hour(5, 0, 0.15, 0.2)  # no failures: 5 ln(0.5 / 0.8) = -2.35, the statistic stays 0
    hours = [quiet] * 3 + [hour] * 6
    assert cusum_alarm_hour(hours, 3, 8) == 7
    assert cusum_alarm_hour(hours, 3, 6) is None
    # Without a baseline an hour adds nothing.
    assert cusum_increment(Hour(5, 5, None, None)) == 0.0


def test_the_outage_power_curve_on_a_thin_clean_history():
    """Three attempts an hour, none failing, expected 10 % (upper 12 %): an outage failing every
    attempt adds 3 ln(p1 / p0) = 3 x 1.078810 = 3.236 nats an hour (p1 = 0.48 / 1.36 = 0.3529),
    so 4 hours hold 12.95 < 13.68 and 6 hours 19.42: only the 6-hour one is alarmed, always.
    An oracle that knows the window tests 12 of 12 failures against 10 %: 1e-12 <= 1e-6."""
    hours = [Hour(3, 0, 0.1, 0.12)] * 200
    curve = power_curve(hours, trials=20)
    assert curve[(6, 1.0)] == (1.0, 1.0)
    assert curve[(4, 1.0)] == (0.0, 1.0)
    assert curve[(1, 1.0)] == (0.0, 0.0)  # 3 of 3 at 10 %: p = 1e-3, not even the oracle
    cusum = minimum_detectable(curve, 0)
    assert (cusum[1], cusum[2], cusum[4]) == (None, None, None)
    assert minimum_detectable(curve, 1)[1] is None


def _truths() -> list[Truth]:
    return [
        # 2 chargebacks in one day against 28 in the 28 days before (1 a day):
        # P(X >= 2 | 1) = 1 - 2/e = 0.2642 -> the p >= 1e-6 bucket.
        Truth(
            "dispute_spike", "all", T, T + timedelta(days=1),
            {"chargebacks_in_window": 2, "chargebacks_28_days_before": 28},
        ),
        # 20 of 20 failed against 10 % outside: p = 1e-20 -> the p < 1e-12 bucket.
        Truth(
            "processor_outage", "stripe", T + timedelta(days=3), T + timedelta(days=3, hours=2),
            {"attempts_in_window": 20, "failed_in_window": 20, "attempts_outside": 1000,
             "failed_outside": 100},
        ),
        # 7 of 8 against 10 %: p = 8 x 0.1^7 x 0.9 + 0.1^8 = 7.3e-7 -> the middle bucket.
        Truth(
            "issuer_spike", "DE", T + timedelta(days=6), T + timedelta(days=6, hours=8),
            {"attempts_in_window": 8, "failed_in_window": 7, "attempts_outside": 1000,
             "failed_outside": 100},
        ),
        Truth("card_testing", "cus_1", T + timedelta(days=9), T + timedelta(days=9, minutes=20)),
    ]  # fmt: skip


def _alerts() -> list[Alert]:
    outage = T + timedelta(days=3)
    testing = T + timedelta(days=9)
    return [
        Alert(
            "a1", "failure_rate", "processor", "stripe", outage, outage + timedelta(hours=2),
            outage + timedelta(hours=1),
        ),
        Alert(
            "a2", "card_testing", "device", "dev_1", testing, testing + timedelta(minutes=9),
            testing + timedelta(minutes=3),
        ),
        # Nothing was injected here: a false alert.
        Alert(
            "a3", "failure_rate", "processor", "adyen", T + timedelta(days=20),
            T + timedelta(days=20, hours=1), T + timedelta(days=20, hours=1),
        ),
    ]  # fmt: skip


def test_the_truths_fall_in_their_evidence_buckets():
    dispute, outage, issuer, _ = _truths()
    assert dispute.evidence_p == pytest.approx(1 - 2 / math.e)
    assert outage.evidence_p == pytest.approx(1e-20)
    assert issuer.evidence_p == pytest.approx(8 * 0.1**7 * 0.9 + 0.1**8)
    runs = [{"truth": _truths(), "alerts": _alerts()}]
    assert recall_by_evidence(runs, "processor_outage") == ["1/1", "–", "–"]
    assert recall_by_evidence(runs, "issuer_spike") == ["–", "0/1", "–"]
    assert recall_by_evidence(runs, "dispute_spike") == ["–", "–", "0/1"]


def test_the_report_of_one_size_and_seed():
    run = {
        "customers": 5_000, "seed": 1, "incidents": True, "attempts": 40_000,
        "generate_s": 1.0, "build_s": 60.0, "truth": _truths(), "alerts": _alerts(),
        "first_hours": {}, "hours": None, "messages": {},
    }  # fmt: skip
    clean = {
        "customers": 5_000, "seed": 5, "incidents": False, "attempts": 20_000,
        "generate_s": 0.5, "build_s": 30.0, "truth": [], "alerts": [], "first_hours": {},
        "hours": ("stripe", [Hour(3, 0, 0.1, 0.12)] * 200, 0.0), "messages": {},
    }  # fmt: skip
    args = argparse.Namespace(months=12, clean_months=6, typical_incidents=False)
    text = report(args, [run], [clean])
    assert "| 5,000 | processor_outage | 1/1 | 1/2 | 60 min | 60 min |" in text
    assert "| 5,000 | card_testing | 1/1 | 1/1 | 3 min | 3 min |" in text
    assert "| 5,000 | issuer_spike | 0/1 | 0/0 | – | – |" in text
    assert "| 5,000 | dispute_spike | 0/1 | 0/0 | – | – |" in text
    assert "| **all** | | **2/4** | **2/3** | | |" in text
    assert "| 5,000 | processor_outage | 1/1 | – | – |" in text
    assert "- 5,000 customers, clean data: 0 alert(s) in 6 month(s) (0.00 per clean month)." in text
    assert "- 5,000 customers, seed 1: failure_rate processor=adyen 2026-10-08 00:00" in text
    # The curve of the thin history: nothing but 6 hours of total failure is caught by the CUSUM.
    assert "| 5,000 | stripe | 3 | 1 h | none ≤ 100% | none ≤ 100% | max gap 0.0e+00 |" in text
    assert "| 5,000 | stripe | 3 | 6 h |" in text
