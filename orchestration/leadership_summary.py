"""The weekly leadership summary: the headline KPIs of the published warehouse and their change
over the week, as one HTML page kept under the data folder and sent through the alert email
channel. Every figure is a documented mart column (or a sum of additive ones, combined the way
the mart's docs prescribe); this module only selects, compares and formats.

The Dagster schedule that runs it every Monday is `orchestration/defs/summary/`; the Overview
page offers the latest page for download.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.alerting.channels import AlertChannels, EmailChannel
from orchestration.config import Settings

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
FILE_PREFIX = "leadership-summary-"


@dataclass(frozen=True)
class Kpi:
    """One line of the summary: the value now, the one it is compared with, and how to read it.

    kind: money · pct (a 0-1 ratio; its change in percentage points) · count.
    `better` is "down" when a rise is bad news, "up" when good, "" when neither.
    """

    label: str
    value: float | None
    previous: float | None
    kind: str
    better: str
    basis: str  # what the value is, and what it is compared with


@dataclass(frozen=True)
class WeeklySummary:
    as_of: date  # the last day of the week summarised (the data's own clock)
    currency: str
    kpis: tuple[Kpi, ...]

    @property
    def week_start(self) -> date:
        return self.as_of - timedelta(days=6)

    def kpi(self, label: str) -> Kpi:
        return next(k for k in self.kpis if k.label == label)


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    return con.execute(sql, params or []).fetchone() or ()


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def read_summary(con: duckdb.DuckDBPyConnection) -> WeeklySummary:
    """The week to the as-of date, against the week before, from the published marts."""
    (as_of,) = _one(con, "select max(as_of)::date from marts.monitoring_status")
    (currency,) = _one(con, "select any_value(reporting_currency) from marts.collections_monthly")
    week_ago = as_of - timedelta(days=7)
    kpis: list[Kpi] = []

    # Balances at the end of the as-of day and of the same weekday a week earlier, summed over
    # every segment; the delinquency rate from the sums (receivables_daily's own combination).
    def balances(day: date) -> tuple:
        return _one(
            con,
            """
            select sum(open_receivables_reporting), sum(past_due_reporting),
                   sum(past_due_reporting) / nullif(sum(open_receivables_reporting), 0),
                   sum(revenue_at_risk_reporting), sum(delinquent_subscriptions)
            from marts.receivables_daily where date_day = ?
            """,
            [day],
        )

    now, before = balances(as_of), balances(week_ago)
    versus = f"end of {as_of:%d %b %Y} vs end of {week_ago:%d %b %Y}"
    for i, (label, kind, better) in enumerate(
        (
            ("Open receivables", "money", ""),
            ("Past-due amount", "money", "down"),
            ("Delinquency rate (by amount)", "pct", "down"),
            ("Revenue at risk (MRR)", "money", "down"),
            ("Subscriptions with a past-due invoice", "count", "down"),
        )
    ):
        kpis.append(Kpi(label, _float(now[i]), _float(before[i]), kind, better, versus))

    # Incidents by the day they started: this week's seven days against the seven before.
    this_week, last_week = _one(
        con,
        """
        select count(*) filter (where started_at >= ?::date and started_at < ?::date + 1),
               count(*) filter (where started_at >= ?::date - 7 and started_at < ?::date)
        from marts.incidents
        """,
        [as_of - timedelta(days=6), as_of, as_of - timedelta(days=6), as_of - timedelta(days=6)],
    )
    kpis.append(
        Kpi(
            "Incidents opened",
            float(this_week),
            float(last_week),
            "count",
            "down",
            f"started {as_of - timedelta(days=6):%d %b}–{as_of:%d %b} vs the 7 days before",
        )
    )

    invoices, owed = _one(
        con,
        "select count(*), coalesce(sum(amount_remaining_reporting), 0) "
        "from marts.recoveries_in_progress",
    )
    kpis.append(
        Kpi("Invoices in recovery", float(invoices), None, "count", "down", f"on {as_of:%d %b %Y}")
    )
    kpis.append(Kpi("Owed on them", float(owed), None, "money", "down", f"on {as_of:%d %b %Y}"))

    # Monthly KPIs: the latest complete month against the one before.
    def latest_two(sql: str) -> list[tuple]:
        return con.execute(sql).fetchall()

    months = latest_two(
        """
        select month_start, amount_failed_reporting, amount_recovered_reporting
        from marts.recovery_monthly where is_complete_month order by month_start desc limit 2
        """
    )
    churn = latest_two(
        """
        select month_start, involuntary_mrr_churn_rate
        from marts.collections_monthly where is_complete_month order by month_start desc limit 2
        """
    )
    first = latest_two(
        """
        select month_start,
               sum(first_attempts_failed) / nullif(sum(invoices_first_attempted), 0)
        from marts.first_attempt_failures_monthly where is_complete_month
        group by month_start order by month_start desc limit 2
        """
    )
    for rows, column, label, kind, better in (
        (months, 1, "Failed payments (amount)", "money", "down"),
        (months, 2, "Recovered (amount)", "money", "up"),
        (first, 1, "First-attempt failure rate", "pct", "down"),
        (churn, 1, "Involuntary MRR churn", "pct", "down"),
    ):
        if not rows:
            continue
        latest, earlier = rows[0], rows[1] if len(rows) > 1 else None
        kpis.append(
            Kpi(
                label,
                _float(latest[column]),
                None if earlier is None else _float(earlier[column]),
                kind,
                better,
                f"{latest[0]:%B %Y} (latest complete month)"
                + ("" if earlier is None else f" vs {earlier[0]:%B %Y}"),
            )
        )
    return WeeklySummary(as_of=as_of, currency=currency, kpis=tuple(kpis))


def value_text(kpi: Kpi, currency: str, value: float | None = None) -> str:
    """€1,234,567 / 3.1% / 1,234; "—" when there is nothing to show."""
    value = kpi.value if value is None else value
    if value is None:
        return "—"
    if kpi.kind == "money":
        symbol = _SYMBOLS.get(currency, f"{currency} ")
        return f"{'-' if value < 0 else ''}{symbol}{abs(value):,.0f}"
    if kpi.kind == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}"


def change_text(kpi: Kpi) -> str:
    """+0.4 pp for a rate, +12.5% for an amount or a count; "—" without a comparison."""
    if kpi.value is None or kpi.previous is None:
        return "—"
    if kpi.kind == "pct":
        return f"{(kpi.value - kpi.previous) * 100:+.1f} pp"
    if kpi.previous == 0:
        return "new" if kpi.value else "no change"
    return f"{(kpi.value / kpi.previous - 1) * 100:+.1f}%"


def _verdict(kpi: Kpi) -> str:
    """ "worse" / "better" / "" for the colour of the change."""
    if kpi.value is None or kpi.previous is None or not kpi.better or kpi.value == kpi.previous:
        return ""
    went_up = kpi.value > kpi.previous
    return "better" if went_up == (kpi.better == "up") else "worse"


def title(summary: WeeklySummary) -> str:
    return f"Arrears weekly summary: {summary.week_start:%d %b} – {summary.as_of:%d %b %Y}"


def render_text(summary: WeeklySummary, dashboard_url: str | None = None) -> str:
    lines = [title(summary), ""]
    for kpi in summary.kpis:
        change = change_text(kpi)
        lines.append(
            f"- {kpi.label}: {value_text(kpi, summary.currency)}"
            + (f" ({change}; {kpi.basis})" if change != "—" else f" ({kpi.basis})")
        )
    if dashboard_url:
        lines += ["", f"Dashboard: {dashboard_url}"]
    return "\n".join(lines) + "\n"


def render_html(summary: WeeklySummary, dashboard_url: str | None = None) -> str:
    """One self-contained page (inline styles: email clients drop stylesheets)."""
    colours = {"worse": "#D55E00", "better": "#0072B2", "": "#555555"}  # Okabe-Ito, as the app
    rows = []
    for kpi in summary.kpis:
        colour = colours[_verdict(kpi)]
        rows.append(
            "<tr>"
            f'<td style="padding:6px 12px">{html.escape(kpi.label)}</td>'
            f'<td style="padding:6px 12px;text-align:right;font-weight:600">'
            f"{html.escape(value_text(kpi, summary.currency))}</td>"
            f'<td style="padding:6px 12px;text-align:right">'
            f"{html.escape(value_text(kpi, summary.currency, kpi.previous) if kpi.previous is not None else '—')}</td>"
            f'<td style="padding:6px 12px;text-align:right;color:{colour}">'
            f"{html.escape(change_text(kpi))}</td>"
            f'<td style="padding:6px 12px;color:#555555;font-size:12px">{html.escape(kpi.basis)}</td>'
            "</tr>"
        )
    link = (
        f'<p><a href="{html.escape(dashboard_url)}">Open the dashboard</a></p>'
        if dashboard_url
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title(summary))}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;color:#222222;max-width:900px;margin:24px">
<h1 style="font-size:20px">{html.escape(title(summary))}</h1>
<p style="color:#555555">Data as of {summary.as_of:%d %b %Y}; amounts in {summary.currency}.
Company-wide: every plan, country, payment method and currency. Orange: worse, blue: better.</p>
<table style="border-collapse:collapse;font-size:14px">
<thead><tr style="border-bottom:1px solid #999999;text-align:left">
<th style="padding:6px 12px">KPI</th><th style="padding:6px 12px">Now</th>
<th style="padding:6px 12px">Before</th><th style="padding:6px 12px">Change</th>
<th style="padding:6px 12px">Period</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
{link}
</body></html>
"""


def write_summary(settings: Settings, page: str, summary: WeeklySummary) -> Path:
    """Keep the page under the data folder, one file per week (a re-run replaces its week's)."""
    settings.summaries_dir.mkdir(parents=True, exist_ok=True)
    path = settings.summaries_dir / f"{FILE_PREFIX}{summary.as_of:%Y-%m-%d}.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)  # a reader (the Overview download) never sees half a page
    return path


def latest_summary(settings: Settings) -> Path | None:
    """The newest summary page kept, if any (file names sort by date)."""
    pages = sorted(settings.summaries_dir.glob(f"{FILE_PREFIX}*.html"))
    return pages[-1] if pages else None


def send_summary(channels: AlertChannels, summary: WeeklySummary, page: str) -> bool:
    """Email the page through the alert email channel; False when email is not configured."""
    if not (channels.smtp_host and channels.email_to):
        return False
    EmailChannel(channels).send_email(
        title(summary), render_text(summary, channels.dashboard_url), html=page
    )
    return True
