"""Latency of every query each dashboard page issues, on the published warehouse of ARREARS_HOME.

The pages are read, not listed by hand: every `<queries module>.<function>(...)` call in
`dashboards/app_pages/*.py` belongs to that page, and the router's and shared components' calls
run on every page. Each function is called with the arguments a page passes by default (the
default date range, no segment filter, the default segment and grain, the newest incident), with
Streamlit's cache cleared before every call, so each timing is a real query on the warehouse.

Run in its own process (`python benchmarks/dashboard_latency.py --calls 20`): prints JSON.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
QUERIES_MODULE = "dashboards.queries"
SHARED = "every page"  # the router and the components every page draws (header, sidebar)


def page_queries(dashboards_dir: Path = REPO_ROOT / "dashboards") -> dict[str, list[str]]:
    """Page name -> the query functions it calls, in order of first appearance."""
    pages: dict[str, list[str]] = {}
    files = sorted((dashboards_dir / "app_pages").glob("*.py"))
    shared = [dashboards_dir / "streamlit_app.py", dashboards_dir / "components.py"]
    for path in [*shared, *files]:
        if not path.exists():
            continue
        page = SHARED if path in shared else path.stem
        names = pages.setdefault(page, [])
        for name in _calls_into_queries(path.read_text()):
            if name not in names:
                names.append(name)
    return {page: names for page, names in pages.items() if names}


def _calls_into_queries(source: str) -> list[str]:
    tree = ast.parse(source)
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "dashboards":
            aliases |= {a.asname or a.name for a in node.names if a.name == "queries"}
        elif isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.name == QUERIES_MODULE and a.asname}
    # Every `q.name` reference: pages also pass query functions around (`for load in (q.a, q.b)`).
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            calls.append((node.lineno, node.col_offset, node.attr))
    return [name for _, _, name in sorted(calls)]


class Context:
    """The argument values a page uses by default, read from the warehouse once."""

    def __init__(self, q) -> None:
        from dashboards.filters import Filters

        self.q = q
        bounds = q.date_bounds()
        start = q.default_start() if bounds else None
        self.filters = Filters(start=start, end=bounds[1] if bounds else None)
        self.incident_id = self._first(lambda: q.incidents(self.filters), "incident_id")
        self.customer_id = self._first(lambda: q.most_past_due_customers(), "customer_id")

    @staticmethod
    def _first(load, column: str) -> str | None:
        """A value the page would offer first (the newest incident, the most overdue customer)."""
        try:
            frame = load()
            return str(frame[column].iloc[0]) if len(frame) else None
        except Exception:  # that mart is not built yet: the queries needing it are skipped
            return None

    def argument_sets(self, function) -> list[tuple[str, tuple]] | None:
        """(label, args) per variant the pages call; None when a parameter has no recipe."""
        params = inspect.signature(function).parameters.values()
        variants: list[tuple[str, tuple]] = [("", ())]
        for param in params:
            values = self._values(param.name)
            if values is None and param.default is not inspect.Parameter.empty:
                values = [("", param.default)]
            if values is None:
                return None
            variants = [
                (f"{label} {tag}".strip(), (*args, value))
                for label, args in variants
                for tag, value in values
            ]
        return variants

    def _values(self, name: str) -> list[tuple[str, object]] | None:
        if name == "f":
            return [("", self.filters)]
        if name == "grain":
            return [("day", "day"), ("hour", "hour")]
        if name == "segments":
            return [("", [("overall", "all")])]  # the page's default chart
        if name == "dimension":
            return [("", "plan")]  # the page's default breakdown
        if name == "incident_id":
            return None if self.incident_id is None else [("", self.incident_id)]
        if name == "customer_id":
            return None if self.customer_id is None else [("", self.customer_id)]
        if name == "prefix":  # what a user has typed so far in the customer search
            return None if self.customer_id is None else [("", self.customer_id[:6])]
        return None


def clear_caches(q) -> None:
    import streamlit as st

    st.cache_data.clear()
    if hasattr(q, "tables"):
        q.tables()  # the table list is cached once per published copy on a real page too


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p95 of 20 calls = the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def measure(calls: int) -> dict:
    import importlib

    q = importlib.import_module(QUERIES_MODULE)
    context = Context(q)
    results = []
    for page, names in page_queries().items():
        for name in names:
            function = getattr(q, name, None)
            if not inspect.isfunction(function):  # constants and exception classes
                continue
            variants = context.argument_sets(function)
            if variants is None:
                params = ", ".join(inspect.signature(function).parameters)
                results.append({"page": page, "query": name, "skipped": f"no value for ({params})"})
                continue
            for label, args in variants:
                results.append(_time_one(q, page, name, label, function, args, calls))
    return {"calls": calls, "filters": str(context.filters), "queries": results}


def _time_one(q, page, name, label, function, args, calls) -> dict:
    entry = {"page": page, "query": name + (f" [{label}]" if label else "")}
    seconds = []
    rows = None
    for _ in range(calls):
        clear_caches(q)
        started = time.perf_counter()
        try:
            result = function(*args)
        except Exception as exc:  # a page shows these as "not available": report, don't stop
            entry["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return entry
        seconds.append(time.perf_counter() - started)
        rows = len(result) if hasattr(result, "__len__") else None
    entry.update(
        rows=rows,
        p50_ms=statistics.median(seconds) * 1000,
        p95_ms=percentile(seconds, 95) * 1000,
        max_ms=max(seconds) * 1000,
    )
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    print(json.dumps(measure(args.calls), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
