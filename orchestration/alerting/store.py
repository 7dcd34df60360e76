"""Alert state in the warehouse (`alerting.*`), the sync run and acknowledgements.

`sync_alerts` is what the Dagster asset runs after each build: it reads `marts.incidents`, moves
the alerts through the state machine, commits, then delivers what is due and records every try.
The warehouse is not held open while channels are being tried (a slow SMTP server must not keep
the file locked).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.alerting.channels import AlertChannels, DeliveryTry, deliver
from orchestration.alerting.messages import render
from orchestration.alerting.state import (
    Alert,
    AlertEvent,
    AlertPolicy,
    acknowledge,
    notifications_due,
    reconcile,
)
from orchestration.warehouse import connect

log = logging.getLogger(__name__)
DEFAULT_POLICY = AlertPolicy()

DDL = (
    "create schema if not exists alerting",
    """create table if not exists alerting.alerts (
        alert_id varchar primary key,       -- id of the incident that opened it
        detector varchar not null,
        incident_type varchar,
        segment_type varchar not null,
        segment_value varchar not null,
        incident_id varchar not null,       -- the incident it follows now
        incident_ids varchar[] not null,    -- every incident it has followed
        status varchar not null,            -- open | resolving | resolved
        severity varchar not null,
        notify boolean not null,            -- false: backfilled history, never announced
        cycle integer not null,             -- notification round (2+ after a late re-open)
        incident_started_at timestamp,
        incident_ended_at timestamp,
        revenue_affected double,
        opened_at timestamp not null,       -- wall-clock times of the alert's own life
        updated_at timestamp not null,
        resolved_at timestamp,
        acknowledged_at timestamp,
        acknowledged_by varchar,
        incident json,                      -- the incidents row as last seen
        open_notified_at timestamp,         -- first successful "opened" delivery (this cycle)
        resolve_notified_at timestamp       -- first successful "resolved" delivery (this cycle)
    )""",
    """create table if not exists alerting.alert_events (
        event_id varchar primary key,
        alert_id varchar not null,
        event varchar not null,
        occurred_at timestamp not null,
        incident_id varchar,
        severity varchar,
        details json
    )""",
    """create table if not exists alerting.notifications (
        notification_id varchar primary key,
        alert_id varchar not null,
        cycle integer not null,
        kind varchar not null,              -- opened | resolved
        channel varchar not null,           -- log | webhook | email
        try_number integer not null,        -- counts across runs for this alert, kind and channel
        tried_at timestamp not null,
        status varchar not null,            -- sent | failed
        error varchar                       -- secrets masked
    )""",
    """create table if not exists alerting.acknowledgements (
        ack_id varchar primary key,
        alert_id varchar not null,
        requested_by varchar not null,
        note varchar,
        requested_at timestamp not null,
        applied_at timestamp not null,
        outcome varchar not null            -- applied | unknown_alert
    )""",
)

ALERT_COLUMNS = (
    "alert_id", "detector", "incident_type", "segment_type", "segment_value", "incident_id",
    "incident_ids", "status", "severity", "notify", "cycle", "incident_started_at",
    "incident_ended_at", "revenue_affected", "opened_at", "updated_at", "resolved_at",
    "acknowledged_at", "acknowledged_by", "incident",
)  # fmt: skip
# The Alert fields stored as they are, each in the column of its name; the other columns are the
# incident's (type, start, end, revenue), the list of incident ids and the incident as JSON.
_STORED_AS_IS = (
    "alert_id", "detector", "segment_type", "segment_value", "incident_id", "status", "severity",
    "notify", "cycle", "opened_at", "updated_at", "resolved_at", "acknowledged_at",
    "acknowledged_by",
)  # fmt: skip


# When each alert was first announced, in its current cycle (a replaced row starts empty).
NOTIFIED_AT_UPDATE = """
update alerting.alerts as a set
    open_notified_at = (
        select min(n.tried_at) from alerting.notifications as n
        where n.alert_id = a.alert_id and n.cycle = a.cycle and n.kind = 'opened'
            and n.status = 'sent'
    ),
    resolve_notified_at = (
        select min(n.tried_at) from alerting.notifications as n
        where n.alert_id = a.alert_id and n.cycle = a.cycle and n.kind = 'resolved'
            and n.status = 'sent'
    )
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load_incidents(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], datetime | None]:
    """Current `marts.incidents` and the data watermark they were computed at."""
    incidents = _rows(con, "select * from marts.incidents order by started_at, incident_id")
    watermark = con.execute("select max(as_of) from marts.monitoring_status").fetchone()[0]
    return incidents, watermark


def load_alerts(con: duckdb.DuckDBPyConnection) -> list[Alert]:
    return [
        Alert(
            **{name: r[name] for name in _STORED_AS_IS},
            incident_ids=tuple(r["incident_ids"]),
            incident=json.loads(r["incident"]) if r["incident"] else {},
        )
        for r in _rows(con, "select * from alerting.alerts")
    ]


def _alert_row(a: Alert) -> tuple:
    """`a` as a row of alerting.alerts, in ALERT_COLUMNS' order."""
    row = {name: getattr(a, name) for name in _STORED_AS_IS} | {
        "incident_type": a.incident.get("incident_type"),
        "incident_ids": list(a.incident_ids),
        "incident_started_at": a.incident.get("started_at"),
        "incident_ended_at": a.incident.get("ended_at"),
        "revenue_affected": a.incident.get("revenue_affected"),
        "incident": json.dumps(a.incident, default=str),
    }
    return tuple(row[column] for column in ALERT_COLUMNS)


def _append(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert `rows` into the log table `alerting.<table>`, each under a fresh id (its first
    column): events and delivery tries are appended, never replaced."""
    if rows:
        placeholders = ", ".join("?" for _ in range(len(rows[0]) + 1))
        con.executemany(
            f"insert into alerting.{table} values ({placeholders})",
            [(str(uuid.uuid4()), *row) for row in rows],
        )


def save(con: duckdb.DuckDBPyConnection, alerts: list[Alert], events: list[AlertEvent]) -> None:
    rows = [_alert_row(a) for a in alerts]
    placeholders = ", ".join("?" for _ in ALERT_COLUMNS)
    con.execute("begin")
    try:
        if rows:
            con.executemany(
                f"insert or replace into alerting.alerts ({', '.join(ALERT_COLUMNS)}) "
                f"values ({placeholders})",
                rows,
            )
        _append(
            con,
            "alert_events",
            [
                (
                    e.alert_id,
                    e.event,
                    e.at,
                    e.incident_id,
                    e.severity,
                    json.dumps(e.details, default=str),
                )
                for e in events
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _delivery_history(con: duckdb.DuckDBPyConnection) -> tuple[set, Counter]:
    delivered, tries = set(), Counter()
    for alert_id, cycle, kind, channel, status, n in con.execute(
        "select alert_id, cycle, kind, channel, status, count(*) from alerting.notifications "
        "group by all"
    ).fetchall():
        tries[(alert_id, cycle, kind, channel)] += n
        if status == "sent":
            delivered.add((alert_id, cycle, kind, channel))
    return delivered, tries


@dataclass
class SyncReport:
    watermark: datetime | None = None
    events: Counter = field(default_factory=Counter)
    sent: int = 0
    failed: int = 0  # deliveries still failing after this run's tries (retried next run)
    failures: list[str] = field(default_factory=list)
    open_alerts: int = 0
    acknowledged: list[str] = field(default_factory=list)


def sync_alerts(
    warehouse_path: Path,
    channels: AlertChannels,
    policy: AlertPolicy = DEFAULT_POLICY,
    *,
    now: datetime | None = None,
    acknowledgements_path: Path | None = None,
    memory_limit: str | None = None,
) -> SyncReport:
    """One alerting run: reconcile alerts with `marts.incidents`, apply acknowledgement requests,
    then deliver what is due. `memory_limit` caps the warehouse connections like every other
    writer's (Settings.duckdb_memory_limit)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    report = SyncReport()
    with connect(warehouse_path, memory_limit=memory_limit) as con:
        ensure_schema(con)
        incidents, report.watermark = load_incidents(con)
        changed, events = reconcile(
            load_alerts(con), incidents, watermark=report.watermark, now=now, policy=policy
        )
        save(con, changed, events)
        report.events.update(e.event for e in events)
        report.acknowledged = _apply_acknowledgements(con, acknowledgements_path, now)
        alerts = load_alerts(con)
        delivered, tries_so_far = _delivery_history(con)
    report.open_alerts = sum(a.status != "resolved" for a in alerts)

    enabled = {c.name: c for c in channels.enabled()}
    records: list[tuple[Alert, str, DeliveryTry]] = []
    for alert, kind, channel_name in notifications_due(alerts, delivered, list(enabled)):
        message = render(alert.alert_id, kind, alert.incident, channels.dashboard_url)
        tries = deliver(
            enabled[channel_name],
            message,
            max_tries=channels.max_tries,
            backoff_seconds=channels.backoff_seconds,
            secrets=channels.secrets,
            first_try_number=tries_so_far[(alert.alert_id, alert.cycle, kind, channel_name)] + 1,
        )
        records.extend((alert, kind, t) for t in tries)
        if tries[-1].ok:
            report.sent += 1
        else:
            report.failed += 1
            report.failures.append(f"{channel_name} {kind} {alert.alert_id}: {tries[-1].error}")
            log.warning(
                "alert %s: %s delivery failed: %s", alert.alert_id, channel_name, tries[-1].error
            )
    with connect(warehouse_path, memory_limit=memory_limit) as con:
        _append(
            con,
            "notifications",
            [
                (a.alert_id, a.cycle, kind, t.channel, t.try_number, t.tried_at,
                 "sent" if t.ok else "failed", t.error)
                for a, kind, t in records
            ],
        )  # fmt: skip
        con.execute(NOTIFIED_AT_UPDATE)
    return report


def request_acknowledgement(
    requests_path: Path,
    alert_id: str,
    *,
    by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> str:
    """Ask for an alert to be acknowledged; the next alerting run applies it. Returns the ack id.

    Only the pipeline writes the warehouse (a person's command must not wait on, or block, a
    running build), so an acknowledgement is a line appended to a requests file.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ack_id = str(uuid.uuid4())
    line = {
        "ack_id": ack_id,
        "alert_id": alert_id,
        "by": by,
        "note": note,
        "requested_at": now.isoformat(),
    }
    requests_path.parent.mkdir(parents=True, exist_ok=True)
    with requests_path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    return ack_id


def _apply_acknowledgements(
    con: duckdb.DuckDBPyConnection, requests_path: Path | None, now: datetime
) -> list[str]:
    """Apply the acknowledgement requests not applied yet; returns the alert ids acknowledged."""
    if requests_path is None or not requests_path.exists():
        return []
    done = {r[0] for r in con.execute("select ack_id from alerting.acknowledgements").fetchall()}
    requests = [json.loads(line) for line in requests_path.read_text().splitlines() if line.strip()]
    requests = [r for r in requests if r["ack_id"] not in done]
    if not requests:
        return []
    alerts = {a.alert_id: a for a in load_alerts(con)}
    changed, events, records, acked = {}, [], [], []
    for r in requests:
        alert = changed.get(r["alert_id"]) or alerts.get(r["alert_id"])
        outcome = "unknown_alert" if alert is None else "applied"
        if alert is not None:
            alert, event = acknowledge(alert, by=r["by"], now=now, note=r.get("note"))
            changed[alert.alert_id] = alert
            events.append(event)
            acked.append(alert.alert_id)
        requested_at = datetime.fromisoformat(r["requested_at"])
        records.append(
            (r["ack_id"], r["alert_id"], r["by"], r.get("note"), requested_at, now, outcome)
        )
    save(con, list(changed.values()), events)
    con.executemany("insert into alerting.acknowledgements values (?, ?, ?, ?, ?, ?, ?)", records)
    return acked
