"""Every query the dashboards run, in one module, on the published read-only warehouse.

Each query opens a short-lived read-only connection to `settings.published_path` (never the
file the pipeline writes, never a cached connection: a held connection would pin an old copy and
a lock). Results are cached for `CACHE_TTL_S`, keyed on the published file's identity too, so a
new publish is visible on the next rerun. Pages only select from marts: every metric is computed
in dbt; here we filter, and sum additive mart columns over the selected segments.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from dashboards.filters import Filters
from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT, Settings, load_settings
from orchestration.publish import open_published

CACHE_TTL_S = 600


class NotAvailable(Exception):
    """The published warehouse, or the mart a section needs, does not exist yet."""


@dataclass(frozen=True)
class Snapshot:
    """Identity of one published copy; part of every cache key."""

    path: str
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class AsOf:
    as_of: datetime
    published_at: datetime
    reporting_currency: str


@functools.cache
def settings() -> Settings:
    """Read once per dashboard process (`arrears serve` passes the settings in its environment)."""
    return load_settings()


def snapshot() -> Snapshot:
    """The published copy readers should open now (the publish symlink, resolved)."""
    link = settings().published_path
    try:
        path = link.resolve(strict=True)
        stat = path.stat()
    except FileNotFoundError:
        raise NotAvailable(
            f"no published warehouse at {link} yet. Run `make build` (or `arrears build`)."
        ) from None
    return Snapshot(str(path), stat.st_mtime_ns, stat.st_size)


def is_published() -> bool:
    return settings().published_path.exists()


def connect(snap: Snapshot | None = None) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection to one published copy. Close it (use `with`)."""
    return open_published(Path((snap or snapshot()).path), settings().duckdb_memory_limit)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=2000)
def _fetch(sql: str, params: tuple, snap: Snapshot) -> pd.DataFrame:
    with connect(snap) as con:
        return con.execute(sql, list(params)).df()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _tables(snap: Snapshot) -> frozenset[str]:
    with connect(snap) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    return frozenset(name for (name,) in rows)


def tables() -> frozenset[str]:
    """Every `schema.table` in the published copy."""
    return _tables(snapshot())


def require(*names: str) -> None:
    missing = [name for name in names if name not in tables()]
    if missing:
        raise NotAvailable(
            f"`{'`, `'.join(missing)}` is not in the published warehouse "
            "(its model has not been built yet)."
        )


def fetch(sql: str, params: list | tuple = (), *, needs: tuple[str, ...] = ()) -> pd.DataFrame:
    """Run a SELECT on the published copy (cached). `needs` names the tables it reads."""
    snap = snapshot()
    require(*needs)
    return _fetch(sql, tuple(params), snap)


def _utc(ts: object) -> datetime:
    value = pd.Timestamp(ts)
    return (value.tz_localize(UTC) if value.tzinfo is None else value).to_pydatetime()


def data_as_of() -> AsOf:
    """The data's own clock (latest event in the data) and the reporting currency."""
    snap = snapshot()
    published_at = datetime.fromtimestamp(snap.mtime_ns / 1e9, tz=UTC)
    as_of = fetch(
        "select max(as_of) from marts.monitoring_status", needs=("marts.monitoring_status",)
    ).iat[0, 0]
    return AsOf(_utc(as_of), published_at, reporting_currency())


def reporting_currency() -> str:
    """The currency the published amounts are in (the build's, else the configured one)."""
    if "marts.collections_monthly" in tables():
        currency = fetch("select any_value(reporting_currency) from marts.collections_monthly").iat[
            0, 0
        ]
        if isinstance(currency, str):
            return currency
    return settings().reporting_currency


def window_days(name: str) -> int:
    """A window the published marts were built with, in days (marts.metric_settings, e.g.
    `recovery_window_days`): a page states the marts' own window, never a copy of the default."""
    value = fetch(
        "select value from marts.metric_settings where setting = ? and unit = 'days'",
        [name],
        needs=("marts.metric_settings",),
    )
    if value.empty:
        raise NotAvailable(f"`marts.metric_settings` has no window `{name}`.")
    return int(value.iat[0, 0])


# ---------------------------------------------------------------- schema browser (workbench)

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
ANALYST_GUIDE_PATH = REPO_ROOT / "docs" / "analyst_guide.md"


def schema_columns() -> pd.DataFrame:
    """Every published table's columns, with the dbt description where dbt documents one."""
    frame = fetch(
        """
        select table_schema as schema_name, table_name, column_name, data_type, ordinal_position
        from information_schema.columns
        where table_schema not in ('information_schema', 'pg_catalog')
        order by schema_name, table_name, ordinal_position
        """
    )
    docs = _dbt_docs(_mtime(MANIFEST_PATH))
    frame["description"] = [
        docs.get((s, t, c), "")
        for s, t, c in zip(
            frame["schema_name"], frame["table_name"], frame["column_name"], strict=True
        )
    ]
    return frame


def table_descriptions() -> dict[tuple[str, str], str]:
    docs = _dbt_docs(_mtime(MANIFEST_PATH))
    return {(s, t): text for (s, t, c), text in docs.items() if c == ""}


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


@st.cache_data(show_spinner=False)
def _dbt_docs(manifest_mtime: int) -> dict[tuple[str, str, str], str]:
    """(schema, table, column) -> description from dbt's manifest; column "" = the table."""
    if not manifest_mtime:
        return {}
    manifest = json.loads(MANIFEST_PATH.read_text())
    docs: dict[tuple[str, str, str], str] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        schema, name = node.get("schema", ""), node.get("alias") or node.get("name", "")
        docs[(schema, name, "")] = (node.get("description") or "").strip()
        for column, meta in (node.get("columns") or {}).items():
            docs[(schema, name, column)] = (meta.get("description") or "").strip()
    return docs


@dataclass(frozen=True)
class Example:
    title: str
    sql: str


def analyst_examples() -> list[Example]:
    """The example queries of the analyst guide: each ```sql block under its heading."""
    return _examples(_mtime(ANALYST_GUIDE_PATH))


@st.cache_data(show_spinner=False)
def _examples(guide_mtime: int) -> list[Example]:
    if not guide_mtime:
        return []
    examples = []
    heading = "Example"
    in_sql, lines = False, []
    for line in ANALYST_GUIDE_PATH.read_text().splitlines():
        stripped = line.strip()
        if not in_sql and stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
        elif not in_sql and stripped.lower() == "```sql":
            in_sql, lines = True, []
        elif in_sql and stripped.startswith("```"):
            in_sql = False
            examples.append(Example(heading, "\n".join(lines).strip()))
        elif in_sql:
            lines.append(line)
    return examples


# ---------------------------------------------------------------- filters

# Mart columns that carry each segment filter, for the marts that have segments.
RECEIVABLE_SEGMENTS = {
    "plan": "plan",
    "country": "country",
    "payment_method": "payment_method",
    "currency": "currency",
}


def filter_options() -> dict[str, list[str]]:
    """Each sidebar filter's choices, from one scan of the subscriptions dimension."""
    options: dict[str, list[str]] = {}
    available = tables()
    if "marts.dim_subscriptions" in available:
        frame = fetch(
            """
            select plan, country, payment_method, currency from marts.dim_subscriptions
            group by grouping sets ((plan), (country), (payment_method), (currency))
            """
        )
        for name in RECEIVABLE_SEGMENTS:
            options[name] = sorted(frame[name].dropna().astype(str).unique().tolist())
    if "marts.failure_rates_daily" in available:
        options["processor"] = fetch(
            "select distinct segment_value from marts.failure_rates_daily "
            "where segment_type = 'processor' order by 1"
        )["segment_value"].tolist()
    return options


def coverage() -> dict[str, int]:
    """Records loaded per billing feed (`marts.data_coverage`); {} before that mart exists."""
    if "marts.data_coverage" not in tables():
        return {}
    frame = fetch("select feed, records from marts.data_coverage")
    return dict(zip(frame["feed"], (int(n) for n in frame["records"]), strict=True))


def empty_feeds(*feeds: str) -> list[str]:
    """Of `feeds`, the ones with no record loaded (unknown on a warehouse without coverage)."""
    loaded = coverage()
    return [feed for feed in feeds if loaded and not loaded.get(feed)]


def date_bounds() -> tuple[date, date] | None:
    """First event of any fact (invoice, charge, dispute, message, ...) to the as-of date.

    Every fact counts, not only invoices: charges before the first invoice, or with no invoice
    at all, must be inside the range a page can select.
    """
    if "marts.data_coverage" not in tables():  # a warehouse published before that mart
        frame = fetch(
            "select min(month_start), max(month_end) from marts.collections_monthly",
            needs=("marts.collections_monthly",),
        )
    else:
        as_of = (
            "(select max(as_of) from marts.monitoring_status)"
            if "marts.monitoring_status" in tables()
            else "null"
        )
        frame = fetch(
            f"""
            select min(first_event_at)::date,
                   greatest(max(last_event_at), {as_of})::date
            from marts.data_coverage
            where is_event_fact and records > 0
            """
        )
    first, last = frame.iat[0, 0], frame.iat[0, 1]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def default_start() -> date | None:
    """Twelve months back from the as-of date, from the first of that month."""
    bounds = date_bounds()
    if bounds is None:
        return None
    last = bounds[1]
    return date(last.year - 1, last.month, 1)


# ---------------------------------------------------------------- receivables (Overview, Delinquency)

_RECEIVABLE_SUMS = """
    sum(open_receivables_reporting) as open_receivables,
    sum(current_reporting) as current,
    sum(past_due_1_30_reporting) as past_due_1_30,
    sum(past_due_31_60_reporting) as past_due_31_60,
    sum(past_due_61_90_reporting) as past_due_61_90,
    sum(past_due_91_plus_reporting) as past_due_91_plus,
    sum(past_due_reporting) as past_due,
    sum(revenue_at_risk_reporting) as revenue_at_risk,
    sum(active_subscriptions) as active_subscriptions,
    sum(delinquent_subscriptions) as delinquent_subscriptions,
    -- receivables_daily's own rates, combined over segments the way its docs prescribe.
    sum(past_due_reporting) / nullif(sum(open_receivables_reporting), 0) as delinquency_rate,
    sum(delinquent_subscriptions) / nullif(sum(active_subscriptions), 0)
        as delinquency_rate_subscriptions
"""


def receivables_month_ends(f: Filters) -> pd.DataFrame:
    """Receivables at every month end in the date range (the current month: its as-of day)."""
    return filtered(
        "receivables_daily",
        f,
        f"date_day, {_RECEIVABLE_SUMS}",
        by=RECEIVABLE_SEGMENTS,
        also="""date_day in (
            select month_end from marts.collections_monthly where month_end between ? and ?)""",
        params=[f.start, f.end],
        rest="group by date_day order by date_day",
        needs=("marts.collections_monthly",),
    )


def receivables_daily(f: Filters) -> pd.DataFrame:
    """Receivables per day in the date range, summed over the selected segments."""
    return filtered(
        "receivables_daily",
        f,
        f"date_day, {_RECEIVABLE_SUMS}",
        by={"date": "date_day", **RECEIVABLE_SEGMENTS},
        rest="group by date_day order by date_day",
    )


def receivables_by_segment(f: Filters, dimension: str) -> pd.DataFrame:
    """Receivables on the last day of the range, by one segment dimension."""
    if dimension not in RECEIVABLE_SEGMENTS:
        raise ValueError(dimension)
    return filtered(
        "receivables_daily",
        f,
        f"{dimension} as segment, {_RECEIVABLE_SUMS}",
        by=RECEIVABLE_SEGMENTS,
        also="date_day = (select max(date_day) from marts.receivables_daily where date_day <= ?)",
        params=[f.end],
        rest="group by segment order by past_due desc, segment",
    )


# ---------------------------------------------------------------- partial periods

# The monthly and cohort marts the pages chart, each with its month column; every one carries
# is_complete_month (int_data_coverage: the data covers the whole month).
MONTHLY_MARTS = {
    "collections_monthly": "month_start",
    "recovery_cohorts": "cohort_month",
    "late_payment_cohorts": "cohort_month",
    "recovery_by_channel": "cohort_month",
    "first_attempt_failures_monthly": "month_start",
    "recovery_monthly": "month_start",
    "dunning_funnel": "sent_month",
    "payment_plan_outcomes": "agreed_month",
}


def filtered(
    mart: str,
    f: Filters,
    columns: str = "*",
    *,
    by: dict[str, str] | None = None,
    also: str = "",
    params: list | tuple = (),
    rest: str = "",
    needs: tuple[str, ...] = (),
) -> pd.DataFrame:
    """`columns` of the rows of `marts.<mart>` that the sidebar's filters keep (`by`: filter →
    the mart's column, see `Filters.where`) and that the condition `also` keeps (its `params`);
    `rest` (`group by`, `order by`) follows. Every page query of one mart is this one shape;
    `needs` names the other tables `also` reads."""
    where, values = f.where(by or {})
    if also:
        where = f"{where} and {also}" if where else f"where {also}"
    return fetch(
        f"select {columns} from marts.{mart} {where} {rest}",
        [*values, *params],
        needs=(f"marts.{mart}", *needs),
    )


def months_in_range(
    mart: str,
    f: Filters,
    columns: str = "*",
    *,
    month: str,
    also: str = "",
    rest: str = "",
    by: dict[str, str] | None = None,
) -> pd.DataFrame:
    """`filtered` rows whose month (the column `month`) lies in the date range, counting the
    month the range starts in, and that `also` keeps."""
    in_range = f"{month} between date_trunc('month', ?::date) and ?"
    condition = f"{in_range} and {also}" if also else in_range
    return filtered(mart, f, columns, by=by, also=condition, params=[f.start, f.end], rest=rest)


def partial_months(mart: str, f: Filters) -> list[date]:
    """The months of `mart` in the date range that the data does not cover in full."""
    column = MONTHLY_MARTS[mart]
    frame = months_in_range(
        mart,
        f,
        f"distinct {column} as month",
        month=column,
        also="not is_complete_month",
        rest="order by month",
    )
    return [pd.Timestamp(m).date() for m in frame["month"]]


# ---------------------------------------------------------------- monthly collections


def collections_monthly(f: Filters) -> pd.DataFrame:
    """collections_monthly rows of the months that overlap the date range (company-wide)."""
    return filtered(
        "collections_monthly",
        f,
        also="month_end >= ? and month_start <= ?",
        params=[f.start, f.end],
        rest="order by month_start",
    )


# ---------------------------------------------------------------- recovery


def recovery_cohorts(f: Filters) -> pd.DataFrame:
    """One row per recovery cohort (month of entering recovery) in the date range."""
    return months_in_range(
        "recovery_cohorts",
        f,
        """cohort_month, is_complete_month, is_window_elapsed, invoices_entered,
        amount_entered_reporting, cohort_invoices_window_elapsed, cohort_invoices_recovered,
        cohort_recovery_rate, cohort_recovered_revenue_reporting,
        cohort_recovered_revenue_rate, cohort_median_days_to_recovery""",
        month="cohort_month",
        also="days_since_entered = 0",
        rest="order by cohort_month",
    )


def late_payment_cohorts(f: Filters) -> pd.DataFrame:
    """Late payments of invoices never attempted, by the month they became past due: published
    beside the failed-payment cohorts, never mixed in."""
    return months_in_range(
        "late_payment_cohorts",
        f,
        """cohort_month, is_complete_month, is_window_elapsed, invoices_entered,
        amount_entered_reporting, cohort_invoices_window_elapsed, cohort_invoices_recovered,
        cohort_recovery_rate, cohort_median_days_to_recovery""",
        month="cohort_month",
        also="days_since_entered = 0",
        rest="order by cohort_month",
    )


def recovery_curves(f: Filters) -> pd.DataFrame:
    return months_in_range(
        "recovery_cohorts",
        f,
        """cohort_month, days_since_entered, invoices_observed, invoices_recovered,
        recovered_share, recovered_amount_share, is_window_elapsed""",
        month="cohort_month",
        rest="order by cohort_month, days_since_entered",
    )


def recovery_by_channel(f: Filters) -> pd.DataFrame:
    return months_in_range(
        "recovery_by_channel",
        f,
        """cohort_month, recovery_channel, invoices_recovered, amount_recovered_reporting,
        share_of_recovered, median_days_to_recovery, cohort_invoices_window_elapsed,
        invoices_recovered_in_window, channel_recovery_rate, channel_recovered_revenue_rate""",
        month="cohort_month",
        rest="order by cohort_month, recovery_channel",
    )


def recovery_monthly(f: Filters) -> pd.DataFrame:
    """Failed vs recovered money per calendar month in the date range (company-wide)."""
    return months_in_range("recovery_monthly", f, month="month_start", rest="order by month_start")


def first_attempt_failures(f: Filters) -> pd.DataFrame:
    """First-attempt failure rate per month in the date range, over the selected segments: the
    mart's numerators and denominators summed, the rates taken once (never averaged)."""
    return months_in_range(
        "first_attempt_failures_monthly",
        f,
        """month_start, bool_and(is_complete_month) as is_complete_month,
               sum(invoices_first_attempted) as invoices_first_attempted,
               sum(first_attempts_failed) as first_attempts_failed,
               sum(first_attempts_failed) / nullif(sum(invoices_first_attempted), 0)
                   as first_attempt_failure_rate,
               sum(amount_first_attempt_failed_reporting)
                   / nullif(sum(amount_first_attempted_reporting), 0)
                   as first_attempt_amount_failure_rate""",
        month="month_start",
        by=RECEIVABLE_SEGMENTS,
        rest="group by month_start order by month_start",
    )


def retry_performance() -> pd.DataFrame:
    return fetch(
        "select * from marts.retry_performance order by dimension, sort_order, dimension_value",
        needs=("marts.retry_performance",),
    )


def retry_heatmap() -> pd.DataFrame:
    return fetch(
        "select * from marts.retry_heatmap order by attempt_number, hours_sort_order",
        needs=("marts.retry_heatmap",),
    )


def decline_classes_daily(f: Filters) -> pd.DataFrame:
    """Failures per decline class per day (failure_rates_daily's decline-class segments)."""
    return filtered(
        "failure_rates_daily",
        f,
        """window_start::date as day, segment_value as decline_class, attempts, failures,
        failure_rate, amount_failed_reporting""",
        by={"date": "window_start"},
        also="segment_type = 'decline_class'",
        rest="order by day, decline_class",
    )


def dunning_funnel(f: Filters) -> pd.DataFrame:
    """The funnel summed over the send months that overlap the date range."""
    return months_in_range(
        "dunning_funnel",
        f,
        """channel, template,
        sum(messages_sent) as messages_sent,
        sum(messages_opened) as messages_opened,
        sum(messages_clicked) as messages_clicked,
        sum(messages_measured) as messages_measured,
        sum(invoices_paid_in_window) as invoices_paid_in_window""",
        month="sent_month",
        rest="group by channel, template order by channel, messages_sent desc",
    )


def recoveries_in_progress(f: Filters) -> pd.DataFrame:
    """Invoices in recovery now (a snapshot at the as-of date: the date range does not apply),
    in the selected segments, the longest in recovery first."""
    return filtered(
        "recoveries_in_progress",
        f,
        by=RECEIVABLE_SEGMENTS,
        rest="order by days_in_recovery desc, amount_remaining_reporting desc, invoice_id",
    )


def card_update_cohorts(f: Filters) -> pd.DataFrame:
    """Card-update rate per recovery cohort in the date range (company-wide)."""
    return months_in_range(
        "card_update_cohorts", f, month="cohort_month", rest="order by cohort_month"
    )


def payment_plan_outcomes(f: Filters) -> pd.DataFrame:
    return filtered(
        "payment_plan_outcomes",
        f,
        """agreed_month, kind, outcome,
        count(*) as plans,
        sum(total_amount_reporting) as amount_agreed,
        sum(amount_collected_reporting) as amount_collected""",
        by={"date": "agreed_at"},
        rest="group by agreed_month, kind, outcome order by agreed_month, kind, outcome",
    )


# ---------------------------------------------------------------- fraud and alerts

# Sidebar filter -> failure-rate segment type (the card's issuing country stands in for country).
FAILURE_SEGMENTS = {
    "payment_method": "payment_method",
    "processor": "processor",
    "country": "card_country",
    "plan": "plan",
}


def failure_segments() -> pd.DataFrame:
    """Every (segment_type, segment_value) the failure-rate marts watch, busiest first."""
    return fetch(
        """
        select segment_type, segment_value, sum(attempts) as attempts
        from marts.failure_rates_daily
        group by segment_type, segment_value
        order by segment_type <> 'overall', segment_type, attempts desc
        """,
        needs=("marts.failure_rates_daily",),
    )


def failure_rates(f: Filters, grain: str, segments: list[tuple[str, str]]) -> pd.DataFrame:
    """Observed and expected failure rates of the given segments in the date range."""
    table = {"hour": "marts.failure_rates_hourly", "day": "marts.failure_rates_daily"}[grain]
    if not segments:
        return pd.DataFrame()
    pairs = ", ".join("(?, ?)" for _ in segments)
    return fetch(
        f"""
        select segment_type, segment_value, window_start, attempts, failures, failure_rate,
               expected_rate, expected_rate_upper, score, lift, revenue_affected,
               is_anomalous, explained_by, evaluation_status
        from {table}
        where (segment_type, segment_value) in ({pairs})
          and window_start >= ? and window_start < ?::date + 1
        order by segment_type, segment_value, window_start
        """,
        [*(value for pair in segments for value in pair), f.start, f.end],
        needs=(table,),
    )


def monitoring_status() -> pd.Series:
    """The one row of `marts.monitoring_status`: what monitoring could judge, in numbers and words."""
    status = fetch("select * from marts.monitoring_status", needs=("marts.monitoring_status",))
    return status.iloc[0]


def incidents(f: Filters) -> pd.DataFrame:
    """Incidents overlapping the date range, with their alert's state when alerting has run."""
    has_alerts = "alerting.alerts" in tables()
    alert_columns = (
        "alerts.status as alert_status, alerts.acknowledged_at, alerts.acknowledged_by, "
        "alerts.opened_at as alert_opened_at, alerts.resolved_at as alert_resolved_at"
        if has_alerts
        else "null as alert_status, null::timestamp as acknowledged_at, null as acknowledged_by, "
        "null::timestamp as alert_opened_at, null::timestamp as alert_resolved_at"
    )
    join = (
        "left join alerting.alerts as alerts "
        "on list_contains(alerts.incident_ids, incidents.incident_id)"
        if has_alerts
        else ""
    )
    frame = fetch(
        f"""
        select incidents.*, {alert_columns}
        from marts.incidents as incidents {join}
        where incidents.started_at < ?::date + 1
          and coalesce(incidents.ended_at, incidents.last_window_end) >= ?
        order by incidents.is_open desc, incidents.started_at desc
        """,
        [f.end, f.start],
        needs=("marts.incidents",),
    )
    # One state for people: acknowledged beats open; resolving still needs watching.
    frame["state"] = [
        "acknowledged"
        if pd.notna(ack) and (status or ("open" if is_open else "resolved")) != "resolved"
        else (status or ("open" if is_open else "resolved"))
        for status, ack, is_open in zip(
            frame["alert_status"], frame["acknowledged_at"], frame["is_open"], strict=True
        )
    ]
    frame.attrs["has_alerts"] = has_alerts
    return frame


def incident_anomalies(incident_id: str) -> pd.DataFrame:
    return fetch(
        "select * from marts.anomalies where incident_id = ? order by window_start, segment_type",
        [incident_id],
        needs=("marts.anomalies",),
    )


def alert_events(incident_id: str) -> pd.DataFrame:
    return fetch(
        """
        select events.occurred_at, events.event, events.severity, events.details
        from alerting.alert_events as events
        join alerting.alerts as alerts using (alert_id)
        where list_contains(alerts.incident_ids, ?)
        order by events.occurred_at
        """,
        [incident_id],
        needs=("alerting.alert_events", "alerting.alerts"),
    )


def open_alerts() -> pd.DataFrame:
    """Alerts not resolved yet, by severity."""
    return fetch(
        """
        select severity, count(*) as alerts
        from alerting.alerts
        where status <> 'resolved'
        group by severity
        """,
        needs=("alerting.alerts",),
    )


def dispute_network_ratios(f: Filters) -> pd.DataFrame:
    return months_in_range(
        "dispute_network_ratios",
        f,
        month="month_start",
        rest="order by program, month_start, level_rank",
    )


def disputes_daily(f: Filters) -> pd.DataFrame:
    return filtered("disputes_daily", f, by={"date": "day_start"}, rest="order by day_start")


def card_testing_bursts(f: Filters) -> pd.DataFrame:
    return filtered(
        "card_testing_bursts",
        f,
        by={"date": "started_at"},
        also="is_card_testing",
        rest="order by started_at desc, distinct_cards desc",
    )


def prevention_effects() -> pd.DataFrame:
    return fetch(
        "select * from marts.prevention_effects order by dimension, group_value",
        needs=("marts.prevention_effects",),
    )


def subscription_risk(limit: int | None = 50) -> pd.DataFrame:
    """The active subscriptions' delinquency scores at the as-of date, the most expected revenue
    at risk first (a snapshot, company-wide): the first `limit`, or every one for the CSV (at 10M
    payment attempts 1.2M rows, 2.3 s to fetch, so the page asks for them only on demand)."""
    return fetch(
        f"""
        select * from marts.subscription_risk
        order by expected_revenue_at_risk_reporting desc, probability desc, subscription_id
        {"" if limit is None else "limit ?"}
        """,
        () if limit is None else (limit,),
        needs=("marts.subscription_risk",),
    )


def subscription_risk_summary() -> pd.DataFrame:
    """One row over every score: subscriptions scored, expected revenue at risk, and how many are
    in the high and medium bands."""
    return fetch(
        """
        select count(*) as scored,
               sum(expected_revenue_at_risk_reporting) as expected_revenue_at_risk_reporting,
               count(*) filter (where risk_band = 'high') as high,
               count(*) filter (where risk_band = 'medium') as medium
        from marts.subscription_risk
        """,
        needs=("marts.subscription_risk",),
    )


def subscription_risk_model() -> pd.DataFrame:
    """The score's training record: one row, with the reason when there was too little history."""
    return fetch(
        "select * from marts.subscription_risk_model", needs=("marts.subscription_risk_model",)
    )


def subscription_risk_evaluation() -> pd.DataFrame:
    return fetch(
        "select * from marts.subscription_risk_evaluation order by model",
        needs=("marts.subscription_risk_evaluation",),
    )


# ---------------------------------------------------------------- customer lookup


def customer(customer_id: str) -> pd.DataFrame:
    return fetch(
        "select * from marts.dim_customers where customer_id = ?",
        [customer_id],
        needs=("marts.dim_customers",),
    )


def customer_suggestions(prefix: str, limit: int = 20) -> pd.DataFrame:
    return fetch(
        """
        select customer_id, email_masked, country from marts.dim_customers
        where customer_id ilike ? || '%'
        order by customer_id limit ?
        """,
        [prefix, limit],
        needs=("marts.dim_customers",),
    )


def most_past_due_customers(limit: int = 15) -> pd.DataFrame:
    """Customers owing the most past-due money now (a starting point for a lookup)."""
    return fetch(
        """
        with top as (
            select customer_id, sum(past_due_amount_reporting) as past_due_reporting,
                   count(*) as subscriptions_past_due
            from marts.dim_subscriptions
            where has_past_due_invoice
            group by customer_id
            order by past_due_reporting desc, customer_id
            limit ?
        )
        select top.customer_id, customers.email_masked, customers.country,
               top.past_due_reporting, top.subscriptions_past_due
        from top join marts.dim_customers as customers using (customer_id)
        order by top.past_due_reporting desc, top.customer_id
        """,
        [limit],
        needs=("marts.dim_subscriptions", "marts.dim_customers"),
    )


def customer_balance(customer_id: str) -> pd.Series:
    """What a collector needs first: owed now, of which past due, and the oldest days past due."""
    return fetch(
        """
        select
            coalesce(sum(amount_remaining_reporting) filter (
                where is_receivable and written_off_at is null), 0) as owed,
            coalesce(sum(amount_remaining_reporting) filter (where is_past_due), 0) as past_due,
            max(days_past_due) filter (where is_past_due) as oldest_days_past_due,
            count(*) filter (where is_past_due) as invoices_past_due
        from marts.fct_invoices where customer_id = ?
        """,
        [customer_id],
        needs=("marts.fct_invoices",),
    ).iloc[0]


def customer_recoveries(customer_id: str) -> pd.DataFrame:
    """The customer's invoices in recovery now, the one whose next step comes first on top."""
    return fetch(
        """
        select * from marts.recoveries_in_progress where customer_id = ?
        order by next_step_at nulls last, days_past_due desc
        """,
        [customer_id],
        needs=("marts.recoveries_in_progress",),
    )


def customer_risk(customer_id: str) -> pd.DataFrame:
    """The customer's subscriptions' delinquency scores at the as-of date, riskiest first."""
    return fetch(
        """
        select subscription_id, probability, risk_band, expected_revenue_at_risk_reporting,
               reason_1, reason_2, reason_3
        from marts.subscription_risk where customer_id = ?
        order by probability desc, subscription_id
        """,
        [customer_id],
        needs=("marts.subscription_risk",),
    )


def customer_subscriptions(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select subscription_id, plan, billing_interval, amount, currency, mrr_reporting, status,
               started_at, canceled_at, cancel_reason, has_past_due_invoice,
               past_due_amount_reporting
        from marts.dim_subscriptions where customer_id = ? order by started_at
        """,
        [customer_id],
        needs=("marts.dim_subscriptions",),
    )


def customer_invoices(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select invoice_id, subscription_id, status, currency, amount_due, amount_paid,
               amount_remaining, amount_due_reporting, amount_remaining_reporting, issued_at,
               due_at, paid_at,
               written_off_at, days_past_due, ageing_bucket, is_past_due, entered_recovery_at,
               recovered_at, recovery_channel, attempt_count
        from marts.fct_invoices where customer_id = ?
        -- a collector starts with the oldest past-due invoice, then the most recent others
        order by is_past_due desc, days_past_due desc nulls last, issued_at desc
        """,
        [customer_id],
        needs=("marts.fct_invoices",),
    )


def customer_attempts(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select attempt_id, invoice_id, attempted_at, amount, currency, payment_method,
               card_brand, card_country, processor, is_success, decline_code, decline_class,
               attempt_number, attempt_trigger, used_3ds
        from marts.fct_payment_attempts where customer_id = ? order by attempted_at
        """,
        [customer_id],
        needs=("marts.fct_payment_attempts",),
    )


def customer_plans(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select payment_plan_id, invoice_id, kind, agreed_at, total_amount, currency,
               instalment_count, instalments_paid, instalments_missed, outcome, broken_at,
               completed_at, amount_collected
        from marts.payment_plan_outcomes where customer_id = ? order by agreed_at
        """,
        [customer_id],
        needs=("marts.payment_plan_outcomes",),
    )


def customer_messages(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select message_id, invoice_id, channel, template, sent_at, opened_at, clicked_at
        from marts.fct_dunning_messages where customer_id = ? order by sent_at
        """,
        [customer_id],
        needs=("marts.fct_dunning_messages",),
    )


def customer_escalations(customer_id: str) -> pd.DataFrame:
    return fetch(
        """
        select escalation_id, invoice_id, escalated_at, stage, agency
        from marts.fct_escalations where customer_id = ? order by escalated_at
        """,
        [customer_id],
        needs=("marts.fct_escalations",),
    )


# ---------------------------------------------------------------- data quality


def latest_check_results() -> pd.DataFrame:
    """Each check's latest evaluation, failures first."""
    return fetch(
        """
        select asset, check_name, severity, passed, message, expected, observed_value,
               checked_at, run_id
        from quality.check_results
        qualify row_number() over (partition by asset, check_name order by checked_at desc) = 1
        order by passed, severity, asset, check_name
        """,
        needs=("quality.check_results",),
    )


def check_history(runs: int = 100) -> pd.DataFrame:
    """The latest check runs: how many checks passed and failed, by severity. One run = one
    pipeline (Dagster) run: its asset checks finish seconds apart, but they are one build's
    verdict. Results recorded outside Dagster (no run id) are grouped by their time."""
    return fetch(
        """
        select coalesce(run_id, checked_at::varchar) as run_key,
               min(checked_at) as started_at, max(checked_at) as finished_at,
               count(*) as checks,
               count(*) filter (where passed) as passed,
               count(*) filter (where not passed and severity = 'ERROR') as failed_error,
               count(*) filter (where not passed and severity <> 'ERROR') as failed_warn
        from quality.check_results
        group by run_key
        order by started_at desc
        limit ?
        """,
        [runs],
        needs=("quality.check_results",),
    ).sort_values("started_at")


def source_loads() -> pd.DataFrame:
    """Per raw source (entity): files and rows loaded, the last successful load."""
    return fetch(
        """
        select entity, max(loaded_at) filter (where status = 'loaded') as last_loaded_at,
               count(*) as files, sum(rows_loaded) as rows_loaded,
               sum(rows_quarantined) as rows_quarantined,
               count(*) filter (where status = 'rejected') as files_rejected
        from ops.load_manifest
        group by entity
        order by entity
        """,
        needs=("ops.load_manifest",),
    )


def freshness_checks() -> pd.DataFrame:
    """Per raw source: the latest freshness check (age of its newest record at check time)."""
    return fetch(
        """
        select replace(asset, 'raw.', '') as entity, passed, severity, message,
               try_cast(json_extract_string(observed_value, '$.newest_updated_at')
                   as timestamp) as newest_record_at,
               try_cast(json_extract(observed_value, '$.age_hours') as double) as age_hours,
               checked_at
        from quality.check_results
        where check_name = 'freshness'
        qualify row_number() over (partition by asset order by checked_at desc) = 1
        order by entity
        """,
        needs=("quality.check_results",),
    )


def quarantine_summary() -> pd.DataFrame:
    return fetch(
        "select * from ops.quarantine_summary order by rows_quarantined desc",
        needs=("ops.quarantine_summary",),
    )
