"""The alert state machine on its own: incidents in, alerts and events out."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestration.alerting.state import AlertPolicy, notifications_due, reconcile
from tests.alerting.conftest import incident

POLICY = AlertPolicy(cooldown=timedelta(hours=3), notify_lookback=timedelta(hours=24))
NOW = datetime(2026, 3, 10, 4)


def run(alerts, incidents, watermark):
    changed, events = reconcile(alerts, incidents, watermark=watermark, now=NOW, policy=POLICY)
    merged = {a.alert_id: a for a in alerts} | {a.alert_id: a for a in changed}
    return list(merged.values()), [(e.alert_id, e.event) for e in events]


def card_testing(incident_id, segment_type, segment_value, start, end, is_open=True):
    return incident(
        incident_id=incident_id, detector="card_testing", incident_type="card_testing",
        segment_type=segment_type, segment_value=segment_value, window_grain="burst",
        started_at=start, last_window_end=end, is_open=is_open,
        ended_at=None if is_open else end, severity="high",
    )  # fmt: skip


def test_an_incident_whose_start_moved_is_the_same_alert_even_under_another_entity():
    t = datetime(2026, 3, 10, 3)
    alerts, events = run(
        [], [card_testing("ct-1", "device", "dev-9", t, t + timedelta(minutes=5))], t
    )
    assert events == [("ct-1", "opened")]
    # Next run: an earlier burst of the same attack on its BIN became visible; the incident now
    # starts at 02:58 under the BIN (new id) and the old id is gone.
    moved = card_testing(
        "ct-2", "card_bin", "411111", t - timedelta(minutes=2), t + timedelta(minutes=9)
    )
    alerts, events = run(alerts, [moved], t + timedelta(minutes=9))
    assert events == [("ct-1", "incident_replaced")]
    [alert] = alerts
    assert (alert.alert_id, alert.incident_id, alert.status) == ("ct-1", "ct-2", "open")
    due = notifications_due(alerts, {("ct-1", 1, "opened", "log")}, ["log"])
    assert due == []  # nothing new to say


def test_an_incident_that_disappears_resolves_its_alert_with_one_message():
    alerts, _ = run([], [incident()], datetime(2026, 3, 4, 16))
    alerts, events = run(alerts, [], datetime(2026, 3, 4, 17))
    assert events == [("inc-adyen-1", "resolved")]
    assert [(a.alert_id, k) for a, k, _ in notifications_due(alerts, set(), ["log"])] == [
        ("inc-adyen-1", "opened"),
        ("inc-adyen-1", "resolved"),
    ]


def test_late_data_reopening_a_resolved_incident_starts_a_second_round():
    closed = incident(is_open=False, ended_at=datetime(2026, 3, 4, 17))
    alerts, _ = run([], [closed], datetime(2026, 3, 4, 21))
    assert alerts[0].status == "resolved"
    alerts, events = run(
        alerts, [incident(last_window_end=datetime(2026, 3, 4, 22))], datetime(2026, 3, 4, 22)
    )
    assert events == [("inc-adyen-1", "reopened")]
    [alert] = alerts
    assert (alert.status, alert.cycle) == ("open", 2)
    delivered = {("inc-adyen-1", 1, "opened", "log"), ("inc-adyen-1", 1, "resolved", "log")}
    assert [(k, a.cycle) for a, k, _ in notifications_due(alerts, delivered, ["log"])] == [
        ("opened", 2)
    ]


def test_severity_changes_are_recorded_but_not_announced():
    alerts, _ = run([], [incident(severity="high")], datetime(2026, 3, 4, 16))
    alerts, events = run(alerts, [incident(severity="critical")], datetime(2026, 3, 4, 17))
    assert events == [("inc-adyen-1", "severity_changed")]
    assert alerts[0].severity == "critical"
    assert notifications_due(alerts, {("inc-adyen-1", 1, "opened", "log")}, ["log"]) == []
