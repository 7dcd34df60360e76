"""Shared page furniture: the header with "data as of" and honoured filters, number formats,
the colour-blind-safe chart style, and the guard that turns a missing mart into a clear note."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import queries as q
from dashboards.filters import FILTER_LABELS, Filters, current_filters

# Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = OKABE_ITO
GREY = "#999999"
# Ordered from healthy to bad, for ageing buckets and the like.
SEQUENTIAL = ("#56B4E9", "#0072B2", "#E69F00", "#D55E00", "#7F2704")
HEATMAP_SCALE = "Cividis"  # perceptually uniform and colour-blind safe

_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def symbol(currency: str) -> str:
    """Prefix for amounts on chart axes: € / $ / £, else the ISO code."""
    return _CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def money(value: object, currency: str, *, compact: bool = True) -> str:
    """€1.23M / $45.6k / CHF 1,234 — compact for KPI tiles, exact for tables."""
    if _missing(value):
        return "—"
    amount = float(value)  # type: ignore[arg-type]
    symbol = _CURRENCY_SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if compact and amount >= 1_000_000:
        text = f"{amount / 1_000_000:.2f}M"
    elif compact and amount >= 10_000:
        text = f"{amount / 1_000:.1f}k"
    else:
        text = f"{amount:,.0f}" if amount >= 1000 or amount == int(amount) else f"{amount:,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"


def pct(ratio: object, digits: int = 1) -> str:
    """A ratio (0.1234) as a percentage (12.3%)."""
    return "—" if _missing(ratio) else f"{float(ratio) * 100:.{digits}f}%"  # type: ignore[arg-type]


def number(value: object, digits: int = 0, unit: str = "") -> str:
    """1,234 / 15.5 days; "—" for a missing value (a month without billing has no DSO)."""
    if _missing(value):
        return "—"
    return f"{float(value):,.{digits}f}{unit}"  # type: ignore[arg-type]


def delta_pp(current: object, previous: object) -> str | None:
    """Change of a ratio in percentage points, for st.metric's delta."""
    if _missing(current) or _missing(previous):
        return None
    return f"{(float(current) - float(previous)) * 100:+.1f} pp"  # type: ignore[arg-type]


def delta_rel(current: object, previous: object) -> str | None:
    """Relative change of an amount or count, for st.metric's delta."""
    if _missing(current) or _missing(previous) or float(previous) == 0:  # type: ignore[arg-type]
        return None
    return f"{(float(current) / float(previous) - 1) * 100:+.1f}%"  # type: ignore[arg-type]


def style(fig: go.Figure, *, x: str, y: str, height: int = 360, legend: str = "") -> go.Figure:
    """Labelled axes, the Okabe-Ito palette and a compact layout for every chart."""
    fig.update_layout(
        colorway=OKABE_ITO,
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"title": {"text": legend}, "orientation": "h", "y": -0.2},
        hovermode=fig.layout.hovermode or "x unified",  # a chart may have chosen "closest"
        xaxis_title=x,
        yaxis_title=y,
    )
    return fig


def page_header(title: str, caption: str = "") -> Filters:
    """Title, "data as of", and the filters this page applies (set by the router)."""
    st.title(title)
    if caption:
        st.caption(caption)
    filters = current_filters()
    honours = st.session_state.get("honoured_filters", frozenset())
    honoured = [name for name in FILTER_LABELS if name in honours]
    try:
        as_of = q.data_as_of()
        line = (
            f"**Data as of {as_of.as_of:%d %b %Y %H:%M} UTC** · published "
            f"{as_of.published_at:%d %b %Y %H:%M} UTC · amounts in {as_of.reporting_currency}"
        )
    except q.NotAvailable as exc:
        if not q.is_published():
            st.info(f"Nothing to show yet: {exc}", icon=":material/hourglass_empty:")
            st.stop()
        line = f"**Data as of: unknown** — {exc}"
    applied = filters.describe(honoured)
    st.markdown(
        f"{line}  \nFilters applied here: {applied if applied else 'none'}",
        help="Change filters in the sidebar. Filters this page does not use are greyed out.",
    )
    return filters


def check_verdict(
    blocking_failed: int, warnings_failed: int, checked_at: object
) -> tuple[str, str]:
    """The Data quality page's verdict on the latest check results: (kind, message).

    Only a failed blocking (ERROR) check stops the assets downstream of it, so only then is the
    published data held back at the last good build. Failed warnings are reported and published
    with; saying "last good build" for them sends a reader looking for a failure that is not there.
    """
    when = f"{pd.Timestamp(checked_at):%d %b %Y %H:%M} UTC"
    if blocking_failed:
        return "error", (
            f"{blocking_failed} blocking check(s) failed ({when}): the assets downstream of them "
            "were not rebuilt, so the published data is the last good build."
            + (f" {warnings_failed} warning(s) too." if warnings_failed else "")
        )
    if warnings_failed:
        return "warning", (
            f"{warnings_failed} warning(s) in the latest evaluation ({when}), no blocking failure: "
            "warnings do not hold back publication — the published data is this build."
        )
    return "success", f"Every check passed in the latest evaluation ({when})."


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Render a section; if its mart is not built yet, say so instead of raising.

    A missing table is expected while the project grows (alerts before the alerting asset
    exists). Any other database error is a bug and is shown as one, without a traceback.
    """
    try:
        yield
    except q.NotAvailable as exc:
        st.info(f"**{what}**: not available yet — {exc}", icon=":material/hourglass_empty:")
    except duckdb.Error as exc:
        st.error(f"**{what}** could not be loaded: {exc}", icon=":material/error:")


# Each billing feed as a reader names it.
FEED_LABELS = {
    "customers": "customers",
    "subscriptions": "subscriptions",
    "invoices": "invoices",
    "payment_attempts": "payment attempts",
    "refunds": "refunds",
    "disputes": "disputes",
    "dunning_messages": "dunning messages",
    "payment_plans": "payment plans",
    "escalations": "escalations",
    "payment_method_updates": "payment method updates",
}


def missing_feeds(what: str, *feeds: str) -> bool:
    """Say which feed `what` needs and is not loaded; True when one is missing.

    An empty section on a warehouse without that feed is not "no rows for the filters": the
    reader must learn what to load, e.g. "No payment attempts loaded — failure monitoring needs
    the `payment_attempts` feed."
    """
    try:
        empty = q.empty_feeds(*feeds)
    except q.NotAvailable:
        return False
    if not empty:
        return False
    labels = " or ".join(FEED_LABELS.get(feed, feed) for feed in empty)
    names = ", ".join(f"`{feed}`" for feed in empty)
    st.info(
        f"No {labels} loaded — {what} needs the {names} feed{'s' if len(empty) > 1 else ''}.",
        icon=":material/database_off:",
    )
    return True


def _none_receivable(what: str) -> bool:
    """Invoices are loaded but none is money owed (all 0.00 trials, drafts or voids): say so."""
    try:
        loaded = q.coverage()
    except q.NotAvailable:
        return False
    invoices, receivable = loaded.get("invoices", 0), loaded.get("receivable_invoices")
    if not invoices or receivable is None or receivable:
        return False
    st.info(
        f"{what}: none of the {invoices:,} loaded invoices is a receivable — draft, void and "
        "0.00 invoices (trials, 100 %-off coupons) are never money owed.",
        icon=":material/receipt_long:",
    )
    return True


def empty_note(what: str, *feeds: str, purpose: str | None = None) -> None:
    """An empty section: name the missing feed when that is why, else blame the filters."""
    if feeds and missing_feeds(purpose or what.lower(), *feeds):
        return
    if "invoices" in feeds and _none_receivable(what):
        return
    st.info(f"{what}: no rows for the selected filters.", icon=":material/filter_alt_off:")


def partial_months_note(mart: str, f: Filters) -> None:
    """Under a monthly or cohort chart: name the months the data does not cover in full (the
    first month of data, the month of the as-of date), so no one reads them as equals of the
    others. Nothing when every month shown is complete."""
    months = q.partial_months(mart, f)
    if months:
        listed = ", ".join(f"{m:%b %Y}" for m in months)
        st.caption(
            f"Partial month{'s' if len(months) > 1 else ''}: {listed} - the data does not cover "
            "the whole month, so its figures are not comparable with full months."
        )


def loaded_line() -> str | None:
    """ "Loaded: 2 customers · 0 subscriptions · 3 invoices · ..." from `marts.data_coverage`."""
    try:
        loaded = q.coverage()
    except q.NotAvailable:
        return None
    if not loaded:
        return None
    parts = [f"{loaded[feed]:,} {label}" for feed, label in FEED_LABELS.items() if feed in loaded]
    return "Loaded: " + " · ".join(parts)


def _delta_colour(delta: str | None, bad_when_up: bool) -> str:
    """Blue for better, orange for worse (not red/green: colour-blind safe); grey for no change."""
    if not delta or not any(ch.isdigit() and ch != "0" for ch in delta.split()[0]):
        return "gray"
    went_up = delta.startswith("+")
    return "orange" if went_up == bad_when_up else "blue"


def kpi(
    label: str,
    value: str,
    *,
    delta: str | None = None,
    bad_when_up: bool = False,
    versus: str | None = None,
    trend: list[float] | None = None,
    help: str | None = None,
) -> None:
    """A KPI tile: value, change against the previous period, and a sparkline of its trend."""
    st.metric(
        label,
        value,
        delta=delta,
        delta_color=_delta_colour(delta, bad_when_up),
        delta_description=versus if delta else None,
        chart_data=[v for v in (trend or []) if not _missing(v)] or None,
        chart_type="line",
        border=True,
        help=help,
    )
