"""The dashboard's router: page setup, the access gate, navigation and the shared filters."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboards import gate
from dashboards import queries as q
from dashboards.filters import render_sidebar


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    honours: frozenset[str]  # the sidebar filters this page applies
    default: bool = False


SECTIONS = {
    "Finance": (
        PageSpec(
            "overview.py", "Overview", ":material/dashboard:",
            frozenset({"date", "plan", "country", "payment_method", "currency"}), default=True,
        ),
        PageSpec(
            "delinquency.py", "Delinquency & ageing", ":material/hourglass_bottom:",
            frozenset({"date", "plan", "country", "payment_method", "currency"}),
        ),
        PageSpec(
            "recovery.py", "Recovery", ":material/currency_exchange:",
            frozenset({"date", "plan", "country", "payment_method", "currency"}),
        ),
    ),
    "Operations": (
        PageSpec(
            "fraud_alerts.py", "Fraud & alerts", ":material/crisis_alert:",
            frozenset({"date", "plan", "country", "payment_method", "processor"}),
        ),
        PageSpec("customer_lookup.py", "Customer lookup", ":material/person_search:", frozenset()),
        PageSpec("data_quality.py", "Data quality", ":material/fact_check:", frozenset()),
    ),
    "Analysts": (
        PageSpec("sql_workbench.py", "SQL workbench", ":material/terminal:", frozenset()),
    ),
}  # fmt: skip


def main() -> None:
    st.set_page_config(page_title="Arrears", page_icon=":material/receipt_long:", layout="wide")
    gate.require_password(gate.configured_password())
    pages = {}
    honours_by_title = {}
    for section, specs in SECTIONS.items():
        pages[section] = [
            st.Page(
                f"app_pages/{spec.file}", title=spec.title, icon=spec.icon, default=spec.default
            )
            for spec in specs
        ]
        honours_by_title.update({spec.title: spec.honours for spec in specs})
    page = st.navigation(pages)
    honours = honours_by_title[page.title]
    try:
        options = q.filter_options()
    except q.NotAvailable:  # nothing published yet: the page itself says so
        options = {}
    try:
        bounds, start = q.date_bounds(), q.default_start()
    except q.NotAvailable:
        bounds = start = None
    render_sidebar(honours, options, bounds, start)
    st.session_state["honoured_filters"] = honours
    page.run()


main()
