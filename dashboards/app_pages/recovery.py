"""Recovery: curves by cohort, channels, retries, decline codes, dunning, payment plans, write-offs."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q

f = ui.page_header(
    "Recovery",
    caption="What comes back after a failed or late payment, how, and how fast. The list of "
    "recoveries in progress honours every filter; the cohort, channel, retry and dunning marts "
    "have no segments, so those sections are company-wide (only the date range applies).",
)
currency = q.reporting_currency()
COMPANY_WIDE = "This mart has no plan, country, payment-method or currency segments: the "
COMPANY_WIDE += "sidebar's segment filters do not apply here (the date range does)."
FUNNEL_STAGES = ["Sent", "Opened", "Clicked"]
HIGHLIGHTED_COHORTS = 4  # recovery curves drawn in colour; the earlier ones are grey

with ui.section("Recoveries in progress"):
    in_progress = q.recoveries_in_progress(f)
    if in_progress.empty:
        ui.empty_note("Recoveries in progress", "invoices", purpose="recoveries in progress")
    else:
        total = in_progress["amount_remaining_reporting"].sum()
        unscheduled = int((in_progress["next_step"] == "none_scheduled").sum())
        st.caption(
            f"{len(in_progress):,} invoices in recovery at the as-of date, "
            f"{ui.money_exact(total, currency)} owed; {unscheduled:,} with no next step "
            "scheduled (a collector must act). Longest in recovery first; a snapshot, so the "
            "date range does not apply. The CSV below has every column (masked email, plan, "
            "country, last message)."
        )
        ui.table(
            in_progress,
            {
                "invoice_id": ui.Col("text", "Invoice"),
                "customer_id": ui.Col("text", "Customer"),
                "amount_remaining_reporting": ui.Col("money", f"Owed ({currency})"),
                "days_in_recovery": ui.Col("count", "Days in"),
                "last_attempt_at": ui.Col("date", "Last attempt"),
                "last_decline_code": ui.Col("label", "Last decline"),
                "last_message_template": ui.Col("label", "Last message"),
                "next_step": ui.Col("label", "Next step"),
                "next_step_at": ui.Col("date", "Due"),
            },
            currency=currency,
            height=300,
            key="recoveries_in_progress",
        )
        ui.download_csv(in_progress, "Download the list (CSV)", "recoveries_in_progress.csv")

with ui.section(
    "Failed vs recovered, by month", what="Failed vs recovered", not_filtered=COMPANY_WIDE
):
    by_month = q.recovery_monthly(f)
    churn = q.collections_monthly(f)
    if by_month.empty:
        ui.empty_note("Failed vs recovered", "payment_attempts", purpose="failed vs recovered")
    else:
        complete = by_month[by_month["is_complete_month"]]
        tiles = st.columns(3)
        if not complete.empty:
            latest, earlier = ui.latest_and_before(complete)
            month = f"{pd.Timestamp(latest['month_start']):%b %Y}"
            versus = None if earlier is None else f"vs {pd.Timestamp(earlier['month_start']):%b %Y}"
            for tile, (column, count, name, bad_when_up) in zip(
                tiles,
                (
                    ("amount_failed_reporting", "invoices_failed", "Failed", True),
                    ("amount_recovered_reporting", "invoices_recovered", "Recovered", False),
                ),
                strict=False,
            ):
                with tile:
                    ui.kpi(
                        f"{name} · {month}",
                        ui.money(latest[column], currency),
                        delta=None
                        if earlier is None
                        else ui.delta_rel(latest[column], earlier[column]),
                        bad_when_up=bad_when_up,
                        versus=versus,
                        trend=complete[column].astype(float).tolist(),
                        help=f"{month}, the latest complete month: amount due of the "
                        f"{int(latest[count]):,} invoices "
                        + (
                            "whose first payment attempt failed in the month."
                            if name == "Failed"
                            else "fully paid in the month after a failed payment, whichever "
                            "month it failed in."
                        ),
                    )
        whole_churn = churn[churn["is_complete_month"]]
        if not whole_churn.empty:
            latest_churn = whole_churn.iloc[-1]
            with tiles[2]:
                ui.kpi(
                    f"Involuntary MRR churn · {pd.Timestamp(latest_churn['month_start']):%b %Y}",
                    ui.pct(latest_churn["involuntary_mrr_churn_rate"], 2),
                    bad_when_up=True,
                    trend=whole_churn["involuntary_mrr_churn_rate"].astype(float).tolist(),
                    help=f"MRR of the subscriptions cancelled for non-payment "
                    f"({ui.money_exact(latest_churn['involuntary_churned_mrr_reporting'], currency)}) "
                    "÷ MRR of those active at the month start "
                    f"({ui.money_exact(latest_churn['mrr_at_month_start_reporting'], currency)}).",
                )
        ui.chart(
            by_month,
            "month_start",
            [
                ui.Series(
                    column,
                    name,
                    colour,
                    "bar",
                    hover="%{y:,.0f} (%{customdata:,} invoices)",
                    options={"customdata": by_month[count]},
                )
                for column, count, name, colour in (
                    (
                        "amount_failed_reporting",
                        "invoices_failed",
                        "Failed in the month",
                        ui.VERMILLION,
                    ),
                    (
                        "amount_recovered_reporting",
                        "invoices_recovered",
                        "Recovered in the month",
                        ui.GREEN,
                    ),
                )
            ],
            x_title="Month",
            y_title=f"Amount due ({currency})",
            y_axis=ui.money_axis(currency),
            layout={"barmode": "group"},
            height=320,
            partial=q.partial_months("recovery_monthly", f),
        )
        st.caption(
            "Money whose first payment attempt failed in each month beside the money recovered "
            "in it (failed in that month or earlier). Recovery by cohort, below, follows each "
            "month's failures to their outcome instead."
        )

with ui.section("First-attempt failure rate"):
    first = q.first_attempt_failures(f)
    if first.empty:
        ui.empty_note(
            "First attempts",
            "payment_attempts",
            "invoices",
            purpose="the first-attempt failure rate",
        )
    else:
        whole = first[first["is_complete_month"]]
        left, right = st.columns([1, 3], gap="large")
        if not whole.empty:
            latest, earlier = ui.latest_and_before(whole)
            month = f"{pd.Timestamp(latest['month_start']):%b %Y}"
            with left:
                ui.kpi(
                    f"First-attempt failure rate · {month}",
                    ui.pct(latest["first_attempt_failure_rate"]),
                    delta=None
                    if earlier is None
                    else ui.delta_pp(
                        latest["first_attempt_failure_rate"], earlier["first_attempt_failure_rate"]
                    ),
                    bad_when_up=True,
                    versus=None
                    if earlier is None
                    else f"vs {pd.Timestamp(earlier['month_start']):%b %Y}",
                    trend=whole["first_attempt_failure_rate"].astype(float).tolist(),
                    help=f"{month}, the latest complete month, in the sidebar's segments: "
                    f"{int(latest['first_attempts_failed']):,} of "
                    f"{int(latest['invoices_first_attempted']):,} recurring invoices failed their "
                    f"first payment attempt (by amount: "
                    f"{ui.pct(latest['first_attempt_amount_failure_rate'])}).",
                )
        with right:
            ui.chart(
                first,
                "month_start",
                [
                    ui.Series("first_attempt_failure_rate", "By invoices", ui.BLUE),
                    ui.Series("first_attempt_amount_failure_rate", "By amount due", ui.ORANGE),
                ],
                x_title="Month of the first attempt",
                y_title="First attempt failed (%)",
                y_axis={"tickformat": ".1%", "rangemode": "tozero"},
                height=280,
                partial=first.loc[~first["is_complete_month"], "month_start"].tolist(),
            )
        st.caption(
            "Recurring invoices whose first payment attempt failed ÷ those first attempted in the "
            "month; honours every sidebar filter (the customer's current payment method)."
        )

with ui.section("Recovery curves by cohort", what="Recovery curves", not_filtered=COMPANY_WIDE):
    recovery_days = q.window_days("recovery_window_days")
    curves = q.recovery_curves(f)
    cohorts = q.recovery_cohorts(f)
    if curves.empty:
        ui.empty_note("Recovery cohorts", "invoices", purpose="recovery cohorts")
    else:
        # A dozen near-identical colours cannot be told apart: the latest cohorts get the
        # palette's first colours, every earlier one is a thin grey line (hover names it).
        months = sorted(curves["cohort_month"].unique())
        highlighted = months[-HIGHLIGHTED_COHORTS:]
        colours = dict(zip(reversed(highlighted), ui.OKABE_ITO, strict=False))
        series = []
        for month in months:
            rows = curves[(curves["cohort_month"] == month) & curves["invoices_observed"].gt(0)]
            censored = not bool(rows["is_window_elapsed"].all()) if len(rows) else True
            name = f"{pd.Timestamp(month):%b %Y}{' (censored)' if censored else ''}"
            line = {"dash": "dot" if censored else "solid"}
            if month in colours:
                line |= {"color": colours[month], "width": 2.5}
                legend = {}
            else:
                # One legend entry stands for all the grey lines.
                first_grey = month == months[0]
                line |= {"color": ui.GREY, "width": 1}
                legend = {
                    "name": "Earlier cohorts" if first_grey else name,
                    "legendgroup": "earlier",
                    "showlegend": first_grey,
                    "opacity": 0.7,
                }
            series.append(
                ui.Series(
                    "recovered_share",
                    name,
                    line["color"],
                    rows=rows,
                    customdata=("invoices_recovered", "invoices_observed"),
                    hover=f"{name}, day %{{x}}: %{{y:.1%}} (%{{customdata[0]}} of "
                    "%{customdata[1]} invoices)<extra></extra>",
                    markers=False,
                    options={"line": line, **legend},
                )
            )
        ui.chart(
            curves,
            "days_since_entered",
            series,
            x_title="Days since entering recovery",
            y_title="Invoices recovered (cumulative %)",
            y_axis={"tickformat": ".0%", "range": [0, 1]},
            layout={"hovermode": "closest"},
            height=420,
            legend="Cohort",
        )
        st.caption(
            f"The latest {len(highlighted)} cohorts in colour, earlier ones in grey. Dotted: "
            f"censored cohorts — their {recovery_days}-day window has not elapsed for "
            "every invoice; each point only counts invoices observed for that many days."
        )
        table = cohorts.assign(
            status=[
                ("complete" if done else "censored") + ("" if whole else ", partial month")
                for done, whole in zip(
                    cohorts["is_window_elapsed"], cohorts["is_complete_month"], strict=True
                )
            ]
        )
        ui.table(
            table,
            {
                "cohort_month": ui.Col("month", "Cohort"),
                "status": ui.Col("text", "Window"),
                "invoices_entered": ui.Col("count", "Invoices"),
                "amount_entered_reporting": ui.Col("money", f"Entered ({currency})"),
                "cohort_invoices_window_elapsed": ui.Col(
                    "count",
                    "Judged",
                    help=f"Invoices whose own {recovery_days}-day window has elapsed.",
                ),
                "cohort_recovery_rate": ui.Col("pct", "Recovery rate"),
                "cohort_recovered_revenue_reporting": ui.Col("money", f"Recovered ({currency})"),
                "cohort_recovered_revenue_rate": ui.Col("pct", "Share of amount"),
                "cohort_median_days_to_recovery": ui.Col("number", "Median days"),
            },
            currency=currency,
            sort={"cohort_month": False},
        )

st.caption(
    "Recovery counts invoices whose first payment attempt failed. Invoices paid late without any "
    "attempt (bank transfer, never attempted) are below, never mixed in; an invoice paid at its "
    "first attempt is in neither."
)
with ui.guard("Late payments"):
    recovery_days = q.window_days("recovery_window_days")
    late = q.late_payment_cohorts(f)
    if not late.empty:
        st.markdown("**Late payments (no attempt before payment)**")
        ui.table(
            late,
            {
                "cohort_month": ui.Col("month", "Became past due"),
                "invoices_entered": ui.Col("count", "Past due"),
                "amount_entered_reporting": ui.Col("money", f"Amount ({currency})"),
                "cohort_invoices_window_elapsed": ui.Col("count", "Judged"),
                "cohort_invoices_recovered": ui.Col("count", f"Paid within {recovery_days} days"),
                "cohort_recovery_rate": ui.Col("pct", "Late-payment recovery rate"),
                "cohort_median_days_to_recovery": ui.Col("number", "Median days late"),
            },
            currency=currency,
            sort={"cohort_month": False},
        )
        ui.partial_months_note("late_payment_cohorts", f)

with ui.section("Recovery by channel", not_filtered=COMPANY_WIDE):
    recovery_days = q.window_days("recovery_window_days")
    channels = q.recovery_by_channel(f)
    if channels.empty:
        ui.empty_note("Recovery channels", "invoices", purpose="recovery by channel")
    else:
        left, right = st.columns([3, 2], gap="large")
        order = (
            channels.groupby("recovery_channel")["invoices_recovered"]
            .sum()
            .sort_values(ascending=False)
            .index.tolist()
        )
        with left:
            ui.chart(
                channels,
                "cohort_month",
                ui.series_by(
                    channels,
                    "recovery_channel",
                    "channel_recovery_rate",
                    dict(zip(order, ui.OKABE_ITO, strict=False)),
                    name=ui.label,
                    kind="bar",
                    customdata=("invoices_recovered_in_window", "cohort_invoices_window_elapsed"),
                    hover="%{y:.1%} (%{customdata[0]} of %{customdata[1]})",
                ),
                x_title="Cohort month",
                y_title=f"Recovered within {recovery_days} days (%)",
                y_axis={"tickformat": ".0%", "rangemode": "tozero"},
                stacked=True,
                legend="Channel",
                partial=q.partial_months("recovery_by_channel", f),
            )
            st.caption("The channels of a cohort add up to its recovery rate.")
            ui.partial_months_note("recovery_by_channel", f)
        with right:
            totals = (
                channels.groupby("recovery_channel", as_index=False)[
                    ["invoices_recovered", "amount_recovered_reporting"]
                ]
                .sum()
                .sort_values("amount_recovered_reporting", ascending=False)
            )
            ui.table(
                totals,
                {
                    "recovery_channel": ui.Col("label", "Channel"),
                    "invoices_recovered": ui.Col("count", "Invoices"),
                    "amount_recovered_reporting": ui.Col("money", f"Recovered ({currency})"),
                },
                currency=currency,
            )
            st.caption("All recoveries of the cohorts in the date range, before any write-off.")

with ui.section("Card-update rate", not_filtered=COMPANY_WIDE):
    updates = q.card_update_cohorts(f)
    if updates.empty:
        ui.empty_note("Card updates", "invoices", purpose="the card-update rate")
    # Without the feed every cohort would read 0 %: say what is missing instead.
    elif not ui.missing_feeds("the card-update rate", "payment_method_updates"):
        counts = zip(updates["invoices_with_card_update"], updates["invoices_entered"], strict=True)
        ui.chart(
            updates,
            "cohort_month",
            [
                ui.Series(
                    "card_update_rate",
                    "Card-update rate",
                    ui.BLUE,
                    "bar",
                    customdata=("invoices_with_card_update", "invoices_entered"),
                    hover="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} "
                    "invoices)<extra></extra>",
                    options={
                        "text": [f"{n:,} of {d:,}" for n, d in counts],
                        "textposition": "outside",
                    },
                )
            ],
            x_title="Month of entering recovery",
            y_title="Customers who changed payment method (%)",
            y_axis={"tickformat": ".0%", "rangemode": "tozero"},
            height=300,
            # The same cohort months as recovery_cohorts (failed-payment entries), which carries
            # their completeness.
            partial=q.partial_months("recovery_cohorts", f),
        )
        st.caption(
            "Invoices that entered recovery after a failed payment whose customer changed "
            "payment method while the invoice was in recovery ÷ invoices that entered "
            "(docs/metrics.md). Young cohorts can still grow."
        )

with ui.section(
    "Retries",
    what="Retry success heatmap",
    not_filtered=COMPANY_WIDE,
    caption="All time (retry_performance has no date). Attempts on invoices; card checks excluded.",
):
    heat = q.retry_heatmap()
    if heat.empty:
        ui.empty_note("Retries", "payment_attempts", "invoices", purpose="retry analysis")
    else:
        labels = heat.drop_duplicates("hours_since_previous_attempt").sort_values(
            "hours_sort_order"
        )

        def cells(values: str):
            return heat.pivot_table(
                index="attempt_number", columns="hours_since_previous_attempt", values=values
            ).reindex(columns=labels["hours_since_previous_attempt"])

        grid, successes, attempts = cells("success_rate"), cells("successes"), cells("attempts")
        # A 0 % or 100 % cell of 2 retries is not one of 2,000: every cell says "k of n".
        counts = [
            [
                "" if pd.isna(n) else f"{int(k):,} of {int(n):,}"
                for k, n in zip(k_row, n_row, strict=True)
            ]
            for k_row, n_row in zip(successes.values, attempts.values, strict=True)
        ]
        fig = go.Figure(
            go.Heatmap(
                z=grid.values,
                x=grid.columns,
                y=[str(n) for n in grid.index],
                text=counts,
                texttemplate="%{text}",
                textfont={"size": 10},
                colorscale=ui.HEATMAP_SCALE,
                zmin=0,
                zmax=1,
                colorbar={"title": "Success", "tickformat": ".0%"},
                hovertemplate="attempt %{y}, %{x} after the previous: %{z:.1%} "
                "(%{text} retries succeeded)<extra></extra>",
            )
        )
        st.plotly_chart(ui.style(fig, x="Hours since the previous attempt", y="Attempt number"))
with ui.guard("Retry performance"):
    retries = q.retry_performance()
    left, right = st.columns(2, gap="large")
    for col, dimension, x_title in (
        (left, "attempt_number", "Attempt number (1 = first attempt)"),
        (right, "hours_since_previous_attempt", "Hours since the previous attempt"),
    ):
        rows = retries[retries["dimension"] == dimension].sort_values("sort_order")
        with col:
            ui.chart(
                rows,
                "dimension_value",
                [
                    ui.Series(
                        "success_rate",
                        "",
                        ui.BLUE,
                        "bar",
                        customdata=("successes", "attempts"),
                        hover="%{y:.1%} (%{customdata[0]} of %{customdata[1]})<extra></extra>",
                    )
                ],
                x_title=x_title,
                y_title="Success rate (%)",
                x_axis={"type": "category"},
                y_axis={"tickformat": ".0%", "range": [0, 1]},
                height=300,
            )
    wasted = int(
        retries.loc[retries["dimension"] == "attempt_number", "retries_after_hard_decline"].sum()
    )
    if wasted:
        st.warning(
            f"{wasted:,} retries followed a hard or fraud decline: they cannot succeed on the "
            "same card, cost fees and breach Visa's retry rules.",
            icon=":material/report:",
        )

with ui.section("Decline codes", what="Decline classes over time", not_filtered=COMPANY_WIDE):
    classes = q.decline_classes_daily(f)
    if not classes.empty:
        weekly = (
            classes.assign(week=pd.to_datetime(classes["day"]).dt.to_period("W").dt.start_time)
            .groupby(["week", "decline_class"], as_index=False)["failures"]
            .sum()
        )
        class_colours = {
            "soft": ui.SKY,
            "hard": ui.ORANGE,
            "fraud": ui.VERMILLION,
            "unknown": ui.GREY,
        }
        ui.chart(
            weekly,
            "week",
            ui.series_by(weekly, "decline_class", "failures", class_colours, kind="bar"),
            x_title="Week",
            y_title="Failed attempts",
            stacked=True,
            legend="Decline class",
        )
with ui.guard("Retry success after each decline code"):
    retries = q.retry_performance()
    codes = retries[
        (retries["dimension"] == "previous_decline_code") & (retries["dimension_value"] != "none")
    ].sort_values("attempts", ascending=False)
    st.markdown("**What happens on the retry after each decline code**")
    ui.table(
        codes,
        {
            "dimension_value": ui.Col("label", "Previous decline code"),
            "attempts": ui.Col("count", "Retries"),
            "success_rate": ui.Col("pct", "Retry success"),
            "amount_collected_reporting": ui.Col("money", f"Collected ({currency})"),
        },
        currency=currency,
        height=320,
    )

with ui.section("Dunning funnel", not_filtered=COMPANY_WIDE):
    attribution_days = q.window_days("dunning_attribution_days")
    funnel = q.dunning_funnel(f)
    if funnel.empty:
        ui.empty_note("Dunning messages", "dunning_messages", purpose="the dunning funnel")
    else:
        by_channel = funnel.groupby("channel", as_index=False)[
            [
                "messages_sent",
                "messages_opened",
                "messages_clicked",
                "messages_measured",
                "invoices_paid_in_window",
            ]
        ].sum()
        left, right = st.columns([1, 2], gap="large")  # the table's seven columns need 2/3
        with left:
            # Only nested stages make a funnel: sent → opened → clicked. "Paid within N days" is
            # measured on another population (messages about an unpaid invoice whose window has
            # passed, clicked or not), so drawn as a stage it was wider than "clicked": it is
            # its own chart below, "k of n" of the messages it is measured on.
            # One funnel over every channel (the table beside it has each channel's rates):
            # several funnels stacked in a third of the page could not be read.
            totals = by_channel[["messages_sent", "messages_opened", "messages_clicked"]].sum()
            fig = go.Figure(
                go.Funnel(
                    y=FUNNEL_STAGES,
                    x=totals.tolist(),
                    marker_color=ui.BLUE,
                    textinfo="value+percent initial",
                    texttemplate="%{value:,.0f} (%{percentInitial:.1%})",  # 35,649, not 35.649k
                    hovertemplate="%{y}: %{x:,} messages<extra></extra>",
                )
            )
            st.plotly_chart(
                ui.style(fig, x="Messages (every channel)", y="Funnel step", height=280)
            )
            paid = go.Figure()
            paid.add_bar(
                y=[ui.label(c) for c in by_channel["channel"]],
                x=by_channel["invoices_paid_in_window"]
                / by_channel["messages_measured"].where(by_channel["messages_measured"] > 0),
                orientation="h",
                marker_color=ui.GREEN,
                text=[
                    f"{int(k):,} of {int(n):,}"
                    for k, n in zip(
                        by_channel["invoices_paid_in_window"],
                        by_channel["messages_measured"],
                        strict=True,
                    )
                ],
                textposition="auto",
                hovertemplate="%{y}: %{x:.1%} (%{text} measured messages)<extra></extra>",
            )
            paid.update_xaxes(tickformat=".0%", rangemode="tozero")
            st.plotly_chart(
                ui.style(
                    paid,
                    x=f"Paid within {attribution_days} days (%)",
                    y="Channel",
                    height=220,
                )
            )
        with right:
            table = funnel.assign(
                open_rate=funnel["messages_opened"] / funnel["messages_sent"],
                click_rate=funnel["messages_clicked"] / funnel["messages_sent"],
                paid_rate=funnel["invoices_paid_in_window"]
                / funnel["messages_measured"].where(funnel["messages_measured"] > 0),
            )
            ui.table(
                table,
                {
                    "channel": ui.Col("label", "Channel"),
                    "template": ui.Col("label", "Template"),
                    "messages_sent": ui.Col("count", "Sent"),
                    "open_rate": ui.Col("pct", "Opened"),
                    "click_rate": ui.Col("pct", "Clicked"),
                    "messages_measured": ui.Col(
                        "count",
                        "Measured",
                        help=f"Messages about an unpaid invoice whose {attribution_days}-day "
                        "window has elapsed.",
                    ),
                    "paid_rate": ui.Col("pct", f"Paid within {attribution_days} days"),
                },
                currency=currency,
                sort={"messages_sent": False},
                height=380,
            )
        st.caption(
            f"Send months overlapping the date range. 'Paid within {attribution_days} days' is "
            "measured on messages about an invoice still unpaid when sent, once their "
            f"{attribution_days} days have passed. Clicks can exceed opens where an email "
            "client blocks open tracking."
        )
        ui.partial_months_note("dunning_funnel", f)

left, right = st.columns(2, gap="large")
with left, ui.section("Payment plans", not_filtered=COMPANY_WIDE):
    plans = q.payment_plan_outcomes(f)
    if plans.empty:
        ui.empty_note("Payment plans", "payment_plans", purpose="payment-plan outcomes")
    else:
        totals = plans.groupby("outcome")["plans"].sum()
        tiles = st.columns(4)
        for tile, outcome in zip(
            tiles, ("completed", "active", "broken", "cancelled"), strict=True
        ):
            tile.metric(outcome.capitalize(), f"{int(totals.get(outcome, 0)):,}")
        st.caption(
            f"{int(plans['plans'].sum()):,} plans accepted in the date range; "
            f"{ui.money(plans['amount_collected'].sum(), currency, compact=False)} collected "
            f"through them of {ui.money(plans['amount_agreed'].sum(), currency, compact=False)} "
            "agreed."
        )
        by_month = plans.groupby(["agreed_month", "outcome"], as_index=False)["plans"].sum()
        outcome_colours = {
            "completed": ui.GREEN,
            "active": ui.SKY,
            "broken": ui.VERMILLION,
            "cancelled": ui.GREY,
        }
        ui.chart(
            by_month,
            "agreed_month",
            ui.series_by(by_month, "outcome", "plans", outcome_colours, kind="bar"),
            x_title="Month agreed",
            y_title="Plans",
            stacked=True,
            height=300,
            legend="Outcome",
            partial=q.partial_months("payment_plan_outcomes", f),
        )
        ui.partial_months_note("payment_plan_outcomes", f)
with right, ui.section("Write-offs", not_filtered=COMPANY_WIDE):
    months = q.collections_monthly(f)
    ui.chart(
        months,
        "month_start",
        [
            ui.Series(
                "written_off_reporting",
                f"Written off in the month ({currency})",
                ui.VERMILLION,
                "bar",
            ),
            ui.Series(
                "write_off_rate",
                "Write-off rate of the billing month",
                ui.BLACK,
                options={"yaxis": "y2"},
            ),
        ],
        x_title="Month",
        y_title=f"Written off ({currency})",
        y_axis=ui.money_axis(currency),
        layout={
            "yaxis2": {
                "title": "Write-off rate (%)",
                "overlaying": "y",
                "side": "right",
                "tickformat": ".2%",
                "rangemode": "tozero",
            }
        },
        height=380,
        partial=q.partial_months("collections_monthly", f),
    )
    ui.partial_months_note("collections_monthly", f)
    st.caption(
        "Write-off rate: amount eventually written off of the invoices billed in the month ÷ "
        "amount billed (grows as a billing month ages)."
    )
