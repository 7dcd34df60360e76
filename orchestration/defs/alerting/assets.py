"""The alerting asset: after each dbt build, new or changed incidents become alerts and messages."""

from datetime import timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from orchestration.alerting.channels import (
    acknowledgements_path,
    channels_from_settings,
)
from orchestration.alerting.state import AlertPolicy
from orchestration.alerting.store import sync_alerts
from orchestration.config import Settings
from orchestration.defs.ingestion.assets import WRITER_POOL
from orchestration.defs.transform.assets import arrears_dbt_assets

ALERTS_KEY = dg.AssetKey(["alerting", "alerts"])


def _incidents_key() -> dg.AssetKey:
    """The dbt model `incidents`, under whatever key the transform layer gives it."""
    return get_asset_key_for_model([arrears_dbt_assets], "incidents")


def alert_policy(settings: Settings) -> AlertPolicy:
    """The cooldown and look-back configured in `Settings`."""
    return AlertPolicy(
        cooldown=timedelta(hours=settings.alert_cooldown_hours),
        notify_lookback=timedelta(hours=settings.alert_lookback_hours),
    )


@dg.asset(
    key=ALERTS_KEY,
    deps=[_incidents_key()],
    group_name="alerting",
    kinds={"duckdb", "python"},
    pool=WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            "notifications_delivered",
            asset=ALERTS_KEY,
            description="Every notification due went out on every configured channel.",
        )
    ],
    description=(
        "alerting.alerts / alert_events / notifications: one alert per incident of "
        "marts.incidents, announced once when it opens and once when it resolves, on the "
        "configured channels (webhook, email, log file)."
    ),
)
def alerts(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    channels = channels_from_settings(settings)
    context.log.info(f"Alert channels: {channels!r}")  # secrets masked by the repr
    report = sync_alerts(
        settings.warehouse_path,
        channels,
        alert_policy(settings),
        acknowledgements_path=acknowledgements_path(settings),
        memory_limit=settings.duckdb_memory_limit,
    )
    backfilled = report.events.get("backfilled", 0)
    if backfilled:
        # History seen for the first time (a first build, a backfill) is never announced.
        context.log.info(
            f"{backfilled} incident(s) found in past data were recorded as backfilled, not "
            "sent: see `arrears alerts list` or the Fraud & alerts page."
        )
    for failure in report.failures:
        context.log.warning(f"Notification not delivered (retried next run): {failure}")
    return dg.MaterializeResult(
        metadata={
            "watermark": str(report.watermark),
            "open_alerts": report.open_alerts,
            "events": dg.MetadataValue.json(dict(report.events)),
            "notifications_sent": report.sent,
            "notifications_failed": report.failed,
            "acknowledged": dg.MetadataValue.json(report.acknowledged),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="notifications_delivered",
                passed=report.failed == 0,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{report.failed} notification(s) still undelivered after retries"
                if report.failed
                else "all due notifications delivered",
                metadata={"failures": dg.MetadataValue.json(report.failures)},
            )
        ],
    )
