"""The sidebar filters every page shares, and how a page turns them into a WHERE clause.

The router draws the same widgets on every page (so a choice survives a page switch) and greys
out the ones the current page does not apply; each page's header lists the ones it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import streamlit as st

# Filter name -> label, in display order.
FILTER_LABELS = {
    "date": "Date range",
    "plan": "Plan",
    "country": "Country",
    "payment_method": "Payment method",
    "processor": "Processor",
    "currency": "Currency",
}
SEGMENT_FILTERS = tuple(name for name in FILTER_LABELS if name != "date")
_STATE_KEY = "filters"


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    # Empty tuple = no restriction.
    segments: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def values(self, name: str) -> tuple[str, ...]:
        return self.segments.get(name, ())

    def describe(self, honoured: list[str]) -> str:
        parts = []
        for name in honoured:
            if name == "date":
                if self.start and self.end:
                    parts.append(
                        f"{FILTER_LABELS[name]} {self.start:%d %b %Y} – {self.end:%d %b %Y}"
                    )
                continue
            chosen = self.values(name)
            parts.append(f"{FILTER_LABELS[name]}: {', '.join(chosen) if chosen else 'all'}")
        return " · ".join(parts)

    def where(self, columns: dict[str, str]) -> tuple[str, list[object]]:
        """SQL conditions (joined by `and`, starting with `where` when any) and their params.

        `columns` maps the filters this query applies to the mart column holding that value;
        "date" maps to a DATE or TIMESTAMP column (the range is inclusive of both days).
        """
        conditions: list[str] = []
        params: list[object] = []
        for name, column in columns.items():
            if name == "date":
                if self.start is not None:
                    conditions.append(f"{column} >= ?")
                    params.append(self.start)
                if self.end is not None:
                    conditions.append(f"{column} < ?")
                    params.append(self.end + timedelta(days=1))
                continue
            chosen = self.values(name)
            if chosen:
                conditions.append(f"{column} in ({', '.join('?' for _ in chosen)})")
                params.extend(chosen)
        return (("where " + " and ".join(conditions)) if conditions else ""), params


def current_filters() -> Filters:
    return st.session_state.get(_STATE_KEY, Filters())


def render_sidebar(
    honoured: set[str],
    options: dict[str, list[str]],
    date_bounds: tuple[date, date] | None,
    default_start: date | None,
) -> Filters:
    """Draw the filters in the sidebar and remember the resulting `Filters` for the page."""
    sidebar = st.sidebar
    sidebar.subheader("Filters")
    start = end = None
    if date_bounds:
        low, high = date_bounds
        default = (max(low, default_start or low), high)
        chosen = sidebar.date_input(
            FILTER_LABELS["date"],
            value=default,
            min_value=low,
            max_value=high,
            key="filter_date",
            disabled="date" not in honoured,
            format="YYYY-MM-DD",
        )
        if isinstance(chosen, tuple) and len(chosen) == 2:
            start, end = chosen
        else:  # the user has picked the first day of a new range only
            start, end = default
    segments: dict[str, tuple[str, ...]] = {}
    for name in SEGMENT_FILTERS:
        choices = options.get(name) or []
        picked = sidebar.multiselect(
            FILTER_LABELS[name],
            choices,
            key=f"filter_{name}",
            placeholder="All",
            disabled=name not in honoured or not choices,
            help="Greyed out on pages that do not use it.",
        )
        segments[name] = tuple(picked)
    filters = Filters(start=start, end=end, segments=segments)
    st.session_state[_STATE_KEY] = filters
    return filters
