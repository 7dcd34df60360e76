"""`quality.check_results`: one row per check evaluation, kept forever for quality-over-time."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from data_quality.core import CheckResult

RESULTS_DDL = """
create table if not exists quality.check_results (
    check_name varchar not null,      -- e.g. ranges
    asset varchar not null,           -- Dagster asset key, dotted: raw.invoices, marts.fct_invoices
    severity varchar not null,        -- ERROR (blocks downstream assets) | WARN
    passed boolean not null,
    observed_value varchar,           -- JSON: what the check measured
    expected varchar not null,        -- what must hold, for people
    message varchar not null,         -- the verdict with numbers and examples
    run_id varchar,                   -- Dagster run id (null outside Dagster)
    checked_at timestamp not null     -- UTC
)"""


COLUMNS = (
    "check_name", "asset", "severity", "passed", "observed_value", "expected", "message",
    "run_id", "checked_at",
)  # fmt: skip


def create_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists quality")
    con.execute(RESULTS_DDL)


def write_results(
    con: duckdb.DuckDBPyConnection,
    results: list[CheckResult],
    run_id: str | None,
    checked_at: dt.datetime | None = None,
) -> int:
    """Append one row per result in one transaction. Returns the number of rows written."""
    checked_at = checked_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    create_results_table(con)
    rows = [
        (
            r.check.name,
            r.check.asset_name,
            r.check.severity,
            r.passed,
            json.dumps(r.observed, sort_keys=True, ensure_ascii=False, default=str),
            r.expected,
            r.message,
            run_id,
            checked_at,
        )
        for r in results
    ]
    if rows:
        # One statement, so a run's results land together or not at all.
        frame = pd.DataFrame(rows, columns=COLUMNS)  # noqa: F841 (read by DuckDB by name)
        con.execute(f"insert into quality.check_results ({', '.join(COLUMNS)}) select * from frame")
    return len(rows)
