"""The SQL workbench's sandbox: runs one analyst SELECT on the published warehouse, safely.

Two layers. DuckDB itself enforces the boundary: the file is attached read-only, then external
access is disabled (no file reads or writes, no ATTACH, no extension install/load) and the
configuration locked so a query cannot switch that back on. Before that, `check_query` reads the
statement with DuckDB's own parser and refuses anything but a single SELECT over tables, with a
message that says why — the engine's errors alone ("Permission Error ...") read like a bug.
A timer thread interrupts a statement that runs past the timeout, and only the first
`row_limit` rows are fetched.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_ROW_LIMIT = 10_000

# Table functions that only compute or describe the catalog; every other table function
# (read_csv, read_parquet, glob, query, sqlite_scan, ...) reaches outside the warehouse.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range", "generate_series", "unnest", "json_each", "json_tree",
        "duckdb_tables", "duckdb_columns", "duckdb_views", "duckdb_schemas", "duckdb_types",
        "duckdb_functions", "duckdb_constraints", "duckdb_keywords", "pragma_table_info",
    }
)  # fmt: skip

# A table name that is really a file path or URL (`FROM '/etc/passwd'`, `FROM 'x.csv'`).
_FILE_LIKE = re.compile(
    r"[/\\:~]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|db|duckdb)$", re.I
)

_READ_ONLY = "the workbench is read-only and runs a single SELECT on the published tables"
_WHY_BY_TYPE = {
    "COPY": "COPY is not allowed: the workbench cannot read or write files. "
    "Use the CSV download under the results instead.",
    "COPY_DATABASE": "COPY is not allowed: the workbench cannot read or write files.",
    "EXPORT": "EXPORT is not allowed: the workbench cannot write files. "
    "Use the CSV download under the results instead.",
    "ATTACH": "ATTACH is not allowed: the workbench only queries the published warehouse.",
    "DETACH": "DETACH is not allowed: the workbench only queries the published warehouse.",
    "LOAD": "{kw} is not allowed: extensions cannot be installed or loaded in the workbench.",
    "EXTENSION": "{kw} is not allowed: extensions cannot be installed or loaded in the workbench.",
    "SET": "{kw} is not allowed: the workbench's settings are locked.",
    "VARIABLE_SET": "{kw} is not allowed: the workbench's settings are locked.",
    "PRAGMA": "PRAGMA is not allowed: the workbench's settings are locked. "
    "Browse tables and columns in the schema browser.",
}


class Refused(Exception):
    """A query the workbench will not run. `str()` is the message for the analyst."""


class QueryTimeout(Exception):
    """The statement ran past the timeout and was interrupted."""


class QueryError(Exception):
    """DuckDB could not run an allowed query (a typo, an unknown column...)."""


@dataclass(frozen=True)
class QueryResult:
    frame: pd.DataFrame
    truncated: bool  # more rows existed than the row limit
    elapsed_s: float


def _first_keyword(sql: str) -> str:
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S).strip()
    return (text.split(None, 1)[0] if text else "").upper().rstrip(";")


def _walk(node: object):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _check_select_tree(sql: str) -> None:
    """Refuse file-reading table functions and file paths used as tables anywhere in a SELECT."""
    with duckdb.connect() as parser:
        raw = parser.execute("select json_serialize_sql(?)", [sql]).fetchone()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        raise QueryError(tree.get("error_message", "The query could not be parsed."))
    for node in _walk(tree["statements"]):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            name = str(node["function"].get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise Refused(
                    f"{name}() is not allowed: the workbench cannot read files or run dynamic "
                    "SQL. Query the published tables instead (see the schema browser)."
                )
        elif kind == "BASE_TABLE" and _FILE_LIKE.search(str(node.get("table_name", ""))):
            raise Refused(
                f"Reading files ('{node['table_name']}') is not allowed: the workbench only "
                "queries the published tables (see the schema browser)."
            )


def check_query(sql: str) -> str:
    """Return the one SELECT statement in `sql`, or raise `Refused` saying why not."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    if not statements:
        raise Refused("Nothing to run: type a SELECT query.")
    if len(statements) > 1:
        raise Refused(
            f"One statement at a time: found {len(statements)} statements separated by ';'. "
            "The workbench runs a single SELECT."
        )
    statement = statements[0]
    kind = statement.type.name
    if kind != "SELECT":
        keyword = _first_keyword(statement.query) or kind
        why = _WHY_BY_TYPE.get(kind, "{kw} is not allowed: " + _READ_ONLY + ".")
        raise Refused(why.format(kw=keyword))
    _check_select_tree(statement.query)
    return statement.query


def connect_sandbox(database: Path) -> duckdb.DuckDBPyConnection:
    """A connection that can read the published tables and nothing else, locked that way.

    An in-memory instance attaches the file read-only, then shuts external access and locks its
    settings. (Opening the file directly with these settings would clash with the dashboard's own
    connections to it: DuckDB allows one configuration per file within a process.)
    """
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "memory_limit": "1GB",
            "threads": 2,
        },
    )
    try:
        con.execute("attach ? as published (read_only)", [str(database)])
        con.execute("use published")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")  # last: SET cannot undo the lines above
    except BaseException:
        con.close()
        raise
    return con


def run_query(
    database: Path,
    sql: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    row_limit: int = DEFAULT_ROW_LIMIT,
) -> QueryResult:
    """Run one analyst query in the sandbox. Raises Refused, QueryTimeout or QueryError."""
    statement = check_query(sql)
    started = time.perf_counter()
    con = connect_sandbox(database)
    # interrupt() is DuckDB's thread-safe way to cancel the running statement from outside.
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        con.execute(statement)
        chunks: list[pd.DataFrame] = []
        fetched = 0
        while fetched <= row_limit:
            chunk = con.fetch_df_chunk()
            if chunk.empty:
                break
            chunks.append(chunk)
            fetched += len(chunk)
        if not chunks:  # zero rows: keep the column names
            chunks.append(pd.DataFrame(columns=[c[0] for c in con.description or []]))
    except duckdb.InterruptException as exc:
        raise QueryTimeout(
            f"Stopped after {timeout_s:g} s (the workbench's statement timeout). "
            "Aggregate or filter more, or query a coarser mart."
        ) from exc
    except duckdb.PermissionException as exc:  # the engine's boundary, if the parser missed it
        raise Refused(f"Not allowed in the workbench: {exc}") from exc
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    finally:
        timer.cancel()
        con.close()
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return QueryResult(
        frame=frame.head(row_limit),
        truncated=fetched > row_limit,
        elapsed_s=time.perf_counter() - started,
    )
