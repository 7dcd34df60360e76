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
money_axis = {"tickprefix": ui.symbol(currency), "tickformat": ",.0f"}
BUCKETS = (
    ("current", "Current (not yet due)"),
    ("past_due_1_30", "1–30 days"),
    ("past_due_31_60", "31–60 days"),
    ("past_due_61_90", "61–90 days"),
    ("past_due_91_plus", "91+ days"),
)

with ui.guard("Receivables by age"):
    st.subheader("Receivables by ageing bucket")
    daily = q.receivables_daily(f)
    if daily.empty:
        ui.empty_note("Receivables", "invoices", purpose="the ageing of receivables")
    else:
        fig = go.Figure()
        for (column, name), colour in zip(BUCKETS, ui.SEQUENTIAL, strict=True):
            fig.add_scatter(
                x=daily["date_day"],
                y=daily[column],
                name=name,
                stackgroup="age",
                mode="lines",
                line={"width": 0.5, "color": colour},
            )
        fig.update_yaxes(**money_axis)
        st.plotly_chart(
            ui.style(fig, x="Day (end of day, UTC)", y=f"Open receivables ({currency})")
        )
        st.caption("Honours every sidebar filter. Amounts at each day's end.")

st.subheader("Monthly collection metrics")
ui.company_wide(
    "collections_monthly has no segments: only the date range applies, not the plan, country, "
    "payment-method or currency filters."
)
with ui.guard("Monthly collection metrics"):
    months = q.collections_monthly(f)
    partial = q.partial_months("collections_monthly", f)
    complete = months[months["is_complete_month"]]
    if not complete.empty:
        latest = complete.iloc[-1]
        st.caption(
            f"Tiles: {latest['month_start']:%B %Y}, the latest complete month in the date range."
        )
        tiles = st.columns(4)
        with tiles[0]:
            ui.kpi(
                f"DSO · {latest['month_start']:%b %Y}",
                ui.number(latest["dso_days"], 1, " days"),
                trend=complete["dso_days"].astype(float).tolist(),
                help=f"{latest['month_start']:%b %Y}: closing receivables ÷ billed × days in "
                "the month.",
            )
        with tiles[1]:
            ui.kpi(
                f"CEI · {latest['month_start']:%b %Y}",
                ui.number(latest["cei_pct"], 1, "%"),
                trend=complete["cei_pct"].astype(float).tolist(),
                help=f"{latest['month_start']:%b %Y}: collection effectiveness index — "
                "(opening + billed − closing) ÷ (opening + billed − closing current) × 100.",
            )
        with tiles[2]:
            ui.kpi(
                f"Collected · {latest['month_start']:%b %Y}",
                ui.money(latest["collected_reporting"], currency),
                trend=complete["collected_reporting"].astype(float).tolist(),
                help=f"Payments received on receivable invoices in {latest['month_start']:%b %Y}.",
            )
        with tiles[3]:
            ui.kpi(
                f"Written off · {latest['month_start']:%b %Y}",
                ui.money(latest["written_off_reporting"], currency),
                trend=complete["written_off_reporting"].astype(float).tolist(),
                help=f"Amount written off in {latest['month_start']:%b %Y}.",
            )

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**DSO and CEI by month**")
        fig = go.Figure()
        fig.add_bar(
            x=months["month_start"], y=months["dso_days"], name="DSO (days)", marker_color=ui.SKY
        )
        fig.add_scatter(
            x=months["month_start"],
            y=months["cei_pct"],
            name="CEI (%)",
            yaxis="y2",
            mode="lines+markers",
            line={"color": ui.VERMILLION},
        )
        fig.update_layout(
            yaxis2={
                "title": "CEI (%)",
                "overlaying": "y",
                "side": "right",
                "range": [0, 105],
                "ticksuffix": "%",
            }
        )
        ui.monthly(fig, partial)
        st.plotly_chart(ui.style(fig, x="Month", y="DSO (days)"))
        ui.partial_months_note("collections_monthly", f)
    with right:
        st.markdown("**Roll rates** (share of a bucket's amount that rolls into the next)")
        fig = go.Figure()
        rolls = (
            ("roll_rate_current_to_1_30", "Current → 1–30"),
            ("roll_rate_1_30_to_31_60", "1–30 → 31–60"),
            ("roll_rate_31_60_to_61_90", "31–60 → 61–90"),
            ("roll_rate_61_90_to_91_plus", "61–90 → 91+"),
        )
        for (column, name), colour in zip(rolls, ui.SEQUENTIAL[1:], strict=True):
            fig.add_scatter(
                x=months["month_start"],
                y=months[column],
                name=name,
                mode="lines+markers",
                line={"color": colour},
            )
        fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
        ui.monthly(fig, partial)
        st.plotly_chart(
            ui.style(fig, x="Month (roll from the previous month end)", y="Roll rate (%)")
        )

    st.markdown("**First-payment default by sign-up cohort**")
    judged = months[months["first_invoices_matured"] > 0]
    fig = go.Figure()
    fig.add_bar(
        x=judged["month_start"],
        y=judged["first_payment_default_rate"],
        marker_color=ui.ORANGE,
        name="First-payment default",
        customdata=judged[
            ["first_payment_defaults", "first_invoices_matured", "new_subscriptions"]
        ],
        hovertemplate="%{y:.1%}: %{customdata[0]} of %{customdata[1]} matured first invoices "
        "(%{customdata[2]} new subscriptions)<extra></extra>",
    )
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    ui.monthly(fig, partial)
    st.plotly_chart(ui.style(fig, x="Sign-up month", y="First invoice 30+ days past due (%)"))
    st.caption(
        "Only subscriptions whose first invoice is at least 30 days past its due date can be "
        "judged; the latest sign-up months are therefore missing or thin."
    )

st.subheader("Breakdown by segment")
with ui.guard("Breakdown by segment"):
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
        fig.update_xaxes(**money_axis)
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

st.subheader("Prevention (descriptive, not causal)")
ui.company_wide("prevention_effects covers all time and every segment: no sidebar filter applies.")
with ui.guard("Prevention effects"):
    effects = q.prevention_effects()
    names = {"is_verified": "Verified at sign-up", "used_3ds": "3-D Secure"}
    cols = st.columns(len(names))
    for col, (dimension_name, title) in zip(cols, names.items(), strict=True):
        rows = effects[effects["dimension"] == dimension_name]
        with col:
            st.markdown(f"**{title}**")
            fig = go.Figure()
            fig.add_bar(
                x=rows["group_value"].map(ui.label),
                y=rows["delinquent_invoice_rate"],
                name="Invoices ever past due",
                marker_color=ui.ORANGE,
            )
            fig.add_bar(
                x=rows["group_value"].map(ui.label),
                y=rows["dispute_rate"],
                name="Disputes per successful payment",
                marker_color=ui.PURPLE,
            )
            fig.update_yaxes(tickformat=".1%", rangemode="tozero")
            # Keyed: on a warehouse without invoices both charts are empty, hence identical.
            st.plotly_chart(
                ui.style(fig, x="Group", y="Rate (%)", height=300),
                key=f"prevention_{dimension_name}",
            )
    if effects.empty:
        ui.empty_note("Prevention effects", "invoices", purpose="prevention effects")
    st.caption(
        "All time, company-wide. Groups differ in more than the measure itself, so read these "
        "as descriptions, not as the measure's effect."
    )
