"""Fraud & alerts, for on-call: incidents and their drill-down, failure rates against their
expected band, dispute ratios against the card networks' thresholds, card testing."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q
from dashboards.filters import FILTER_LABELS, Filters

f = ui.page_header(
    "Fraud & alerts",
    caption="Anomalous failure rates, dispute waves, network ratios and card testing. The "
    "segment filters pick which failure-rate segments to chart.",
)
currency = q.reporting_currency()
NOT_SEGMENTED = (
    "Only the date range applies here: the plan, country, payment-method and processor filters "
    "pick the failure-rate segments below, not these rows."
)
SEVERITY_ORDER = {"critical": 0, "high": 1, "warning": 2}
LEVEL_COLOURS = {1: ui.ORANGE, 2: ui.VERMILLION, 3: ui.BLACK}  # early warning → high excessive


def failure_chart(rates: pd.DataFrame, title: str, height: int = 320) -> go.Figure:
    """Observed failure rate, its expected band (expected → upper bound) and anomalies marked."""
    band = {"width": 0, "color": ui.SKY}
    series = [
        ui.Series(
            "expected_rate",
            "",
            ui.SKY,
            markers=False,
            options={"line": band, "showlegend": False, "hoverinfo": "skip"},
        ),
        ui.Series(
            "expected_rate_upper",
            "Expected (band to its upper bound)",
            ui.SKY,
            hover="expected up to %{y:.1%}<extra></extra>",
            markers=False,
            options={
                "line": band,
                "fill": "tonexty",
                "fillcolor": "rgba(86,180,233,0.35)",
            },
        ),
        ui.Series(
            "failure_rate",
            "Observed failure rate",
            ui.BLUE,
            customdata=("failures", "attempts"),
            hover="%{y:.1%} (%{customdata[0]} of %{customdata[1]} attempts)<extra></extra>",
            markers=False,
            options={"line": {"color": ui.BLUE, "width": 1.5}},
        ),
    ]
    anomalies = rates[rates["is_anomalous"]]
    if not anomalies.empty:
        series.append(
            ui.Series(
                "failure_rate",
                "Anomalous window",
                ui.VERMILLION,
                "marks",
                rows=anomalies,
                customdata=("score", "revenue_affected"),
                hover="anomalous: score %{customdata[0]:.0f}, "
                + ui.symbol(currency)
                + "%{customdata[1]:,.0f} affected<extra></extra>",
            )
        )
    fig = ui.figure(
        rates, "window_start", series, y_axis={"tickformat": ".0%", "rangemode": "tozero"}
    )
    fig.update_layout(title={"text": title, "font": {"size": 14}})
    return ui.style(fig, x="Window start (UTC)", y="Failure rate (%)", height=height)


with ui.section("Incidents", not_filtered=NOT_SEGMENTED):
    incidents = q.incidents(f)
    if not incidents.attrs.get("has_alerts"):
        st.caption(
            "Alert state (acknowledgements, notifications) is not published yet: states come "
            "from the incidents themselves."
        )
    if incidents.empty:
        st.success("No incident in the date range.", icon=":material/check_circle:")
    else:
        counts = incidents["state"].value_counts()
        tiles = st.columns(4)
        for tile, state in zip(
            tiles, ("open", "acknowledged", "resolving", "resolved"), strict=True
        ):
            tile.metric(state.capitalize(), f"{int(counts.get(state, 0)):,}")
        listing = incidents.assign(
            severity_rank=incidents["severity"].map(SEVERITY_ORDER)
        ).sort_values(["is_open", "severity_rank", "started_at"], ascending=[False, True, False])
        selection = ui.table(
            listing,
            {
                "state": ui.Col("label", "State"),
                "severity": ui.Col("label", "Severity"),
                "incident_type": ui.Col("label", "Type"),
                "segment_type": ui.Col("label", "Segment"),
                "segment_value": ui.Col("text", "Value"),
                "started_at": ui.Col("datetime", "Started (UTC)"),
                "ended_at": ui.Col("datetime", "Ended (UTC)"),
                "revenue_affected": ui.Col("money", f"Affected ({currency})"),
                "summary": ui.Col("text", "Summary", width=170),  # in full in the drill-down
            },
            currency=currency,
            on_select="rerun",
            selection_mode="single-row",
            key="incident_table",
        )
        rows = selection.selection.rows if selection else []
        # An alert's link names its incident (`?incident_id=`): open that one first.
        linked = listing.index[listing["incident_id"] == st.query_params.get("incident_id")]
        if rows:
            chosen = listing.iloc[rows[0]]
        elif len(linked):
            chosen = listing.loc[linked[0]]
        else:
            chosen = listing.iloc[0]
        st.markdown(
            f"#### Drill-down: {chosen['incident_type'].replace('_', ' ')} · "
            f"{chosen['segment_type']} = `{chosen['segment_value']}`"
        )
        if not rows and len(linked):
            st.caption("Showing the incident of the alert link; select a row to see another.")
        elif not rows:
            st.caption("Showing the first incident; select a row above to drill into another.")
        st.write(chosen["summary"])
        unit = chosen["value_unit"]
        fmt = ui.pct if unit in ("rate", "ratio") else ui.number
        tiles = st.columns(5)
        tiles[0].metric("State", chosen["state"])
        tiles[1].metric("Severity", chosen["severity"])
        tiles[2].metric("Observed", fmt(chosen["observed_value"]))
        tiles[3].metric("Expected", fmt(chosen["expected_value"]))
        tiles[4].metric("Revenue affected", ui.money(chosen["revenue_affected"], currency))
        if chosen["detector"] == "failure_rate":
            start = pd.Timestamp(chosen["started_at"]) - pd.Timedelta(days=2)
            end = pd.Timestamp(
                chosen["ended_at"] if pd.notna(chosen["ended_at"]) else chosen["as_of"]
            )
            grain = "hour" if chosen["window_grain"] == "hour" else "day"
            window = Filters(start=start.date(), end=(end + pd.Timedelta(days=2)).date())
            rates = q.failure_rates(
                window, grain, [(chosen["segment_type"], chosen["segment_value"])]
            )
            if not rates.empty:
                st.plotly_chart(
                    failure_chart(rates, f"{chosen['segment_type']} = {chosen['segment_value']}"),
                    key="incident_chart",
                )
        windows = q.incident_anomalies(chosen["incident_id"])
        customers = windows.loc[windows["segment_type"] == "customer", "segment_value"].unique()
        for customer_id in customers[:5]:
            st.page_link(
                "app_pages/customer_lookup.py",
                label=f"Customer {customer_id} in the customer lookup",
                icon=":material/person_search:",
                query_params={"customer": customer_id},
            )
        with st.expander("Anomalous windows of this incident (collateral included)"):
            ui.table(windows, currency=currency, sort={"window_start": True})
            st.caption("The same rows in the SQL workbench:")
            st.code(chosen["drill_query"], language="sql")
        if incidents.attrs.get("has_alerts"):
            with st.expander("Alert history"):
                ui.table(q.alert_events(chosen["incident_id"]), currency=currency)

with ui.section("Failure rate against its expected band", what="Failure rates"):
    watched = q.failure_segments()
    keys = [
        f"{t} = {v}" for t, v in zip(watched["segment_type"], watched["segment_value"], strict=True)
    ]
    # Sidebar choices become the default segments: one chart per chosen value.
    defaults = [
        f"{q.FAILURE_SEGMENTS[name]} = {value}"
        for name in q.FAILURE_SEGMENTS
        for value in f.values(name)
        if f"{q.FAILURE_SEGMENTS[name]} = {value}" in keys
    ] or ["overall = all"]
    left, right = st.columns([4, 1])
    with left:
        picked = st.multiselect(
            "Segments",
            keys,
            default=[key for key in defaults if key in keys][:6],
            max_selections=6,
            help="Defaults to the sidebar's "
            + ", ".join(FILTER_LABELS[name].lower() for name in q.FAILURE_SEGMENTS)
            + " choices (country = the card's issuing country).",
        )
    with right:
        grain = st.segmented_control(
            "Window", ["day", "hour"], default="day", key="failure_grain", format_func=str.title
        )
    segments = [tuple(key.split(" = ", 1)) for key in picked]
    rates = q.failure_rates(f, grain or "day", segments)
    if rates.empty:  # no segment picked returns a frame without columns: nothing to group
        ui.empty_note("Failure rates", "payment_attempts", purpose="failure monitoring")
    else:
        for (segment_type, segment_value), rows in rates.groupby(
            ["segment_type", "segment_value"], sort=False
        ):
            st.plotly_chart(failure_chart(rows, f"{segment_type} = {segment_value}"))
    st.caption(
        "Band: the rate the segment's own history predicts for that hour of the week (or "
        "weekday), up to the upper bound the significance test uses; none where there is no "
        "history yet. ✕ = anomalous window."
    )
    # Say what could not be judged: a quiet chart is not a clean bill of health.
    status = q.monitoring_status()
    charted = rates["evaluation_status"].value_counts() if not rates.empty else pd.Series()
    thin, unbased = (int(charted.get(key, 0)) for key in ("insufficient_volume", "no_baseline"))
    limits = []
    if thin:
        limits.append(
            f"{thin:,} have fewer than {int(status['min_window_attempts'])} attempts, below what "
            "monitoring can judge"
        )
    if unbased:
        limits.append(f"{unbased:,} have no baseline yet (no expected band)")
    if limits:
        st.info(
            f"Of the {len(rates):,} windows charted, {' and '.join(limits)}: none of them can raise "
            "an alert on its own.",
            icon=":material/info:",
        )
    if status["evaluation_status"] != "evaluated":
        st.caption(status["evaluation_note"])

with ui.section(
    "Disputes against the card networks' thresholds",
    what="Network dispute ratios",
    not_filtered=NOT_SEGMENTED,
):
    ratios = q.dispute_network_ratios(f)
    if ratios.empty:
        ui.empty_note("Dispute ratios", "disputes", "payment_attempts", purpose="dispute ratios")
    names = {
        "visa_vamp": "Visa VAMP: (fraud reports + disputes) ÷ settled CNP transactions, same month",
        "mastercard_ecp": "Mastercard ECP: chargebacks ÷ last month's transactions",
    }
    cols = st.columns(2, gap="large")
    for col, (program, rows) in zip(cols, ratios.groupby("program", sort=True), strict=False):
        months = rows.drop_duplicates("month_start")
        # A level counts only with enough cases: a ratio over a threshold line on a handful of
        # cases reaches nothing. Each bar says its cases, and a month below the smallest
        # level's case minimum is drawn faded and hatched, so the chart and the verdict agree.
        case_minimum = int(rows["min_cases"].min())
        cases = months["projected_cases"].where(~months["is_complete_month"], months["cases"])
        too_few = (cases < case_minimum).tolist()
        with col:
            st.markdown(f"**{names.get(program, program)}**")
            series = [
                ui.Series(
                    "ratio",
                    f"Ratio (hatched: fewer than {case_minimum:,} cases, no level applies)",
                    ui.BLUE,
                    "bar",
                    customdata=("cases", "transactions"),
                    hover="%{y:.2%} (%{customdata[0]} cases ÷ %{customdata[1]})<extra></extra>",
                    options={
                        "marker_color": [
                            ui.BLUE if done else ui.SKY for done in months["is_complete_month"]
                        ],
                        "marker_opacity": [0.45 if few else 1.0 for few in too_few],
                        "marker_pattern_shape": ["x" if few else "" for few in too_few],
                        "text": [f"{int(n):,} cases" if n else "" for n in months["cases"]],
                        "textposition": "outside",
                    },
                )
            ]
            current = months[~months["is_complete_month"]]
            if not current.empty:
                series.append(
                    ui.Series(
                        "projected_ratio",
                        "Projected to month end",
                        ui.BLACK,
                        "marks",
                        rows=current,
                        options={
                            "marker": {"symbol": "diamond-open", "size": 12, "color": ui.BLACK}
                        },
                    )
                )
            series += [
                ui.Series(
                    "ratio_threshold",
                    f"{level_rows['level'].iloc[0].replace('_', ' ')} "
                    f"(min {int(level_rows['min_cases'].iloc[0]):,} cases)",
                    LEVEL_COLOURS.get(rank, ui.GREY),
                    markers=False,
                    rows=level_rows,
                    options={
                        "line": {
                            "shape": "hvh",
                            "dash": "dash",
                            "color": LEVEL_COLOURS.get(rank, ui.GREY),
                        }
                    },
                )
                for rank, level_rows in rows.groupby("level_rank", sort=True)
            ]
            ui.chart(
                months,
                "month_start",
                series,
                x_title="Month",
                y_title="Dispute ratio (%)",
                y_axis={"tickformat": ".1%", "rangemode": "tozero"},
                height=340,
                partial=months.loc[~months["is_complete_month"], "month_start"].tolist(),
            )
            reached = rows[rows["is_reached"] | rows["is_projected_reached"]]
            over_the_line = rows[
                (rows["projected_ratio"] >= rows["ratio_threshold"]) & ~rows["is_projected_reached"]
            ]
            if reached.empty and not over_the_line.empty:
                listed = ", ".join(
                    f"{pd.Timestamp(m):%b %Y}" for m in over_the_line["month_start"].unique()
                )
                st.caption(
                    f"No program level reached or projected in the date range: the ratio is over "
                    f"a threshold in {listed}, but with fewer cases than that level's minimum "
                    f"(at least {case_minimum:,} cases for any level)."
                )
            elif reached.empty:
                st.caption("No program level reached or projected in the date range.")
            else:
                latest = reached.sort_values(["month_start", "level_rank"]).iloc[-1]
                st.warning(
                    f"{latest['level'].replace('_', ' ')} level "
                    f"{'reached' if latest['is_reached'] else 'projected'} in "
                    f"{pd.Timestamp(latest['month_start']):%b %Y}: ratio "
                    f"{ui.pct(latest['projected_ratio'], 2)} vs threshold "
                    f"{ui.pct(latest['ratio_threshold'], 2)}, {int(latest['projected_cases'])} "
                    f"projected cases (minimum {int(latest['min_cases']):,}).",
                    icon=":material/warning:",
                )
with ui.guard("Daily disputes"):
    disputes = q.disputes_daily(f)
    st.markdown("**Disputes opened per day, against the expected count**")
    if disputes.empty:
        ui.empty_note("Daily disputes", "disputes", purpose="dispute monitoring")
    else:
        series = [
            ui.Series("chargebacks", "Chargebacks", ui.BLUE, "bar"),
            ui.Series("fraud_reports", "Fraud reports", ui.ORANGE, "bar"),
            ui.Series(
                "expected_disputes", "Expected disputes", ui.BLACK, markers=False, dash="dot"
            ),
        ]
        spikes = disputes[disputes["is_anomalous"]]
        if not spikes.empty:
            series.append(
                ui.Series("disputes", "Dispute spike", ui.VERMILLION, "marks", rows=spikes)
            )
        ui.chart(
            disputes,
            "day_start",
            series,
            x_title="Day opened (UTC)",
            y_title="Disputes",
            stacked=True,
            height=300,
        )

with ui.section("Card testing", not_filtered=NOT_SEGMENTED):
    bursts = q.card_testing_bursts(f)
    if ui.missing_feeds("card-testing detection", "payment_attempts"):
        pass
    elif bursts.empty:
        st.success("No card-testing burst in the date range.", icon=":material/check_circle:")
    else:
        st.caption(
            "Bursts of small card checks from one customer, device or BIN: many distinct cards, "
            "mostly declined, within minutes. Validated cards are cards the attacker now knows work. "
            "Times in UTC."
        )
        ui.table(
            bursts,
            {
                "started_at": ui.Col("datetime", "Started"),
                "ended_at": ui.Col("time", "Ended"),
                "entity_type": ui.Col("label", "Seen from"),
                "entity_value": ui.Col("text", "Entity"),
                "attempts": ui.Col("count", "Attempts"),
                "failure_rate": ui.Col("pct", "Declined"),
                "distinct_cards": ui.Col("count", "Cards tried"),
                "cards_validated": ui.Col("count", "Cards validated"),
                "amount_attempted_reporting": ui.Col("money", f"Amount ({currency})"),
                "detected_at": ui.Col("time", "Detectable"),
            },
            currency=currency,
        )
