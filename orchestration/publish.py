"""Publishing the warehouse for readers: a read-only copy swapped in atomically.

Only the pipeline writes `warehouse_path`; dashboards and analysts open `published_path`
read-only. The copy holds the analyst-facing schemas only: raw tables and the quarantine keep
raw PII (emails, names) and stay in the pipeline's file. Readers never see a half-written copy:
it is written beside the target and swapped in with `os.replace`, and a reader that still holds
the old file keeps reading its snapshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.failpoints import failpoint

# Schemas published whole: dbt marts, data-quality results, alert state.
PUBLISHED_SCHEMAS = ("marts", "quality", "alerting")

# Pipeline bookkeeping that is safe to show (file names and counts, no record contents).
PUBLISHED_QUERIES = {
    "ops.load_manifest": "select * from wh.raw._load_manifest",
    "ops.quarantine_summary": """
        select entity, source_file, reason_code, count(*) as rows_quarantined,
               count(replayed_at) as rows_released, max(quarantined_at) as last_quarantined_at
        from wh.raw._quarantine group by all""",
}


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_schema = ? and table_type = 'BASE TABLE' "
            "order by table_name",
            [schema],
        ).fetchall()
    ]


def publish(warehouse_path: Path, published_path: Path) -> dict[str, int]:
    """Copy the analyst-facing part of the warehouse to `published_path`. Returns row counts."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in published_path.parent.glob(f".{published_path.name}.*.tmp"):
        stale.unlink()  # left by a publish that crashed before its swap; never seen by readers
    tmp = published_path.with_name(f".{published_path.name}.{os.getpid()}.tmp")
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach '{warehouse_path}' as wh (read_only)")
        for schema in PUBLISHED_SCHEMAS:
            tables = _tables(con, schema)
            if tables:
                con.execute(f"create schema if not exists {schema}")
            for table in tables:
                con.execute(f"create table {schema}.{table} as select * from wh.{schema}.{table}")
                counts[f"{schema}.{table}"] = con.execute(
                    f"select count(*) from {schema}.{table}"
                ).fetchone()[0]
        has_raw = _tables(con, "raw")
        for target, query in PUBLISHED_QUERIES.items():
            if not has_raw:
                break
            con.execute(f"create schema if not exists {target.split('.')[0]}")
            con.execute(f"create table {target} as {query}")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    failpoint("publish.before_replace")
    os.replace(tmp, published_path)
    dir_fd = os.open(published_path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
    return counts
