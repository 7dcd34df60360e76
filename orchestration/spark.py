"""The Spark engine's side of a build (ARREARS_ENGINE=spark, docs/spark.md).

Ingestion stays on DuckDB: landing files are validated, quarantined and recorded in the manifest
there, in one transaction per file. Spark then reads the raw tables as Parquet, exported here,
and dbt registers them as the `raw` source (macro `register_spark_raw`). The marts Spark builds
are Parquet too, read back into the published DuckDB copy by `orchestration.publish`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from orchestration.config import Settings
from orchestration.contract import ENTITIES, LINEAGE_COLUMNS, Entity
from orchestration.warehouse import open_warehouse


def raw_export_dir(settings: Settings) -> Path:
    return settings.spark_dir / "raw"


def table_warehouse_dir(settings: Settings) -> Path:
    """Where the local session's tables live: `<schema>.db/<table>/*.parquet` (Hive layout)."""
    return settings.spark_dir / "warehouse"


def _export_select(entity: Entity) -> str:
    """The raw table's columns, naive UTC timestamps written as instants: Parquet then marks them
    adjusted to UTC, which Spark reads as its TIMESTAMP (a naive one would be TIMESTAMP_NTZ, a
    type no contract or function of the project expects). The session is UTC: same values."""
    cols = [
        f"{c.name}::timestamptz as {c.name}" if c.type.upper() == "TIMESTAMP" else c.name
        for c in (*entity.columns, *LINEAGE_COLUMNS)
    ]
    return f"select {', '.join(cols)} from raw.{entity.name}"


def export_raw(settings: Settings) -> dict[str, int]:
    """Write every raw entity table to `<spark_dir>/raw/<entity>/` as Parquet, replacing the last
    export whole. Returns row counts. The export is a snapshot of committed loads: DuckDB's
    transaction makes it consistent across entities."""
    out = raw_export_dir(settings)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    counts: dict[str, int] = {}
    with open_warehouse(settings, read_only=True) as con:
        con.execute("begin transaction")
        for entity in ENTITIES:
            folder = out / entity.name
            folder.mkdir()
            con.execute(
                f"copy ({_export_select(entity)}) to '{folder / 'part-0.parquet'}' (format parquet)"
            )
            counts[entity.name] = con.execute(f"select count(*) from raw.{entity.name}").fetchone()[
                0
            ]
        con.execute("commit")
    return counts


def reset_tables(settings: Settings) -> None:
    """Forget the tables of the last Spark build (files and metastore): every Spark build is a
    full one, so no model finds a stale table of an older schema in its place."""
    for folder in (table_warehouse_dir(settings), settings.spark_dir / "metastore"):
        if folder.exists():
            shutil.rmtree(folder)


def table_folders(settings: Settings, schema: str) -> dict[str, Path]:
    """The Parquet folder of each table the last Spark build made in `schema`."""
    folder = table_warehouse_dir(settings) / f"{schema}.db"
    if not folder.exists():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if any(p.glob("*.parquet"))}


def parquet_select(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    """A DuckDB query of one Spark table's Parquet files with the warehouse's types: Spark writes
    its TIMESTAMP as a UTC instant, which DuckDB reads as TIMESTAMPTZ; the pipeline's timestamps
    are naive UTC (the connection's TimeZone is UTC, so the cast keeps the wall time)."""
    source = f"read_parquet('{folder}/*.parquet')"
    columns = con.execute(f"describe select * from {source}").fetchall()
    select = ", ".join(
        f'"{name}"::timestamp as "{name}"' if kind == "TIMESTAMP WITH TIME ZONE" else f'"{name}"'
        for name, kind, *_ in columns
    )
    return f"select {select} from {source}"


def import_marts(settings: Settings) -> dict[str, int]:
    """Copy the marts of the last Spark build into the pipeline's DuckDB warehouse (schema
    `marts`), replacing DuckDB's, so the data checks, the delinquency score, alerting and the
    publish step read them as they read a DuckDB build. Returns row counts."""
    counts: dict[str, int] = {}
    with open_warehouse(settings) as con:
        con.execute("create schema if not exists marts")
        for table, folder in table_folders(settings, "marts").items():
            con.execute(f"create or replace table marts.{table} as {parquet_select(con, folder)}")
            counts[table] = con.execute(f"select count(*) from marts.{table}").fetchone()[0]
    return counts
