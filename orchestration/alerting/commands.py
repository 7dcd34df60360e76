"""`arrears alerts list|ack`: the on-call person's side of alerting.

Reads come from the published warehouse (never the pipeline's file); an acknowledgement is a
request that the next alerting run applies (only the pipeline writes the warehouse).
"""

from __future__ import annotations

import argparse
import getpass

import duckdb

from orchestration.alerting.channels import acknowledgements_path
from orchestration.alerting.store import request_acknowledgement
from orchestration.config import Settings
from orchestration.publish import open_published


def add_alerts_parser(sub: argparse._SubParsersAction) -> None:
    alerts = sub.add_parser("alerts", help="List and acknowledge alerts.")
    commands = alerts.add_subparsers(dest="alerts_command", required=True)
    listing = commands.add_parser("list", help="Alerts not yet resolved (--all: every alert).")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(func=list_alerts)
    ack = commands.add_parser("ack", help="Acknowledge an alert (applied by the next build).")
    ack.add_argument("alert_id", help="Alert id, or a unique prefix of it.")
    ack.add_argument("--by", default=getpass.getuser(), help="Who is on it (default: you).")
    ack.add_argument("--note", help="What is being done.")
    ack.set_defaults(func=ack_alert)


def _published_alerts(settings: Settings, where: str = "true") -> list[tuple]:
    try:
        with open_published(settings.published_path, settings.duckdb_memory_limit) as con:
            return con.execute(
                "select alert_id, status, severity, detector, segment_type, segment_value, "
                "incident_started_at, acknowledged_by from alerting.alerts "
                f"where {where} order by incident_started_at desc"
            ).fetchall()
    except (FileNotFoundError, duckdb.CatalogException):
        return []  # nothing published yet, or no alert ever raised


def list_alerts(args: argparse.Namespace, settings: Settings) -> int:
    rows = _published_alerts(settings, "true" if args.all else "status <> 'resolved'")
    for alert_id, status, severity, detector, seg_type, seg_value, started, acked_by in rows:
        acked = f"  ack: {acked_by}" if acked_by else ""
        print(
            f"{alert_id[:12]}  {status:<9} {severity:<8} {detector} {seg_type}={seg_value}  "
            f"since {started:%Y-%m-%d %H:%M}{acked}"
        )
    if not rows:
        print("No alerts." if args.all else "No open alerts.")
    return 0


def ack_alert(args: argparse.Namespace, settings: Settings) -> int:
    known = [r[0] for r in _published_alerts(settings)]
    matches = [a for a in known if a.startswith(args.alert_id)]
    if len(matches) > 1:
        print(f"'{args.alert_id}' matches {len(matches)} alerts; give more characters.")
        return 2
    if not matches and known:
        print(f"No alert '{args.alert_id}' in the published warehouse (see `arrears alerts list`).")
        return 2
    alert_id = matches[0] if matches else args.alert_id  # nothing published yet: take it as is
    request_acknowledgement(acknowledgements_path(settings), alert_id, by=args.by, note=args.note)
    print(f"Acknowledgement of {alert_id} by {args.by} recorded; the next build applies it.")
    return 0
