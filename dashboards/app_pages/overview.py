"""Overview for finance leadership: the headline KPIs, their change and their trend."""

import pandas as pd
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q
from orchestration.leadership_summary import FILE_PREFIX, latest_summary

f = ui.page_header(
    "Overview",
    caption="Collection health at a glance. Changes compare with the previous month end "
    "(cohort and monthly KPIs: with the previous cohort or month).",
)
currency = q.reporting_currency()
if loaded := ui.loaded_line():
    st.caption(loaded)
# The weekly page leadership gets by email (orchestration/defs/summary), kept under the data folder.
summary_page = latest_summary(q.settings())
if summary_page:
    st.download_button(
        "Weekly leadership summary · week to "
        f"{pd.Timestamp(summary_page.stem.removeprefix(FILE_PREFIX)):%d %b %Y}",
        data=summary_page.read_bytes(),
        file_name=summary_page.name,
        mime="text/html",
        icon=":material/summarize:",
        key="leadership_summary",
    )
else:
    st.caption(
        "The weekly leadership summary (headline KPIs and their week-over-week change) is "
        "written every Monday at 07:00 UTC by the Dagster schedule and offered here."
    )


def _month(value) -> str:
    return f"{pd.Timestamp(value):%b %Y}"


def _day(value) -> str:
    return f"{pd.Timestamp(value):%d %b %Y}"


with ui.section(
    "Receivables", what="Receivable KPIs", help="These KPIs honour every filter in the sidebar."
):
    receivables_period = st.empty()
    receivables_tiles = st.columns(4)
    month_ends = q.receivables_month_ends(f)
    if month_ends.empty:
        ui.empty_note("Receivables", "invoices", purpose="receivables and delinquency")
    else:
        now, before = ui.latest_and_before(month_ends)
        versus = f"vs {_day(before['date_day'])}" if before is not None else None
        receivables_period.caption(
            f"Balances at the end of {_day(now['date_day'])} (the last month end in the date "
            "range, or the as-of day), filtered by the sidebar; changes against the month end "
            "before."
        )

        def money(value) -> str:
            return ui.money(value, currency)

        tiles = (
            ("Delinquency rate (by amount)", "delinquency_rate", ui.pct, ui.delta_pp,
             "Past-due amount remaining ÷ open receivables, on "
             f"{_day(now['date_day'])}. By subscriptions: "
             f"{ui.pct(now['delinquency_rate_subscriptions'])} of active subscriptions "
             "have a past-due invoice."),
            ("Past-due amount", "past_due", money, ui.delta_rel,
             f"Amount remaining on invoices past their due date ({currency})."),
            ("Revenue at risk", "revenue_at_risk", money, ui.delta_rel,
             "Monthly recurring revenue of the subscriptions with a past-due invoice."),
        )  # fmt: skip
        for tile, (name, column, shown, change, help_text) in zip(
            receivables_tiles[:3], tiles, strict=True
        ):
            with tile:
                ui.kpi(
                    name,
                    shown(now[column]),
                    delta=change(now[column], None if before is None else before[column]),
                    bad_when_up=True,
                    versus=versus,
                    trend=month_ends[column].tolist(),
                    help=help_text,
                )
with receivables_tiles[3], ui.guard("Open alerts"):
    alerts = q.open_alerts()
    total = int(alerts["alerts"].sum())
    critical = int(alerts.loc[alerts["severity"] == "critical", "alerts"].sum())
    ui.kpi(
        "Open alerts",
        f"{total:,}",
        delta=f"{critical} critical" if critical else None,
        bad_when_up=True,
        help="Alerts not resolved yet (any segment; sidebar filters do not apply). "
        "Details on the Fraud & alerts page.",
    )
    ui.company_wide("Open alerts count every segment: the sidebar's filters do not apply.")

with ui.section(
    "Recovery and churn",
    what="Recovery KPIs",
    not_filtered="The cohort and monthly marts behind these KPIs have no segments: only the date "
    "range applies, not the plan, country, payment-method or currency filters.",
):
    recovery_period = st.empty()  # the periods of the four tiles, filled in once they are known
    periods: list[str] = []
    recovery_tiles = st.columns(4)
    recovery_days = q.window_days("recovery_window_days")
    cohorts = q.recovery_cohorts(f)
    elapsed = cohorts[cohorts["is_window_elapsed"]]
    if elapsed.empty:
        with recovery_tiles[0]:
            if not ui.missing_feeds("recovery", "invoices"):
                st.info(
                    "No recovery cohort in the date range has had its "
                    f"{recovery_days}-day window yet."
                )
    else:
        latest, earlier = ui.latest_and_before(elapsed)
        versus = f"vs {_month(earlier['cohort_month'])} cohort" if earlier is not None else None
        periods.append(
            f"Recovery: the {_month(latest['cohort_month'])} cohort (the latest whose recovery "
            "window has elapsed), by invoice count and by amount due"
        )
        with recovery_tiles[0]:
            ui.kpi(
                "Recovery rate",
                ui.pct(latest["cohort_recovery_rate"]),
                delta=None
                if earlier is None
                else ui.delta_pp(latest["cohort_recovery_rate"], earlier["cohort_recovery_rate"]),
                versus=versus,
                trend=elapsed["cohort_recovery_rate"].tolist(),
                help=f"Cohort {_month(latest['cohort_month'])} (the latest whose "
                f"{recovery_days}-day recovery window has elapsed): invoices recovered within "
                f"{recovery_days} days ÷ invoices that entered recovery.",
            )
        with recovery_tiles[1]:
            ui.kpi(
                "Recovered revenue",
                ui.money(latest["cohort_recovered_revenue_reporting"], currency),
                delta=None
                if earlier is None
                else ui.delta_rel(
                    latest["cohort_recovered_revenue_reporting"],
                    earlier["cohort_recovered_revenue_reporting"],
                ),
                versus=versus,
                trend=elapsed["cohort_recovered_revenue_reporting"].tolist(),
                help=f"Amount due of the invoices of cohort {_month(latest['cohort_month'])} "
                f"recovered within {recovery_days} days "
                f"({ui.pct(latest['cohort_recovered_revenue_rate'])} of "
                "the amount that entered recovery).",
            )
with ui.guard("Involuntary churn"):
    months = q.collections_monthly(f)
    complete = months[months["is_complete_month"]]
    with recovery_tiles[2]:
        no_subscriptions = ui.missing_feeds("involuntary churn", "subscriptions")
    if not complete.empty and not no_subscriptions:
        latest, earlier = ui.latest_and_before(complete)
        periods.append(
            f"churn: {_month(latest['month_start'])}, the latest complete month, by subscriptions; "
            f"write-off: of the invoices billed in {_month(latest['month_start'])}, by amount"
        )
        with recovery_tiles[2]:
            ui.kpi(
                "Involuntary churn",
                ui.pct(latest["involuntary_churn_rate"], 2),
                delta=None
                if earlier is None
                else ui.delta_pp(
                    latest["involuntary_churn_rate"], earlier["involuntary_churn_rate"]
                ),
                bad_when_up=True,
                versus=None if earlier is None else f"vs {_month(earlier['month_start'])}",
                trend=complete["involuntary_churn_rate"].tolist(),
                help=f"{_month(latest['month_start'])}: subscriptions cancelled for non-payment "
                f"({ui.number(latest['involuntary_cancellations'])}) ÷ active at the month start "
                f"({ui.number(latest['active_subscriptions_at_month_start'])}).",
            )
        with recovery_tiles[3]:
            ui.kpi(
                "Write-off rate (billed amount)",
                ui.pct(latest["write_off_rate"], 2),
                delta=None
                if earlier is None
                else ui.delta_pp(latest["write_off_rate"], earlier["write_off_rate"]),
                bad_when_up=True,
                versus=None if earlier is None else f"vs {_month(earlier['month_start'])}",
                trend=complete["write_off_rate"].tolist(),
                help=f"Invoices billed in {_month(latest['month_start'])}: amount written off ÷ "
                "amount billed (billing-month cohort; grows as the cohort ages).",
            )
if periods:
    recovery_period.caption("; ".join(periods) + ".")

st.divider()
left, right = st.columns(2, gap="large")
with left, ui.guard("Past-due trend"):
    st.markdown("**Past-due receivables by age, at each month end**")
    month_ends = q.receivables_month_ends(f)
    if not month_ends.empty:
        buckets = [
            ("past_due_1_30", "1–30 days"),
            ("past_due_31_60", "31–60 days"),
            ("past_due_61_90", "61–90 days"),
            ("past_due_91_plus", "91+ days"),
        ]
        # Each month end is drawn in its own month (31 Oct under "Oct 2026"); hover names the day.
        ui.chart(
            month_ends.assign(month=ui.month_start(month_ends["date_day"])),
            "month",
            [
                *(
                    ui.Series(
                        column,
                        name,
                        colour,
                        "bar",
                        hover="%{customdata|%d %b %Y}: %{y:,.0f}",
                        options={"customdata": month_ends["date_day"]},
                    )
                    for (column, name), colour in zip(buckets, ui.SEQUENTIAL[1:], strict=True)
                ),
                ui.Series("revenue_at_risk", "Revenue at risk (MRR)", ui.BLACK, dash="dot"),
            ],
            x_title="Month (balances at its end)",
            y_title=f"Amount ({currency})",
            y_axis=ui.money_axis(currency),
            stacked=True,
            partial=q.partial_months("collections_monthly", f),
        )

with right, ui.guard("Delinquency trend"):
    st.markdown("**Delinquency rate, at each month end**")
    month_ends = q.receivables_month_ends(f)
    if not month_ends.empty:
        ui.chart(
            month_ends.assign(month=ui.month_start(month_ends["date_day"])),
            "month",
            [
                ui.Series(
                    "delinquency_rate", "By amount (past due ÷ open receivables)", ui.VERMILLION
                ),
                ui.Series(
                    "delinquency_rate_subscriptions",
                    "By subscriptions (delinquent ÷ active)",
                    ui.BLUE,
                ),
            ],
            x_title="Month (rate at its end)",
            y_title="Delinquency rate (%)",
            y_axis={"tickformat": ".1%", "rangemode": "tozero"},
            partial=q.partial_months("collections_monthly", f),
        )

left, right = st.columns(2, gap="large")
with left, ui.guard("Recovery trend"):
    recovery_days = q.window_days("recovery_window_days")
    st.markdown("**Recovery rate by cohort** (month of entering recovery)")
    cohorts = q.recovery_cohorts(f)
    if not cohorts.empty:
        elapsed = cohorts["is_window_elapsed"]
        ui.chart(
            cohorts,
            "cohort_month",
            [
                ui.Series(
                    "cohort_recovery_rate",
                    "Recovery rate",
                    ui.GREEN,
                    "bar",
                    customdata=("invoices_entered", "cohort_invoices_window_elapsed"),
                    hover="%{y:.1%} · %{customdata[1]} of %{customdata[0]} invoices "
                    "judged<extra></extra>",
                    options={
                        "marker_color": [ui.GREEN if done else ui.GREY for done in elapsed],
                        "marker_pattern_shape": ["" if done else "/" for done in elapsed],
                    },
                )
            ],
            x_title="Cohort month",
            y_title=f"Recovered within {recovery_days} days (%)",
            y_axis={"tickformat": ".0%", "range": [0, 1]},
            partial=q.partial_months("recovery_cohorts", f),
        )
        st.caption(
            f"Grey hatched bars: cohorts whose {recovery_days}-day window has not fully elapsed "
            "— their rate only counts the invoices already judged and will change."
        )
with right, ui.guard("Churn trend"):
    st.markdown("**Involuntary churn rate by month**")
    months = q.collections_monthly(f)
    if not months.empty:
        ui.chart(
            months,
            "month_start",
            [
                ui.Series("involuntary_churn_rate", "By subscriptions", ui.PURPLE),
                ui.Series("involuntary_mrr_churn_rate", "By MRR", ui.ORANGE, dash="dash"),
            ],
            x_title="Month",
            y_title="Cancelled for non-payment (%)",
            y_axis={"tickformat": ".2%", "rangemode": "tozero"},
            legend="Involuntary churn",
            partial=q.partial_months("collections_monthly", f),
        )
        ui.partial_months_note("collections_monthly", f)
