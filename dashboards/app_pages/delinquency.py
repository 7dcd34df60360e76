"""Delinquency & ageing: receivables by age, roll rates, DSO/CEI, first-payment default, segments."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q

f = ui.page_header(
    "Delinquency & ageing",
    caption="How much is owed, how late, and where it is heading.",
)
currency = q.reporting_currency()
BUCKETS = (
    ("current", "Current (not yet due)"),
    ("past_due_1_30", "1–30 days"),
    ("past_due_31_60", "31–60 days"),
    ("past_due_61_90", "61–90 days"),
    ("past_due_91_plus", "91+ days"),
)

with ui.section("Receivables by ageing bucket", what="Receivables by age"):
    daily = q.receivables_daily(f)
    if daily.empty:
        ui.empty_note("Receivables", "invoices", purpose="the ageing of receivables")
    else:
        ui.chart(
            daily,
            "date_day",
            [
                ui.Series(column, name, colour, "area")
                for (column, name), colour in zip(BUCKETS, ui.SEQUENTIAL, strict=True)
            ],
            x_title="Day (end of day, UTC)",
            y_title=f"Open receivables ({currency})",
            y_axis=ui.money_axis(currency),
        )
        st.caption("Honours every sidebar filter. Amounts at each day's end.")

with ui.section(
    "Monthly collection metrics",
    not_filtered="collections_monthly has no segments: only the date range applies, not the "
    "plan, country, payment-method or currency filters.",
):
    months = q.collections_monthly(f)
    partial = q.partial_months("collections_monthly", f)
    complete = months[months["is_complete_month"]]
    if not complete.empty:
        latest = complete.iloc[-1]
        st.caption(
            f"Tiles: {latest['month_start']:%B %Y}, the latest complete month in the date range."
        )
        month = f"{latest['month_start']:%b %Y}"
        tiles = (
            ("DSO", ui.number(latest["dso_days"], 1, " days"), "dso_days",
             f"{month}: closing receivables ÷ billed × days in the month."),
            ("CEI", ui.number(latest["cei_pct"], 1, "%"), "cei_pct",
             f"{month}: collection effectiveness index — (opening + billed − closing) ÷ "
             "(opening + billed − closing current) × 100."),
            ("Collected", ui.money(latest["collected_reporting"], currency), "collected_reporting",
             f"Payments received on receivable invoices in {month}."),
            ("Written off", ui.money(latest["written_off_reporting"], currency),
             "written_off_reporting", f"Amount written off in {month}."),
        )  # fmt: skip
        for tile, (name, value, column, help_text) in zip(
            st.columns(len(tiles)), tiles, strict=True
        ):
            with tile:
                ui.kpi(
                    f"{name} · {month}",
                    value,
                    trend=complete[column].astype(float).tolist(),
                    help=help_text,
                )

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**DSO and CEI by month**")
        ui.chart(
            months,
            "month_start",
            [
                ui.Series("dso_days", "DSO (days)", ui.SKY, "bar"),
                ui.Series("cei_pct", "CEI (%)", ui.VERMILLION, options={"yaxis": "y2"}),
            ],
            x_title="Month",
            y_title="DSO (days)",
            layout={
                "yaxis2": {
                    "title": "CEI (%)",
                    "overlaying": "y",
                    "side": "right",
                    "range": [0, 105],
                    "ticksuffix": "%",
                }
            },
            partial=partial,
        )
        ui.partial_months_note("collections_monthly", f)
    with right:
        st.markdown("**Roll rates** (share of a bucket's amount that rolls into the next)")
        rolls = (
            ("roll_rate_current_to_1_30", "Current → 1–30"),
            ("roll_rate_1_30_to_31_60", "1–30 → 31–60"),
            ("roll_rate_31_60_to_61_90", "31–60 → 61–90"),
            ("roll_rate_61_90_to_91_plus", "61–90 → 91+"),
        )
        ui.chart(
            months,
            "month_start",
            [
                ui.Series(column, name, colour)
                for (column, name), colour in zip(rolls, ui.SEQUENTIAL[1:], strict=True)
            ],
            x_title="Month (roll from the previous month end)",
            y_title="Roll rate (%)",
            y_axis={"tickformat": ".0%", "range": [0, 1.05]},
            partial=partial,
        )

    st.markdown("**First-payment default by sign-up cohort**")
    judged = months[months["first_invoices_matured"] > 0]
    ui.chart(
        judged,
        "month_start",
        [
            ui.Series(
                "first_payment_default_rate",
                "First-payment default",
                ui.ORANGE,
                "bar",
                customdata=(
                    "first_payment_defaults",
                    "first_invoices_matured",
                    "new_subscriptions",
                ),
                hover="%{y:.1%}: %{customdata[0]} of %{customdata[1]} matured "
                "first invoices (%{customdata[2]} new subscriptions)<extra></extra>",
            )
        ],
        x_title="Sign-up month",
        y_title="First invoice 30+ days past due (%)",
        y_axis={"tickformat": ".1%", "rangemode": "tozero"},
        partial=partial,
    )
    st.caption(
        "Only subscriptions whose first invoice is at least 30 days past its due date can be "
        "judged; the latest sign-up months are therefore missing or thin."
    )

with ui.section("Breakdown by segment"):
    labels = {
        "plan": "Plan",
        "country": "Country",
        "payment_method": "Payment method",
        "currency": "Currency",
    }
    dimension = st.segmented_control(
        "Segment by", list(labels), format_func=labels.get, default="plan", key="delinq_dim"
    )
    segments = q.receivables_by_segment(f, dimension or "plan")
    if segments.empty:
        ui.empty_note("Segments", "invoices", purpose="the breakdown of receivables")
    else:
        top = segments.head(15)
        fig = go.Figure()
        for (column, name), colour in zip(BUCKETS[1:], ui.SEQUENTIAL[1:], strict=True):
            fig.add_bar(
                y=top["segment"], x=top[column], name=name, orientation="h", marker_color=colour
            )
        fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"})
        fig.update_xaxes(**ui.money_axis(currency))
        st.plotly_chart(
            ui.style(
                fig, x=f"Past-due amount ({currency})", y=labels[dimension or "plan"], height=420
            )
        )
        ui.table(
            segments,
            {
                "segment": ui.Col("label", labels[dimension or "plan"]),
                "open_receivables": ui.Col("money", f"Open ({currency})"),
                "past_due": ui.Col("money", f"Past due ({currency})"),
                "delinquency_rate": ui.Col("pct", "Delinquent (amount)"),
                "revenue_at_risk": ui.Col(
                    "money", f"At risk ({currency})", help="Revenue at risk: MRR, per month."
                ),
                "active_subscriptions": ui.Col("count", "Active subs"),
                "delinquent_subscriptions": ui.Col("count", "Delinquent subs"),
                "delinquency_rate_subscriptions": ui.Col("pct", "Delinquent (subs)"),
            },
            currency=currency,
            sort={"past_due": False},
        )
        last_day = pd.Timestamp(f.end) if f.end else None
        st.caption(
            f"On the last day of the date range{f' ({last_day:%d %b %Y})' if last_day else ''}; "
            "honours every sidebar filter."
        )

with ui.section(
    "Prevention (descriptive, not causal)",
    what="Prevention effects",
    not_filtered="prevention_effects covers all time and every segment: no sidebar filter applies.",
):
    effects = q.prevention_effects()
    names = {"is_verified": "Verified at sign-up", "used_3ds": "3-D Secure"}
    cols = st.columns(len(names))
    for col, (dimension_name, title) in zip(cols, names.items(), strict=True):
        rows = effects[effects["dimension"] == dimension_name]
        with col:
            st.markdown(f"**{title}**")
            # Keyed: on a warehouse without invoices both charts are empty, hence identical.
            ui.chart(
                rows.assign(group=rows["group_value"].map(ui.label)),
                "group",
                [
                    ui.Series(
                        "delinquent_invoice_rate", "Invoices ever past due", ui.ORANGE, "bar"
                    ),
                    ui.Series("dispute_rate", "Disputes per successful payment", ui.PURPLE, "bar"),
                ],
                x_title="Group",
                y_title="Rate (%)",
                y_axis={"tickformat": ".1%", "rangemode": "tozero"},
                height=300,
                key=f"prevention_{dimension_name}",
            )
    if effects.empty:
        ui.empty_note("Prevention effects", "invoices", purpose="prevention effects")
    st.caption(
        "All time, company-wide. Groups differ in more than the measure itself, so read these "
        "as descriptions, not as the measure's effect."
    )

with ui.guard("At risk"):
    horizon_days = q.window_days("risk_horizon_days")
    st.subheader(f"At risk: who may fall behind in the next {horizon_days} days")
    ui.company_wide("The delinquency score covers every subscription active at the as-of date.")
    model = q.subscription_risk_model()
    # A mixed-type row reads counts as floats: they are named one by one.
    summary = q.subscription_risk_summary().iloc[0]
    scored, high, medium = (int(summary[c]) for c in ("scored", "high", "medium"))
    if model.empty or model["status"].iloc[0] != "scored":
        reason = model["reason"].iloc[0] if not model.empty else "the score has not run yet."
        st.info(f"No delinquency score yet. {reason}", icon=":material/hourglass_empty:")
    elif scored == 0:
        st.info("No subscription is active at the as-of date.", icon=":material/filter_alt_off:")
    else:
        evaluation = q.subscription_risk_evaluation().set_index("model")
        auc = evaluation["roc_auc"]
        st.caption(
            f"{scored:,} active subscriptions scored; "
            f"{ui.money_exact(summary['expected_revenue_at_risk_reporting'], currency)} "
            f"expected MRR at risk; {high:,} high and {medium:,} "
            "medium risk. Expected revenue at risk = probability × MRR. Out-of-time ROC AUC "
            f"{auc.get('gradient_boosting', float('nan')):.2f} (rule 'any failed payment in "
            f"{q.window_days('risk_feature_window_days')} days': "
            f"{auc.get('rule_failed_payment_90d', float('nan')):.2f}). Reasons are the "
            "features that raise this subscription's score most; see docs/model_card.md."
        )
        ui.table(
            q.subscription_risk(limit=50),
            {
                "subscription_id": ui.Col("text", "Subscription"),
                "customer_id": ui.Col("text", "Customer"),
                "probability": ui.Col("pct", "Probability"),
                "risk_band": ui.Col("label", "Band"),
                "mrr_reporting": ui.Col("money", f"MRR ({currency})"),
                "expected_revenue_at_risk_reporting": ui.Col("money", f"At risk ({currency})"),
                "reason_1": ui.Col("text", "Reason 1"),
                "reason_2": ui.Col("text", "Reason 2"),
                "reason_3": ui.Col("text", "Reason 3"),
            },
            currency=currency,
            height=300,
            key="subscription_risk",
        )
        # Every score is a large fetch at scale (1.2M rows at 10M payment attempts): on demand.
        if st.toggle("Prepare every score as CSV", key="subscription_risk_csv"):
            ui.download_csv(
                q.subscription_risk(limit=None),
                "Download every score (CSV)",
                "subscription_risk.csv",
            )
