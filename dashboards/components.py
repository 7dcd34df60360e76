"""Shared page furniture: the header with "data as of" and honoured filters, number formats,
the colour-blind-safe chart style, and the guard that turns a missing mart into a clear note."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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


def money_exact(value: object, currency: str) -> str:
    """€550,984.97: to the cent, as the tables print money (a collector's balance, a total)."""
    if _missing(value):
        return "—"
    amount = float(value)  # type: ignore[arg-type]
    return f"{'-' if amount < 0 else ''}{symbol(currency)}{abs(amount):,.2f}"


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


# Where every chart puts its legend: a row above the plotting area, left-aligned, so it never
# meets the x-axis title below (a legend under the plot, at a fixed fraction of the height,
# overlapped the axis title of short charts). A chart title, where a chart has one, sits above it.
LEGEND = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}


def style(fig: go.Figure, *, x: str, y: str, height: int = 360, legend: str = "") -> go.Figure:
    """Labelled axes, the Okabe-Ito palette, the legend above the plot and a compact layout for
    every chart."""
    titled = bool(fig.layout.title.text)
    fig.update_layout(
        colorway=OKABE_ITO,
        height=height,
        margin={"l": 10, "r": 10, "t": 80 if titled else 40, "b": 10},
        legend={"title": {"text": legend}, **LEGEND},
        hovermode=fig.layout.hovermode or "x unified",  # a chart may have chosen "closest"
        xaxis_title=x,
        yaxis_title=y,
    )
    if titled:
        fig.update_layout(title={"yref": "container", "y": 0.98, "yanchor": "top"})
    return fig


def month_start(values: pd.Series) -> pd.Series:
    """The first day of each value's month: where a month-end snapshot (31 Oct) is drawn, so
    that its bar stands over its own month's label, not next month's."""
    return pd.to_datetime(values).dt.to_period("M").dt.start_time


def monthly(fig: go.Figure, partial: list | None = None) -> go.Figure:
    """A chart over months (x = each month's first day): one tick per month labelled "Oct 2026",
    and every month the data does not cover in full (`partial`, from the marts'
    is_complete_month) marked where the eye is - its bars hatched and the month shaded with a
    "partial" note - so a short month is not read as a fall (or a clipped spike as a record)."""
    fig.update_xaxes(dtick="M1", tickformat="%b %Y")
    months = {pd.Timestamp(m).normalize() for m in partial or []}
    if not months:
        return fig
    for trace in fig.data:
        # A chart that already hatches bars for its own reason (a censored cohort) keeps its
        # pattern; the shading below still marks the month.
        if trace.type == "bar" and trace.x is not None and trace.marker.pattern.shape is None:
            hatched = [pd.Timestamp(x).normalize() in months for x in trace.x]
            trace.marker.pattern = {
                "shape": ["/" if h else "" for h in hatched],
                "fillmode": "overlay",
                "solidity": 0.4,
            }
    for month in sorted(months):
        # The bar of a month is centred on its first day: shade half a month either side.
        fig.add_vrect(
            x0=month - pd.Timedelta(days=15),
            x1=month + pd.Timedelta(days=15),
            fillcolor=GREY,
            opacity=0.15,
            line_width=0,
            layer="below",
            annotation_text="partial",
            annotation_position="top left",
            annotation_font={"size": 10, "color": "#555555"},
        )
    return fig


def latest_and_before(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series | None]:
    """The last row of a frame in period order and the row before it (None when there is only
    one): what a KPI tile shows and what its change is measured against."""
    return frame.iloc[-1], (frame.iloc[-2] if len(frame) > 1 else None)


def money_axis(currency: str) -> dict:
    """An amount axis: the currency symbol and thousands separators, no decimals."""
    return {"tickprefix": symbol(currency), "tickformat": ",.0f"}


@dataclass(frozen=True)
class Series:
    """One series of a chart: `column` of the chart's frame (or of `rows`), drawn as `kind`.

    bar · line (lines and markers; `markers=False` for the line alone, `dash` "dot" or "dash") ·
    area (a filled band stacked on the chart's other areas) · marks (an ✕ on each point, for the
    windows that crossed a bar). `customdata` names the columns a `hover` template reads as
    %{customdata[i]}. `options` go to Plotly as they are (yaxis="y2", a marker colour per bar)
    and win over what `kind` sets.
    """

    column: str
    name: str
    colour: str
    kind: str = "line"
    markers: bool = True
    dash: str | None = None
    customdata: tuple[str, ...] = ()
    hover: str | None = None
    rows: pd.DataFrame | None = field(default=None, compare=False)
    options: dict = field(default_factory=dict, compare=False)

    def trace(self, frame: pd.DataFrame, x: str) -> go.Bar | go.Scatter:
        data = frame if self.rows is None else self.rows
        common = {"x": data[x], "y": data[self.column], "name": self.name}
        if self.customdata:
            common["customdata"] = data[list(self.customdata)]
        if self.hover:
            common["hovertemplate"] = self.hover
        if self.kind == "bar":
            return go.Bar(**{**common, "marker_color": self.colour, **self.options})
        if self.kind == "area":
            line = {"width": 0.5, "color": self.colour}
            area = {"mode": "lines", "stackgroup": "area", "line": line}
            return go.Scatter(**{**common, **area, **self.options})
        if self.kind == "marks":
            marker = {"symbol": "x", "size": 10, "color": self.colour}
            return go.Scatter(**{**common, "mode": "markers", "marker": marker, **self.options})
        line = {"color": self.colour, **({"dash": self.dash} if self.dash else {})}
        mode = "lines+markers" if self.markers else "lines"
        return go.Scatter(**{**common, "mode": mode, "line": line, **self.options})


def series_by(
    frame: pd.DataFrame,
    by: str,
    column: str,
    colours: dict[str, str],
    *,
    name: Callable[[str], str] = str,
    **series,
) -> list[Series]:
    """One `Series` of `column` per value of `by`, in the order of `colours` (value → colour),
    skipping values without rows: the decline classes of a stacked bar, a plan's outcomes."""
    return [
        Series(column, name(value), colour, rows=rows, **series)
        for value, colour in colours.items()
        if not (rows := frame[frame[by] == value]).empty
    ]


def figure(
    frame: pd.DataFrame,
    x: str,
    series: Iterable[Series],
    *,
    y_axis: dict | None = None,
    stacked: bool = False,
    layout: dict | None = None,
) -> go.Figure:
    """The figure of `series` against the frame's column `x`: bars side by side unless `stacked`;
    `y_axis` (tickformat, range, rangemode…) and `layout` (yaxis2, hovermode…) as Plotly takes
    them."""
    fig = go.Figure([s.trace(frame, x) for s in series])
    if stacked:
        fig.update_layout(barmode="stack")
    if layout:
        fig.update_layout(**layout)
    if y_axis:
        fig.update_yaxes(**y_axis)
    return fig


def chart(
    frame: pd.DataFrame,
    x: str,
    series: Iterable[Series],
    *,
    x_title: str,
    y_title: str,
    y_axis: dict | None = None,
    x_axis: dict | None = None,
    stacked: bool = False,
    layout: dict | None = None,
    height: int = 360,
    legend: str = "",
    key: str | None = None,
    partial: list | None = None,
) -> None:
    """Every line and bar chart of the dashboard: `figure`, styled (`style`) and drawn. Given
    `partial` (a list, maybe empty), x is months and those months are marked (`monthly`)."""
    fig = figure(frame, x, series, y_axis=y_axis, stacked=stacked, layout=layout)
    if x_axis:
        fig.update_xaxes(**x_axis)
    if partial is not None:
        monthly(fig, partial)
    st.plotly_chart(style(fig, x=x_title, y=y_title, height=height, legend=legend), key=key)


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


@contextmanager
def section(
    title: str,
    *,
    what: str | None = None,
    not_filtered: str | None = None,
    caption: str | None = None,
    help: str | None = None,
) -> Iterator[None]:
    """One section of a page: its subheader (`help` on hover), the "Company-wide" badge when
    the sidebar's segment filters do not reach its mart (`not_filtered` says why), a `caption`
    on what it covers, and its body under `guard(what)` (`what` defaults to the title), so a
    missing mart is a note, not a crash."""
    st.subheader(title, help=help)
    if not_filtered:
        company_wide(not_filtered)
    if caption:
        st.caption(caption)
    with guard(what or title):
        yield


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


# ---------------------------------------------------------------- tables

# Raw ids of the marts as a reader names them: column names and the values of id-like columns
# (channels, triggers, classes, statuses) alike. One map, so a word reads the same on every page.
LABELS = {
    # values
    "automatic_retry": "Automatic retry",
    "new_payment_method": "New payment method",
    "payment_plan": "Payment plan",
    "customer_initiated": "Customer-initiated",
    "card_verification": "Card verification",
    "pre_due_reminder": "Pre-due reminder",
    "payment_failed": "Payment failed",
    "retry_notice": "Retry notice",
    "update_payment_method": "Update payment method",
    "overdue_notice": "Overdue notice",
    "final_notice": "Final notice",
    "plan_offer": "Plan offer",
    "card_expiring": "Card expiring",
    "collections_notice": "Collections notice",
    "collection_call": "Collection call",
    "collections_agency": "Collections agency",
    "write_off": "Write-off",
    "in_app": "In-app",
    "sms": "SMS",
    "not_verified": "Not verified",
    "no_3ds": "Without 3-D Secure",
    "3ds": "With 3-D Secure",
    "failed_payment": "Failed payment",
    "late_payment": "Late payment",
    "non_payment": "Non-payment",
    "card_bin": "Card BIN",
    "card_testing": "Card testing",
    "failure_rate": "Failure rate",
    "subscription_cycle": "Subscription cycle",
    "subscription_create": "Subscription created",
    "plan_instalment": "Plan instalment due",
    "scheduled_retry": "Scheduled retry",
    "none_scheduled": "Nothing scheduled",
    # columns
    "amount_due_reporting": "Amount due",
    "amount_remaining_reporting": "Amount owed",
    "amount_paid_reporting": "Amount paid",
    "mrr_reporting": "MRR",
    "past_due_amount_reporting": "Past due",
    "days_past_due": "Days past due",
    "attempt_trigger": "Trigger",
    "decline_code": "Decline code",
    "decline_class": "Decline class",
    "used_3ds": "3-D Secure",
    "is_success": "Succeeded",
    "is_past_due": "Past due?",
    "has_past_due_invoice": "Has past-due invoice",
    "ageing_bucket": "Age (days)",
    "email_masked": "Email (masked)",
    "customer_id": "Customer",
    "invoice_id": "Invoice",
    "subscription_id": "Subscription",
    "attempt_id": "Attempt",
    "message_id": "Message",
    "payment_plan_id": "Plan",
    "escalation_id": "Escalation",
}


def label(value: object) -> str:
    """A raw id as a reader names it: `automatic_retry` → "Automatic retry"; "—" when missing."""
    if _missing(value) or value is pd.NA:
        return "—"
    text = str(value)
    if text in LABELS:
        return LABELS[text]
    # snake_case or a lower-case word is an id (`collections`, `soft`); anything else
    # (GB, EUR, a plan named by the billing system in capitals) is shown as it is.
    if text == text.lower() and text[:1].isalpha():
        return text.replace("_", " ").capitalize()
    return text


def title(column: str, currency: str) -> str:
    """A column header: the label map's, else the name in words; reporting amounts name the
    currency ("Amount collected (EUR)")."""
    reporting = column.endswith("_reporting")
    text = LABELS.get(column) or label(column.removesuffix("_reporting"))
    return f"{text} ({currency})" if reporting else text


@dataclass(frozen=True)
class Col:
    """How one table column is shown. `kind`:

    money (reporting currency, symbol and separators, 2 decimals) · amount (a native-currency
    amount beside its currency column: separators, 2 decimals) · pct (a 0–1 ratio shown with one
    decimal, e.g. 12.3%) · count (integer with separators) · number (`digits` decimals) · date ·
    month · datetime (UTC, minutes) · time (UTC, of a day another column names) · label (a raw id through `LABELS`) · text · flag (yes/no).
    """

    kind: str
    title: str | None = None
    help: str | None = None
    digits: int = 1
    width: str | int | None = None  # small, medium, large or pixels


_ID_COLUMNS = frozenset(
    {
        "channel", "template", "attempt_trigger", "decline_class", "decline_code", "status",
        "stage", "kind", "outcome", "recovery_channel", "recovery_population", "entity_type",
        "segment_type", "incident_type", "detector", "severity", "state", "cancel_reason",
        "billing_interval", "billing_reason", "verification_status", "payment_method",
        "current_payment_method", "previous_decline_code", "event", "reason_code", "next_step",
        "last_decline_code", "last_decline_class",
    }
)  # fmt: skip


def infer(frame: pd.DataFrame) -> dict[str, Col]:
    """A Col for every column of a raw mart frame, from its name and type (for tables that show
    a mart's rows as they are, such as a customer's invoices)."""
    columns: dict[str, Col] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            kind = "flag"
        elif pd.api.types.is_datetime64_any_dtype(series):
            stamps = series.dropna()
            midnight = bool(len(stamps)) and bool((stamps == stamps.dt.normalize()).all())
            kind = "date" if midnight else "datetime"
        elif pd.api.types.is_numeric_dtype(series):
            if name.endswith("_reporting") or name == "revenue_affected":
                kind = "money"
            elif "amount" in name or name == "mrr":
                kind = "amount"
            elif name.endswith(("_rate", "_share", "ratio")):
                kind = "pct"
            elif pd.api.types.is_integer_dtype(series) or name.startswith(("days_", "attempt")):
                kind = "count"
            else:
                kind = "number"
        elif name in _ID_COLUMNS:
            kind = "label"
        else:
            kind = "text"
        columns[name] = Col(kind)
    return columns


# Streamlit's display format of each kind of number and time column ({symbol}: the currency's).
_NUMBER_FORMATS = {
    "money": "{symbol}%,.2f",
    "amount": "%,.2f",
    "pct": "%.1f%%",
    "count": "%,d",
    "number": "%,.{digits}f",
}
_TIME_FORMATS = {
    "date": (st.column_config.DateColumn, "D MMM YYYY"),
    "month": (st.column_config.DateColumn, "MMM YYYY"),
    "datetime": (st.column_config.DatetimeColumn, "D MMM YYYY HH:mm"),
    "time": (st.column_config.DatetimeColumn, "HH:mm"),
}


def _column_config(name: str, col: Col, currency: str):
    heading = col.title or title(name, currency)
    common = {"help": col.help, "width": col.width}
    if col.kind in _NUMBER_FORMATS:
        shown = _NUMBER_FORMATS[col.kind].format(symbol=symbol(currency), digits=col.digits)
        return st.column_config.NumberColumn(heading, format=shown, **common)
    if col.kind in _TIME_FORMATS:
        column, shown = _TIME_FORMATS[col.kind]
        return column(heading, format=shown, **common)
    if col.kind == "flag":
        return st.column_config.CheckboxColumn(heading, **common)
    return st.column_config.TextColumn(heading, **common)


def cell(value: object, col: Col, currency: str) -> str:
    """One value as its column shows it, in words: what a column with gaps is rendered as."""
    if _missing(value) or value is pd.NA or value is pd.NaT:
        return "—"
    kind = col.kind
    if kind == "money":
        return money_exact(value, currency)
    if kind == "amount":
        return f"{float(value):,.2f}"  # type: ignore[arg-type]
    if kind == "pct":
        return pct(value)
    if kind == "count":
        return f"{int(value):,}"  # type: ignore[call-overload]
    if kind == "number":
        return number(value, col.digits)
    if kind in ("date", "month", "datetime", "time"):
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
        if kind == "time":
            return f"{stamp:%H:%M}"
        if kind == "month":
            return f"{stamp:%b %Y}"
        return f"{stamp.day} {stamp:%b %Y}" + (f" {stamp:%H:%M}" if kind == "datetime" else "")
    if kind == "flag":
        return "yes" if value else "no"
    if kind == "label":
        return label(value)
    return str(value)


_TEXT_KINDS = ("label", "text")


def prepare(
    frame: pd.DataFrame, columns: dict[str, Col], currency: str
) -> tuple[pd.DataFrame, set[str]]:
    """The values a table shows: only `columns`, in their order; ratios as percentages, raw ids
    as labels. A number or date column with a gap is shown as formatted text with "—" in the
    gap (Streamlit would print "None" there); returns those columns' names too."""
    shown = frame[list(columns)].copy()
    as_text = set()
    for name, col in columns.items():
        if col.kind in _TEXT_KINDS:
            shown[name] = [cell(value, col, currency) for value in shown[name]]
        elif shown[name].isna().any():
            shown[name] = [cell(value, col, currency) for value in shown[name]]
            as_text.add(name)
        elif col.kind == "pct":
            shown[name] = pd.to_numeric(shown[name]).astype(float) * 100
    return shown, as_text


def table(
    frame: pd.DataFrame,
    columns: dict[str, Col] | None = None,
    *,
    currency: str,
    sort: dict[str, bool] | None = None,
    **kwargs,
):
    """Every table of the dashboard: numbers formatted by their kind (see `Col`), human
    headers and labels, sorted by what matters (`sort`: column → ascending), no index.
    Returns st.dataframe's result (the selection when `on_select` is given)."""
    columns = columns if columns is not None else infer(frame)
    if sort:
        frame = frame.sort_values(list(sort), ascending=list(sort.values()), kind="stable")
    shown, as_text = prepare(frame, columns, currency)
    config = {}
    for name, col in columns.items():
        config[name] = (
            st.column_config.TextColumn(
                col.title or title(name, currency),
                help=col.help,
                width=col.width,
                alignment="right",
            )  # fmt: skip
            if name in as_text
            else _column_config(name, col, currency)
        )
    return st.dataframe(shown, hide_index=True, column_config=config, **kwargs)


def download_csv(frame: pd.DataFrame, label: str, file_name: str) -> None:
    """A button that downloads `frame`, every column, as CSV (the page does not rerun)."""
    st.download_button(
        label,
        data=frame.to_csv(index=False),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


def zip_folder(folder: Path) -> bytes:
    """A folder as a zip archive (relative paths), e.g. the static Data Docs site to download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def company_wide(reason: str) -> None:
    """The badge of a section the sidebar's segment filters do not reach (its mart has no
    segments), so that it is not read as the filtered numbers; `reason` says why, on hover."""
    st.badge("Company-wide", icon=":material/public:", color="gray", help=reason)
