"""Alert quality: the benchmark's scoring, and the shared sample build scored against its truth."""

from __future__ import annotations

from datetime import datetime, timedelta

from benchmarks.alert_quality import Alert, Truth, load_alerts, load_truth, matches, score

T = datetime(2026, 3, 4, 10)


def alert(detector, segment_type, segment_value, start, end, detected=None):
    alert_id = f"{detector}:{segment_value}:{start:%d%H%M}"
    return Alert(alert_id, detector, segment_type, segment_value, start, end, detected or end)


def test_scoring_counts_matches_by_type_segment_and_time():
    truths = [
        Truth("processor_outage", "stripe", T, T + timedelta(hours=3)),
        Truth("issuer_spike", "DE", T, T + timedelta(hours=20)),
        Truth("card_testing", "cus_1", T, T + timedelta(minutes=15)),
    ]
    alerts = [
        # Right processor, overlapping, detected at the end of its first hour.
        alert(
            "failure_rate", "processor", "stripe", T, T + timedelta(hours=2), T + timedelta(hours=1)
        ),
        # Wrong country: a false alert, and DE is missed.
        alert("failure_rate", "card_country", "FR", T, T + timedelta(days=1)),
        # Card testing seen through a device, detected 2 minutes in.
        alert(
            "card_testing", "device", "dev_9", T, T + timedelta(minutes=9), T + timedelta(minutes=2)
        ),
        # A collateral segment that attribution should have explained: counted, and false.
        alert("failure_rate", "overall", "all", T, T + timedelta(hours=1)),
        # Right processor, but a week later: false.
        alert(
            "failure_rate",
            "processor",
            "stripe",
            T + timedelta(days=7),
            T + timedelta(days=7, hours=1),
        ),
        # The same card-testing attack alerted again later (a repeat): false.
        alert(
            "card_testing",
            "customer",
            "cus_1",
            T + timedelta(minutes=9),
            T + timedelta(minutes=14),
            T + timedelta(minutes=10),
        ),  # fmt: skip
    ]
    s = score([(truths, alerts)])
    assert (s["processor_outage"].recall, s["processor_outage"].precision) == (1.0, 0.5)
    assert s["processor_outage"].delays == [timedelta(hours=1)]
    assert (s["issuer_spike"].recall, s["issuer_spike"].precision) == (0.0, 0.0)
    assert (s["card_testing"].recall, s["card_testing"].delays) == (1.0, [timedelta(minutes=2)])
    assert (s["card_testing"].alerts, s["card_testing"].true_alerts) == (2, 1)
    assert (s["other"].alerts, s["other"].true_alerts) == (1, 0)
    assert s["dispute_spike"].recall is None and s["dispute_spike"].precision is None
    assert not matches(alerts[0], truths[1])


def test_the_sample_builds_alerts_match_its_ground_truth(sample_settings, ground_truth_path):
    """The real generator and pipeline: the card-testing attack (visible at any size) is alerted,
    and every alert of the sample corresponds to an injected incident."""
    truths = load_truth(ground_truth_path)
    alerts = load_alerts(sample_settings.published_path)
    [attack] = [t for t in truths if t.type == "card_testing"]
    found = [a for a in alerts if matches(a, attack)]
    assert len(found) == 1
    assert found[0].first_detected_at - attack.start <= timedelta(minutes=5)
    assert [a for a in alerts if not any(matches(a, t) for t in truths)] == []


def test_a_late_outages_first_hour_is_described_without_inventing_a_baseline():
    from benchmarks.alert_quality import _first_hour

    assert _first_hour((6, 6, 0.309, 2.3, False)) == (
        "6 of 6 attempts failed vs 30.9% expected, score 2.3 (not anomalous)"
    )
    # The marts leave expected rate and score null without history (they read 0.999 and 0).
    assert _first_hour((15, 15, None, None, False)) == (
        "15 of 15 attempts failed, no baseline yet (not judged)"
    )
    assert _first_hour((0, 0, None, 0.0, False)) == "no attempts"
