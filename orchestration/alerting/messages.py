"""What a notification says: what, where, how big, since when, revenue affected, where to look.

Every number comes from the `marts.incidents` row as it was when the alert changed state; this
module only formats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "warning": ":warning:",
}
SEVERITY_COLOR = {"critical": "#d00000", "high": "#f48c06", "warning": "#ffba08"}
RESOLVED_COLOR = "#2d6a4f"

# The dashboard page that lists incidents and opens the one named by `?incident_id=` (Streamlit
# names a page's URL after its file, app_pages/fraud_alerts.py).
DASHBOARD_PAGE = "fraud_alerts"


@dataclass(frozen=True)
class Message:
    alert_id: str
    kind: str  # opened | resolved
    severity: str
    title: str
    text: str
    fields: tuple[tuple[str, str], ...]
    link: str | None
    query: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "fields": dict(self.fields),
            "link": self.link,
            "query": self.query,
        }

    def slack_payload(self) -> dict[str, Any]:
        """Slack incoming-webhook JSON; `text` is the fallback that every compatible tool shows."""
        color = RESOLVED_COLOR if self.kind == "resolved" else SEVERITY_COLOR.get(self.severity)
        mrkdwn = "\n".join(f"*{label}:* {value}" for label, value in self.fields)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{self.query}```"}},
        ]
        if self.link:
            blocks.insert(2, {"type": "section", "text": {"type": "mrkdwn", "text": self.link}})
        return {
            "text": self.title,
            "blocks": blocks,
            "attachments": [
                {
                    "color": color,
                    "fallback": self.title,
                    "fields": [
                        {"title": label, "value": value, "short": len(value) < 40}
                        for label, value in self.fields
                    ],
                    "footer": f"arrears alert {self.alert_id}",
                }
            ],
        }


def _ts(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _pct(value: Any) -> str:
    return "?" if value is None else f"{float(value):.1%}"


def _num(value: Any, digits: int = 0) -> str:
    return "?" if value is None else f"{float(value):,.{digits}f}"


def _revenue(value: Any, currency: str) -> str:
    return "n/a" if value is None else f"{_num(value, 2)} {currency}".strip()


def _how_big(incident: dict[str, Any]) -> str:
    unit = incident.get("value_unit")
    observed, expected = incident.get("observed_value"), incident.get("expected_value")
    # `events` is what marts.incidents counts: failures, cases or failed card tries.
    events, attempts = _num(incident.get("events")), _num(incident.get("attempts"))
    # Card-testing and dispute incidents have no score: say nothing rather than "score ?".
    peak = incident.get("peak_score")
    score = [] if peak is None else [f"score {_num(peak, 1)}"]
    if unit == "rate":
        details = [
            f"{events} of {attempts} attempts",
            f"peak {_pct(incident.get('peak_observed_value'))} in one "
            f"{incident.get('window_grain')}",
            *score,
        ]
        return f"{_pct(observed)} failing vs {_pct(expected)} expected ({'; '.join(details)})"
    if unit == "ratio":
        return (
            f"ratio {_pct(observed)} vs threshold {_pct(expected)} "
            f"({events} cases over {attempts} transactions)"
        )
    if incident.get("detector") == "card_testing":
        text = f"{_num(observed)} distinct cards tried, {events} of {attempts} attempts failed"
    else:
        text = f"{_num(observed)} vs {_num(expected, 1)} expected"
    return f"{text} ({score[0]})" if score else text


# Where on-call starts looking (marts.incidents, from int_incident_examples); absent for
# incidents without attempts behind them (network ratios).
EXAMPLE_FIELDS = (
    ("example_attempt_ids", "Example attempts"),
    ("example_customers", "Customers (masked)"),
    ("top_decline_codes", "Decline codes"),
    ("top_card_bins", "Top card BINs"),
    ("top_card_countries", "Issuing countries"),
)


def _examples(incident: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (label, str(incident[column])) for column, label in EXAMPLE_FIELDS if incident.get(column)
    )


def render(
    alert_id: str, kind: str, incident: dict[str, Any], dashboard_url: str | None
) -> Message:
    """The notification for an alert that `kind` ('opened' or 'resolved')."""
    severity = incident.get("severity") or "warning"
    what = str(incident.get("incident_type") or incident.get("detector")).replace("_", " ")
    where = f"{incident.get('segment_type')} = {incident.get('segment_value')}"
    if incident.get("segment_type") == "overall":
        where = "all payments"
    if kind == "resolved":
        since = f"{_ts(incident.get('started_at'))} → {_ts(incident.get('ended_at'))} (resolved)"
        title = f"RESOLVED [{severity.upper()}] {what} — {where}"
    else:
        ended = incident.get("ended_at")
        since = f"{_ts(incident.get('started_at'))}, " + (
            "still open" if incident.get("is_open") or ended is None else f"ended {_ts(ended)}"
        )
        title = f"[{severity.upper()}] {what} — {where}"
    currency = incident.get("reporting_currency") or ""
    link = None
    if dashboard_url:
        params = urlencode({"incident_id": incident.get("incident_id", alert_id)})
        link = f"{dashboard_url.rstrip('/')}/{DASHBOARD_PAGE}?{params}"
    fields = (
        ("What", f"{what} ({incident.get('metric')})"),
        ("Where", where),
        ("How big", _how_big(incident)),
        ("Since", since),
        ("Revenue affected", _revenue(incident.get("revenue_affected"), currency)),
        ("Severity", severity),
        *_examples(incident),
        ("Alert", alert_id),
    )
    query = str(
        incident.get("drill_query")
        or f"select * from marts.incidents where incident_id = '{alert_id}'"
    )
    body = "\n".join(f"{label}: {value}" for label, value in fields)
    body += ("\nDashboard: " + link if link else "") + f"\nQuery:\n  {query}\n"
    if incident.get("summary"):
        body = f"{incident['summary']}\n\n{body}"
    return Message(alert_id, kind, severity, title, body, fields, link, query)
