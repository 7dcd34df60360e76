"""The production alert policy: its defaults, and the state machine at each of its boundaries.

Every other alerting test passes an explicit policy, so these are the tests that notice a changed
default (a 1-hour cooldown would announce every flap of a flapping rate as a new alert).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orchestration.alerting.state import AlertPolicy, reconcile
from orchestration.alerting.store import DEFAULT_POLICY
from orchestration.config import load_settings
from orchestration.defs.alerting.assets import alert_policy
from tests.alerting.conftest import incident

PRODUCTION = alert_policy(load_settings({}))
NOW = datetime(2026, 3, 10, 4)
ENDED = datetime(2026, 3, 4, 17)  # the first incident is back to normal from 17:00


def test_production_policy_defaults():
    expected = AlertPolicy(cooldown=timedelta(hours=3), notify_lookback=timedelta(hours=24))
    assert expected == PRODUCTION, "alert_policy(load_settings({})): cooldown 3 h, look-back 24 h"
    assert expected == DEFAULT_POLICY, "sync_alerts' default policy: cooldown 3 h, look-back 24 h"


def run(alerts, incidents, watermark):
    changed, events = reconcile(alerts, incidents, watermark=watermark, now=NOW, policy=PRODUCTION)
    merged = {a.alert_id: a for a in alerts} | {a.alert_id: a for a in changed}
    return sorted(merged.values(), key=lambda a: a.alert_id), [
        (e.alert_id, e.event) for e in events
    ]


@pytest.mark.parametrize(
    ("restart", "joins"),
    [
        (timedelta(hours=2), True),  # a flap inside the cooldown
        (timedelta(hours=3), True),  # exactly the cooldown: still the same incident
        (timedelta(hours=3, minutes=1), False),  # just past it: a new alert
    ],
    ids=["2h", "3h", "3h01"],
)
def test_cooldown_boundary_a_flap_joins_the_alert_or_opens_a_new_one(restart, joins):
    first = incident(is_open=False, ended_at=ENDED)
    alerts, events = run([], [first], ENDED + timedelta(hours=1))
    assert events == [("inc-adyen-1", "opened"), ("inc-adyen-1", "closed")], (
        "1 h after the close the alert is resolving, not resolved (3 h cooldown)"
    )

    second = incident(
        incident_id="inc-adyen-2", started_at=ENDED + restart,
        last_window_end=ENDED + restart + timedelta(hours=1),
    )  # fmt: skip
    alerts, events = run(alerts, [first, second], ENDED + restart + timedelta(hours=1))
    if joins:
        assert events == [("inc-adyen-1", "reopened")], f"a flap {restart} after the close joins"
        assert [(a.alert_id, a.incident_ids, a.status) for a in alerts] == [
            ("inc-adyen-1", ("inc-adyen-1", "inc-adyen-2"), "open")
        ]
    else:
        assert events == [("inc-adyen-2", "opened"), ("inc-adyen-1", "resolved")], (
            f"a new incident {restart} after the close is a new alert"
        )
        assert [(a.alert_id, a.status) for a in alerts] == [
            ("inc-adyen-1", "resolved"),
            ("inc-adyen-2", "open"),
        ]


@pytest.mark.parametrize(
    ("watermark", "status", "event"),
    [
        (ENDED + timedelta(hours=2, minutes=59), "resolving", "closed"),
        (ENDED + timedelta(hours=3), "resolved", "resolved"),
    ],
    ids=["2h59", "3h"],
)
def test_cooldown_boundary_a_closed_incident_resolves_after_3_quiet_hours(watermark, status, event):
    alerts, events = run([], [incident(is_open=False, ended_at=ENDED)], watermark)
    assert events == [("inc-adyen-1", "opened"), ("inc-adyen-1", event)]
    assert [a.status for a in alerts] == [status], f"quiet for {watermark - ENDED}"


@pytest.mark.parametrize(
    ("age", "event"),
    [(timedelta(hours=24), "opened"), (timedelta(hours=24, minutes=1), "backfilled")],
    ids=["24h", "24h01"],
)
def test_notify_lookback_boundary_older_history_is_backfilled_silently(age, event):
    watermark = datetime(2026, 3, 6, 12)
    old = incident(
        is_open=False, started_at=watermark - age - timedelta(hours=2),
        last_window_end=watermark - age, ended_at=watermark - age,
    )  # fmt: skip
    alerts, events = run([], [old], watermark)
    assert events == [("inc-adyen-1", event), ("inc-adyen-1", "resolved")], f"ended {age} ago"
    assert [a.notify for a in alerts] == [event == "opened"]
