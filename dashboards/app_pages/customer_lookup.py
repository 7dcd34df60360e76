"""Customer lookup: one customer's invoices, attempts, messages, plans and escalations on a
timeline. Only masked personal data exists in the marts (no name, email masked)."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q

ui.page_header(
    "Customer lookup",
    caption="Find a customer by id (deep link: `?customer=<id>`). Personal data is masked.",
)
currency = q.reporting_currency()
TRACKS = ["Subscription", "Invoice", "Payment attempt", "Message", "Payment plan", "Escalation"]
TONE_COLOURS = {"good": ui.BLUE, "bad": ui.VERMILLION, "neutral": ui.GREY, "warn": ui.ORANGE}
TONE_SYMBOLS = {"good": "circle", "bad": "x", "neutral": "diamond", "warn": "triangle-up"}


def _events(sections: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every dated fact of the customer as one timeline row: when, which track, what, tone."""
    rows: list[tuple] = []

    def add(at, track, text, tone):
        if pd.notna(at):
            rows.append((pd.Timestamp(at), track, text, tone))

    for s in sections.get("subscriptions", pd.DataFrame()).itertuples():
        add(s.started_at, "Subscription", f"{s.plan} started ({s.billing_interval})", "neutral")
        add(s.canceled_at, "Subscription", f"{s.plan} cancelled: {s.cancel_reason}", "bad")
    for i in sections.get("invoices", pd.DataFrame()).itertuples():
        add(
            i.issued_at, "Invoice", f"{i.invoice_id} issued: {i.amount_due} {i.currency}", "neutral"
        )
        add(i.paid_at, "Invoice", f"{i.invoice_id} paid ({i.days_past_due} days late)", "good")
        add(i.written_off_at, "Invoice", f"{i.invoice_id} written off", "bad")
    for a in sections.get("attempts", pd.DataFrame()).itertuples():
        outcome = "succeeded" if a.is_success else f"failed: {a.decline_code} ({a.decline_class})"
        add(
            a.attempted_at,
            "Payment attempt",
            f"#{a.attempt_number} {a.attempt_trigger} {a.payment_method} {outcome}",
            "good" if a.is_success else "bad",
        )
    for m in sections.get("messages", pd.DataFrame()).itertuples():
        opened = (
            "clicked"
            if pd.notna(m.clicked_at)
            else "opened"
            if pd.notna(m.opened_at)
            else "not opened"
        )
        add(m.sent_at, "Message", f"{m.channel} {m.template} ({opened})", "neutral")
    for p in sections.get("plans", pd.DataFrame()).itertuples():
        add(
            p.agreed_at,
            "Payment plan",
            f"{p.kind} agreed: {p.total_amount} {p.currency}",
            "neutral",
        )
        add(p.broken_at, "Payment plan", f"{p.kind} broken", "bad")
        add(p.completed_at, "Payment plan", f"{p.kind} completed", "good")
    for e in sections.get("escalations", pd.DataFrame()).itertuples():
        add(e.escalated_at, "Escalation", f"{e.stage.replace('_', ' ')} {e.agency or ''}", "warn")
    return pd.DataFrame(rows, columns=["at", "track", "text", "tone"]).sort_values("at")


def _opens(customers: pd.DataFrame, key: str):
    """The on-select callback of the customer table `key`: the selected row fills the id box."""

    def pick() -> None:
        rows = st.session_state[key].selection.rows
        if rows:
            st.session_state["lookup_id"] = str(customers.iloc[rows[0]]["customer_id"])

    return pick


# The id box is the one source of the customer shown: a link (?customer=) or a pick fills it.
linked = st.query_params.get("customer", "")
if linked and linked != st.session_state.get("linked_customer"):
    st.session_state["lookup_id"] = linked
st.session_state.setdefault("lookup_id", "")
left, right = st.columns([2, 3], gap="large")
with left:
    st.text_input("Customer id", key="lookup_id", placeholder="cus_…")
with right, ui.guard("Customers with the most past-due money"):
    top = q.most_past_due_customers()
    st.markdown("**Customers owing the most past-due money** (select one)")
    ui.table(
        top,
        {
            "customer_id": ui.Col("text", "Customer"),
            "email_masked": ui.Col("text", "Email"),
            "country": ui.Col("text", "Country", width="small"),
            "past_due_reporting": ui.Col("money", f"Past due ({currency})"),
            "subscriptions_past_due": ui.Col("count", "Subs"),
        },
        currency=currency,
        height=210,
        on_select=_opens(top, "top_customers"),
        selection_mode="single-row",
        key="top_customers",
    )

customer_id = st.session_state["lookup_id"].strip()
if not customer_id:
    st.info("Type a customer id, or pick a customer from the list.", icon=":material/search:")
    st.stop()
st.query_params["customer"] = customer_id
st.session_state["linked_customer"] = customer_id

with ui.guard("Customer"):
    found = q.customer(customer_id)
    if found.empty:
        similar = q.customer_suggestions(customer_id)
        st.warning(f"No customer with id `{customer_id}`.", icon=":material/person_off:")
        if not similar.empty:
            st.caption("Ids starting with what you typed (select one to open it):")
            ui.table(
                similar,
                {
                    "customer_id": ui.Col("text", "Customer"),
                    "email_masked": ui.Col("text", "Email (masked)"),
                    "country": ui.Col("text", "Country"),
                },
                currency=currency,
                on_select=_opens(similar, "similar_customers"),
                selection_mode="single-row",
                key="similar_customers",
            )
        st.stop()
    c = found.iloc[0]
    st.subheader(f"Customer `{c['customer_id']}`")
    # What a collector acts on first: how much, how late, and what happens next.
    with ui.guard("Balance"):
        balance = q.customer_balance(customer_id)
        oldest = balance["oldest_days_past_due"]
        tiles = st.columns(4)
        tiles[0].metric(
            "Total owed",
            ui.money_exact(balance["owed"], currency),
            help="Amount remaining on the customer's receivable invoices, not written off "
            f"({currency}, at the as-of date).",
        )
        tiles[1].metric(
            "Past due",
            ui.money_exact(balance["past_due"], currency),
            help=f"Of which past its due date, on {int(balance['invoices_past_due'])} invoice(s).",
        )
        tiles[2].metric(
            "Oldest past due",
            "—" if pd.isna(oldest) else f"{int(oldest):,} days",
            help="Days past due of the customer's oldest past-due invoice.",
        )
        with tiles[3], ui.guard("Next dunning step"):
            recoveries = q.customer_recoveries(customer_id)
            if recoveries.empty:
                st.metric("Next dunning step", "None in progress", help="No invoice in recovery.")
            else:
                step = recoveries.iloc[0]
                when = (
                    f" · {pd.Timestamp(step['next_step_at']):%d %b %Y}"
                    if pd.notna(step["next_step_at"])
                    else ""
                )
                st.metric(
                    "Next dunning step",
                    f"{ui.label(step['next_step'])}{when}",
                    help=f"Invoice {step['invoice_id']}, {len(recoveries)} invoice(s) in recovery "
                    "(marts.recoveries_in_progress).",
                )
    tiles = st.columns(5)
    tiles[0].metric("Email (masked)", c["email_masked"] or "—")
    tiles[1].metric("Country", c["country"] or "—")
    tiles[2].metric("Verification", ui.label(c["verification_status"]))
    tiles[3].metric("Payment method", ui.label(c["current_payment_method"]))
    tiles[4].metric("Customer since", f"{pd.Timestamp(c['created_at']):%d %b %Y}")
    with ui.guard("Delinquency score"):
        scores = q.customer_risk(customer_id)
        if not scores.empty:
            past_due_days = q.window_days("risk_days_past_due")
            horizon_days = q.window_days("risk_horizon_days")
        for score in scores.itertuples():
            why = "; ".join(r for r in (score.reason_1, score.reason_2, score.reason_3) if r)
            st.caption(
                f"Delinquency score of `{score.subscription_id}`: {score.probability:.1%} chance "
                f"of {past_due_days} days past due or a write-off in the next {horizon_days} days "
                f"({ui.label(score.risk_band)} risk, "
                f"{ui.money_exact(score.expected_revenue_at_risk_reporting, currency)} of MRR "
                f"expected at risk){f'. Why: {why}' if why else ''}."
            )

sections: dict[str, pd.DataFrame] = {}
# Invoices first: what a collector works from.
loaders = {
    "invoices": ("Invoices", q.customer_invoices),
    "subscriptions": ("Subscriptions", q.customer_subscriptions),
    "attempts": ("Payment attempts", q.customer_attempts),
    "messages": ("Dunning messages", q.customer_messages),
    "plans": ("Payment plans", q.customer_plans),
    "escalations": ("Escalations", q.customer_escalations),
}
missing = []
for key, (title, loader) in loaders.items():
    try:
        sections[key] = loader(customer_id)
    except q.NotAvailable:
        missing.append(title)

st.markdown("**Timeline**")
events = _events(sections)
if events.empty:
    ui.empty_note("Timeline")
else:
    fig = go.Figure()
    for tone, rows in events.groupby("tone"):
        fig.add_scatter(
            x=rows["at"],
            y=rows["track"],
            mode="markers",
            marker={"color": TONE_COLOURS[tone], "symbol": TONE_SYMBOLS[tone], "size": 11},
            name={
                "good": "paid / succeeded",
                "bad": "failed / lost",
                "neutral": "event",
                "warn": "escalated",
            }[tone],
            text=rows["text"],
            hovertemplate="%{x|%d %b %Y %H:%M}<br>%{text}<extra></extra>",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(TRACKS)))
    fig.update_layout(hovermode="closest")
    st.plotly_chart(ui.style(fig, x="Time (UTC)", y="", height=360, legend="Marker"))
if missing:
    st.info(
        f"Not available yet: {', '.join(missing)} — the customer-level marts behind them have not "
        "been built.",
        icon=":material/hourglass_empty:",
    )

# The columns each tab shows, in order: what fits 1440 px unscrolled (the timeline above and the
# SQL workbench have the rest).
TAB_COLUMNS = {
    "invoices": (
        "invoice_id", "status", "amount_due_reporting", "amount_remaining_reporting", "due_at",
        "days_past_due", "recovery_channel", "attempt_count",
    ),
    "subscriptions": (
        "subscription_id", "plan", "billing_interval", "mrr_reporting", "status", "started_at",
        "canceled_at", "cancel_reason", "past_due_amount_reporting",
    ),
    "attempts": (
        "attempt_id", "attempted_at", "invoice_id", "amount", "currency", "is_success",
        "decline_code", "attempt_trigger", "payment_method",
    ),
    "plans": (
        "payment_plan_id", "invoice_id", "kind", "agreed_at", "total_amount", "currency",
        "instalments_paid", "instalments_missed", "outcome",
    ),
}  # fmt: skip
tabs = st.tabs([loaders[key][0] for key in sections])
for tab, (key, frame) in zip(tabs, sections.items(), strict=True):
    with tab:
        if frame.empty:
            st.caption("None.")
        else:
            kinds = ui.infer(frame)
            shown = TAB_COLUMNS.get(key, tuple(frame.columns))
            ui.table(frame, {name: kinds[name] for name in shown}, currency=currency)
