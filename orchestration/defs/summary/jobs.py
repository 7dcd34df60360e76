"""The weekly leadership summary: every Monday morning, the headline KPIs of the published
warehouse and their week-over-week change as one HTML page (orchestration/leadership_summary.py),
kept under the data folder and emailed through the alert email channel.

A job of its own, not an asset of the build: it reads the published copy only (never the
warehouse a build writes), so it needs no build lock and a build never waits for it.
"""

import dagster as dg

from orchestration.alerting.channels import channels_from_settings
from orchestration.config import Settings
from orchestration.leadership_summary import (
    read_summary,
    render_html,
    send_summary,
    write_summary,
)
from orchestration.publish import open_published


@dg.op(description="Render the weekly leadership summary, keep it, and email it.")
def leadership_summary(context: dg.OpExecutionContext, settings: dg.ResourceParam[Settings]):
    with open_published(settings.published_path, settings.duckdb_memory_limit) as con:
        summary = read_summary(con)
    channels = channels_from_settings(settings)
    page = render_html(summary, channels.dashboard_url)
    path = write_summary(settings, page, summary)
    context.log.info(f"Weekly summary for the week to {summary.as_of} kept at {path}")
    if send_summary(channels, summary, page):
        context.log.info(f"Emailed to {len(channels.email_to)} recipient(s)")
    else:
        context.log.info("Email is not configured (ARREARS_SMTP_HOST, ARREARS_ALERT_EMAIL_TO)")
    context.add_output_metadata({"path": str(path), "as_of": str(summary.as_of)})
    return str(path)


@dg.job(description="Render, keep and email the weekly leadership summary.")
def weekly_leadership_summary():
    leadership_summary()


@dg.schedule(
    name="weekly_leadership_summary_schedule",
    job=weekly_leadership_summary,
    cron_schedule="0 7 * * 1",  # Monday 07:00 UTC, after the 05:00 daily rebuild
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every Monday: the weekly leadership summary, kept and emailed.",
)
def weekly_leadership_summary_schedule(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(run_key=f"summary-{context.scheduled_execution_time:%Y-%m-%d}")
