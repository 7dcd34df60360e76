"""The weekly leadership summary on the session's sample warehouse: its figures are the marts',
its week-over-week changes are worked out right, and the Dagster job keeps the page under the
data folder, emails it to a real local SMTP server and Overview offers it."""

import dataclasses
from datetime import timedelta
from email import message_from_bytes, policy

import duckdb

from orchestration.config import AlertChannelSettings
from orchestration.defs.summary.jobs import (
    weekly_leadership_summary,
    weekly_leadership_summary_schedule,
)
from orchestration.leadership_summary import (
    Kpi,
    change_text,
    read_summary,
    render_html,
    value_text,
)
from orchestration.publish import open_published
from tests.alerting.conftest import SMTP_PASSWORD, SMTP_USER
from tests.dashboards.conftest import copy_settings, pointed_at, run_page


def _marts(settings, sql, params=()):
    with duckdb.connect(str(settings.published_path.resolve()), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_changes_are_worked_out_by_kind():
    """By hand: an amount 110 after 100 is +10.0%; a rate 0.26 after 0.59 is -33.0 percentage
    points (not -55.9%); a count from 0 is new; nothing to compare with is a dash."""
    assert change_text(Kpi("a", 110.0, 100.0, "money", "down", "")) == "+10.0%"
    assert change_text(Kpi("r", 0.26, 0.59, "pct", "down", "")) == "-33.0 pp"
    assert change_text(Kpi("c", 2.0, 0.0, "count", "down", "")) == "new"
    assert change_text(Kpi("c", 0.0, 0.0, "count", "down", "")) == "no change"
    assert change_text(Kpi("s", 14.0, None, "count", "down", "")) == "—"
    assert value_text(Kpi("m", 1234567.4, None, "money", "", ""), "EUR") == "€1,234,567"
    assert value_text(Kpi("p", 0.0663, None, "pct", "", ""), "EUR") == "6.6%"


def test_summary_figures_are_the_marts_week_over_week(sample_settings):
    settings = sample_settings
    ((as_of,),) = _marts(settings, "select max(as_of)::date from marts.monitoring_status")
    week_ago = as_of - timedelta(days=7)
    balances = {
        day: (float(open_), float(past_due), float(at_risk), int(subs))
        for day, open_, past_due, at_risk, subs in _marts(
            settings,
            """select date_day, sum(open_receivables_reporting), sum(past_due_reporting),
                      sum(revenue_at_risk_reporting), sum(delinquent_subscriptions)
               from marts.receivables_daily where date_day in (?, ?) group by date_day""",
            [as_of, week_ago],
        )
    }
    ((in_recovery, owed),) = _marts(
        settings,
        "select count(*), sum(amount_remaining_reporting) from marts.recoveries_in_progress",
    )
    (month, failed, recovered), (previous_month, failed_before, _) = _marts(
        settings,
        """select month_start, amount_failed_reporting, amount_recovered_reporting
           from marts.recovery_monthly where is_complete_month order by month_start desc limit 2""",
    )
    with open_published(settings.published_path) as con:
        summary = read_summary(con)

    assert summary.as_of == as_of and summary.currency == "EUR"
    now, before = balances[as_of], balances[week_ago]
    past_due = summary.kpi("Past-due amount")
    assert (past_due.value, past_due.previous) == (now[1], before[1])
    rate = summary.kpi("Delinquency rate (by amount)")
    assert rate.value == now[1] / now[0] and rate.previous == before[1] / before[0]
    assert summary.kpi("Revenue at risk (MRR)").value == now[2]
    assert summary.kpi("Subscriptions with a past-due invoice").previous == before[3]
    assert summary.kpi("Invoices in recovery").value == in_recovery
    assert summary.kpi("Owed on them").value == float(owed)
    failed_kpi = summary.kpi("Failed payments (amount)")
    assert (failed_kpi.value, failed_kpi.previous) == (float(failed), float(failed_before))
    assert failed_kpi.basis.startswith(f"{month:%B %Y} (latest complete month) vs ")
    assert summary.kpi("Recovered (amount)").value == float(recovered)
    assert previous_month < month

    page = render_html(summary, "http://dash.example.test:8501")
    assert f"€{now[1]:,.0f}" in page and f"€{before[1]:,.0f}" in page
    assert f"{(now[1] / before[1] - 1) * 100:+.1f}%" in page
    assert f"{(now[1] / now[0] - before[1] / before[0]) * 100:+.1f} pp" in page
    assert f"{as_of - timedelta(days=6):%d %b} – {as_of:%d %b %Y}" in page
    assert 'href="http://dash.example.test:8501"' in page


def test_the_weekly_job_keeps_the_page_emails_it_and_overview_offers_it(
    sample_settings, smtp, tmp_path
):
    assert weekly_leadership_summary_schedule.cron_schedule == "0 7 * * 1"  # Mondays, 07:00
    assert weekly_leadership_summary_schedule.job_name == "weekly_leadership_summary"
    settings = dataclasses.replace(
        copy_settings(sample_settings, tmp_path),
        alert_channels=AlertChannelSettings(
            smtp_host=smtp.hostname,
            smtp_port=smtp.port,
            smtp_username=SMTP_USER,
            smtp_password=SMTP_PASSWORD,
            email_from="arrears@example.test",
            email_to=("cfo@example.test", "finance@example.test"),
        ),
    )
    result = weekly_leadership_summary.execute_in_process(resources={"settings": settings})
    assert result.success

    ((as_of,),) = _marts(settings, "select max(as_of)::date from marts.monitoring_status")
    ((past_due,),) = _marts(
        settings,
        "select sum(past_due_reporting) from marts.receivables_daily where date_day = ?",
        [as_of],
    )
    kept = settings.summaries_dir / f"leadership-summary-{as_of:%Y-%m-%d}.html"
    assert kept.is_file() and f"€{float(past_due):,.0f}" in kept.read_text()

    (envelope,) = smtp.handler.messages
    assert envelope.rcpt_tos == ["cfo@example.test", "finance@example.test"]
    email = message_from_bytes(envelope.content, policy=policy.default)
    assert email["Subject"].startswith("Arrears weekly summary: ")
    # The page kept is the page sent (SMTP carries it with CRLF line ends).
    assert email.get_body(("html",)).get_content().splitlines() == kept.read_text().splitlines()
    assert f"Past-due amount: €{float(past_due):,.0f}" in email.get_body(("plain",)).get_content()

    with pointed_at(settings):
        at = run_page()
    labels = [button.label for button in at.get("download_button")]
    assert f"Weekly leadership summary · week to {as_of:%d %b %Y}" in labels
