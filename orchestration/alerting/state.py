"""The alert state machine: today's incidents + yesterday's alerts → alerts, events, notifications due.

Pure functions on plain values, so every transition is tested without a warehouse.

    (new incident) ──► open ──(incident closed)──► resolving ──(cooldown passed)──► resolved
                        ▲                              │
                        └──(same segment again within the cooldown: "reopened", no message)

An alert is keyed by the incident that opened it; later incidents of the same detector and
segment that start within the cooldown after it ended join it instead of opening a new alert, so
a flapping rate gives one "opened" and one "resolved" notification, not one pair per flap.
An incident whose last window is older than `notify_lookback` when first seen (the first run on a
year of history) is recorded as "backfilled" and not notified.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

SEVERITY_RANK = {"warning": 1, "high": 2, "critical": 3}
NOTIFY_KINDS = ("opened", "resolved")


@dataclass(frozen=True)
class AlertPolicy:
    # Data time a closed incident must stay quiet before the alert is resolved and announced.
    cooldown: timedelta = timedelta(hours=3)
    # Incidents that ended longer ago than this (data time) when first seen are not announced.
    notify_lookback: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    detector: str
    segment_type: str
    segment_value: str
    incident_id: str  # the incident it currently follows
    incident_ids: tuple[str, ...]
    status: str  # open | resolving | resolved
    severity: str
    notify: bool
    cycle: int  # notification round: 2 if a resolved alert's incident came back (late data)
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    incident: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.detector, self.segment_type, self.segment_value)


@dataclass(frozen=True)
class AlertEvent:
    alert_id: str
    event: str  # opened | backfilled | reopened | severity_changed | closed | resolved | ...
    at: datetime
    incident_id: str | None
    severity: str | None
    details: dict[str, Any] = field(default_factory=dict)


def _key(incident: dict[str, Any]) -> tuple[str, str, str]:
    return (incident["detector"], incident["segment_type"], str(incident["segment_value"]))


def reconcile(
    alerts: list[Alert],
    incidents: list[dict[str, Any]],
    *,
    watermark: datetime | None,
    now: datetime,
    policy: AlertPolicy,
) -> tuple[list[Alert], list[AlertEvent]]:
    """Bring `alerts` in line with `incidents`; returns every alert that changed and the events.

    `watermark` is the latest data time the incidents were computed on (data time, not wall time),
    `now` the wall time recorded on events.
    """
    current = {a.alert_id: a for a in alerts}
    events: list[AlertEvent] = []
    by_incident_id = {i["incident_id"]: i for i in incidents}
    owner = {iid: a.alert_id for a in alerts for iid in a.incident_ids}

    def emit(alert: Alert, event: str, **details: Any) -> None:
        events.append(
            AlertEvent(alert.alert_id, event, now, alert.incident_id, alert.severity, details)
        )

    for incident in sorted(incidents, key=lambda i: (i["started_at"], i["incident_id"])):
        iid = incident["incident_id"]
        if iid in owner:
            alert = current[owner[iid]]
            if alert.status == "resolved" and incident.get("is_open") and alert.incident_id == iid:
                # Late data re-opened an incident that was announced resolved: a new round.
                alert = replace(alert, status="open", cycle=alert.cycle + 1, resolved_at=None)
                emit(alert, "reopened", reason="incident open again after resolution")
            current[alert.alert_id] = alert
            continue
        joined = _alert_to_join(list(current.values()), incident, by_incident_id, policy)
        if joined is not None:
            was_following = by_incident_id.get(joined.incident_id)
            alert = replace(
                joined,
                incident_id=iid,
                incident_ids=(*joined.incident_ids, iid),
                status="open",
                incident=incident,
                updated_at=now,
            )
            owner[iid] = alert.alert_id
            current[alert.alert_id] = alert
            reason = "replaces a withdrawn incident" if was_following is None else "within cooldown"
            emit(
                alert,
                "reopened" if joined.status == "resolving" else "incident_replaced",
                reason=reason,
            )
            continue
        notify = bool(incident.get("is_open")) or (
            watermark is None or incident["last_window_end"] >= watermark - policy.notify_lookback
        )
        alert = Alert(
            alert_id=iid,
            detector=incident["detector"],
            segment_type=incident["segment_type"],
            segment_value=str(incident["segment_value"]),
            incident_id=iid,
            incident_ids=(iid,),
            status="open",
            severity=incident["severity"],
            notify=notify,
            cycle=1,
            opened_at=now,
            updated_at=now,
            incident=incident,
        )
        owner[iid] = alert.alert_id
        current[alert.alert_id] = alert
        emit(alert, "opened" if notify else "backfilled")

    changed: dict[str, Alert] = {}
    before = {a.alert_id: a for a in alerts}
    for alert in current.values():
        new = _advance(alert, by_incident_id.get(alert.incident_id), watermark, now, policy, emit)
        old = before.get(alert.alert_id)
        if old is None or _state(old) != _state(new):
            changed[new.alert_id] = replace(new, updated_at=now)
    return list(changed.values()), events


def _state(alert: Alert) -> tuple[Any, ...]:
    # Compared as stored (JSON, str() for timestamps and decimals) so a reloaded alert is equal.
    snapshot = json.dumps(
        {k: v for k, v in alert.incident.items() if k != "as_of"}, default=str, sort_keys=True
    )
    return (
        alert.status,
        alert.severity,
        alert.incident_id,
        alert.cycle,
        alert.resolved_at,
        snapshot,
    )


def _alert_to_join(
    alerts: list[Alert],
    incident: dict[str, Any],
    incidents: dict[str, dict[str, Any]],
    policy: AlertPolicy,
) -> Alert | None:
    """An unresolved alert that this incident continues, if any.

    - Same detector and segment, starting within the cooldown after the alert's incident ended.
    - Or an alert whose incident vanished from the mart (late data moved its start, so its id
      changed — for card testing even its leading entity may change) and that overlaps in time.
    """
    for alert in sorted(alerts, key=lambda a: a.opened_at, reverse=True):
        if alert.status == "resolved" or alert.detector != incident["detector"]:
            continue
        followed = incidents.get(alert.incident_id)
        if followed is None:
            if _overlaps(alert.incident, incident):
                return alert
            continue
        ended = followed.get("ended_at")
        if (
            alert.key == _key(incident)
            and ended is not None
            and incident["started_at"] <= ended + policy.cooldown
        ):
            return alert
    return None


def _as_datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _overlaps(snapshot: dict[str, Any], incident: dict[str, Any]) -> bool:
    start, end = (
        _as_datetime(snapshot.get("started_at")),
        _as_datetime(snapshot.get("last_window_end")),
    )
    if start is None or end is None:
        return False
    return incident["started_at"] <= end and start <= incident["last_window_end"]


def _advance(
    alert: Alert,
    incident: dict[str, Any] | None,
    watermark: datetime | None,
    now: datetime,
    policy: AlertPolicy,
    emit: Callable[..., None],
) -> Alert:
    """Move an alert along open → resolving → resolved according to its incident."""
    if alert.status == "resolved":
        return replace(alert, incident=incident or alert.incident)
    if incident is None:
        resolved = replace(alert, status="resolved", resolved_at=now)
        emit(resolved, "resolved", reason="incident withdrawn (no longer anomalous after new data)")
        return resolved
    if incident["severity"] != alert.severity:
        direction = (
            "escalated"
            if SEVERITY_RANK.get(incident["severity"], 0) > SEVERITY_RANK.get(alert.severity, 0)
            else "deescalated"
        )
        alert = replace(alert, severity=incident["severity"])
        emit(alert, "severity_changed", direction=direction, severity=incident["severity"])
    alert = replace(alert, incident=incident)
    if incident.get("is_open") or incident.get("ended_at") is None:
        if alert.status != "open":
            alert = replace(alert, status="open")
        return alert
    quiet_until = incident["ended_at"] + policy.cooldown
    if watermark is None or watermark >= quiet_until:
        resolved = replace(alert, status="resolved", resolved_at=now)
        emit(resolved, "resolved", ended_at=str(incident["ended_at"]))
        return resolved
    if alert.status != "resolving":
        alert = replace(alert, status="resolving")
        emit(alert, "closed", ended_at=str(incident["ended_at"]), resolves_after=str(quiet_until))
    return alert


def acknowledge(
    alert: Alert, *, by: str, now: datetime, note: str | None = None
) -> tuple[Alert, AlertEvent]:
    acked = replace(alert, acknowledged_at=now, acknowledged_by=by, updated_at=now)
    event = AlertEvent(
        alert.alert_id,
        "acknowledged",
        now,
        alert.incident_id,
        alert.severity,
        {"by": by, "note": note},
    )
    return acked, event


def notifications_due(
    alerts: list[Alert], delivered: set[tuple[str, int, str, str]], channel_names: list[str]
) -> list[tuple[Alert, str, str]]:
    """(alert, kind, channel) still to deliver: 'opened' once per round, 'resolved' once resolved.

    `delivered` holds (alert_id, cycle, kind, channel) of successful deliveries; anything not in it
    is due again on every run until it goes through (a down channel is never silently dropped).
    """
    due = []
    for alert in sorted(alerts, key=lambda a: (a.opened_at, a.alert_id)):
        if not alert.notify:
            continue
        kinds = ["opened"] + (["resolved"] if alert.status == "resolved" else [])
        for kind in kinds:
            for channel in channel_names:
                if (alert.alert_id, alert.cycle, kind, channel) not in delivered:
                    due.append((alert, kind, channel))
    return due
