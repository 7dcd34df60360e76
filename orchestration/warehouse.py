"""Every connection to a DuckDB file of the project: the pipeline's warehouse and the published
copies readers open. One function, so each gets the same session settings: naive timestamps read
as UTC, the memory cap beyond which DuckDB spills to disk (`Settings.duckdb_memory_limit`; DuckDB's
own default is 80 % of RAM per process), and read-only for readers.

In-memory scratch connections (the sample generator, the connectors' staging, the dashboard's SQL
sandbox, which attaches the published file read-only inside its own locked-down database) are not
the warehouse and keep their own `duckdb.connect()`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.config import Settings


def connect(
    path: Path, *, memory_limit: str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection to one project DuckDB file. Close it (use `with`)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set TimeZone = 'UTC'")
    return con


def open_warehouse(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The pipeline's own file, under the configured memory cap (only the pipeline writes it)."""
    return connect(
        settings.warehouse_path, memory_limit=settings.duckdb_memory_limit, read_only=read_only
    )
