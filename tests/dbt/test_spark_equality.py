"""The same dbt project on Apache Spark (ARREARS_ENGINE=spark, docs/spark.md): the golden billing
history built on Spark gives every mart the DuckDB build gives, row for row.

The DuckDB side is the session's golden warehouse (the golden build of every other test), in a
copy where dbt adds only the monitoring models that build leaves out; the Spark side is a dbt
build of the seeds and models (the data tests run on DuckDB elsewhere) on one local Spark session
from the Parquet export the pipeline makes. The marts Spark writes are read back with DuckDB and compared,
order-independent, money to the cent and rates to 1e-9. A mart Spark cannot build yet fails
this test by name.
"""

from __future__ import annotations

import shutil
import subprocess

import duckdb
import pytest

from orchestration import spark
from orchestration.config import DBT_PROJECT_DIR, load_settings
from orchestration.defs.transform.assets import RISK_OUTPUT_MODELS
from tests.dbt.conftest import DBT

# Scales up to the cent are money (decimal(18,2)) and compared to the cent; finer decimals and
# doubles are rates and shares, compared to 1e-9.
MONEY_SCALE = 2
RATE_DIGITS = 9


def _normalised(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], str]:
    """The relation's column names and a query of it with each value in comparable form."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    select = []
    for name, kind, *_ in columns:
        value = f'"{name}"'
        if kind.startswith("DECIMAL"):
            scale = int(kind.rstrip(")").split(",")[1])
            value = f"round({value}, {MONEY_SCALE if scale <= MONEY_SCALE else RATE_DIGITS})"
        elif kind in ("DOUBLE", "FLOAT"):
            value = f"round({value}, {RATE_DIGITS})"
        elif kind.endswith("]") or kind.startswith(("STRUCT", "MAP")):
            value = f"{value}::varchar"
        select.append(f'{value}::varchar as "{name}"')
    return [c[0] for c in columns], f"select {', '.join(select)} from {relation}"


def _differences(con: duckdb.DuckDBPyConnection, golden: str, built: str) -> str | None:
    golden_columns, golden_query = _normalised(con, golden)
    built_columns, built_query = _normalised(con, built)
    if golden_columns != built_columns:
        return f"columns differ: DuckDB {golden_columns}, Spark {built_columns}"
    missing = con.execute(
        f"select count(*) from ({golden_query} except all {built_query})"
    ).fetchone()[0]
    extra = con.execute(
        f"select count(*) from ({built_query} except all {golden_query})"
    ).fetchone()[0]
    if missing or extra:
        example = con.execute(f"{golden_query} except all {built_query} limit 1").fetchall()
        return (
            f"{missing} DuckDB rows not on Spark, {extra} Spark rows not on DuckDB; e.g. {example}"
        )
    return None


def _dbt_models(settings, home, *select: str, exclude: str = "") -> subprocess.CompletedProcess:
    """`dbt build` of the seeds and models (those of `select`, or all, less `exclude`) on the
    settings' engine, with its own target folder."""
    return subprocess.run(
        [str(DBT), "build", "--resource-type", "seed", "--resource-type", "model",
         *(["--select", *select] if select else []),
         *(["--exclude", exclude] if exclude else []),
         "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs")],
        cwd=DBT_PROJECT_DIR,
        env=settings.subprocess_env(),
        capture_output=True,
        text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def duckdb_reference(golden_warehouse, tmp_path_factory):
    """A copy of the golden warehouse with the monitoring models added: every mart on DuckDB.
    The golden build's own tables are reused as they are (a second build gives the same)."""
    home = tmp_path_factory.mktemp("duckdb_reference")
    settings = load_settings(
        {"ARREARS_HOME": str(home), "ARREARS_WAREHOUSE": str(home / "arrears.duckdb")}
    )
    shutil.copy(golden_warehouse.path, settings.warehouse_path)
    # The monitoring group (orchestration/defs/transform/assets.py): the layers' monitoring folders.
    result = _dbt_models(
        settings, home, "path:models/intermediate/monitoring", "path:models/marts/monitoring"
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return settings


@pytest.fixture(scope="module")
def spark_build(duckdb_reference, tmp_path_factory):
    """The same raw tables built by dbt on a local Spark session: (settings, dbt output)."""
    home = tmp_path_factory.mktemp("spark")
    settings = load_settings(
        {
            "ARREARS_HOME": str(home),
            "ARREARS_WAREHOUSE": str(duckdb_reference.warehouse_path),
            "ARREARS_ENGINE": "spark",
        }
    )
    spark.export_raw(settings)
    spark.reset_tables(settings)
    # The models over the risk score's Python output build on DuckDB whatever the engine, after
    # the score, as in the pipeline (orchestration/defs/risk/assets.py; the golden build leaves
    # them out too).
    return settings, _dbt_models(settings, home, exclude=RISK_OUTPUT_MODELS).stdout


def test_every_mart_built_on_spark_equals_the_duckdb_build(duckdb_reference, spark_build):
    settings, dbt_output = spark_build
    built = spark.table_folders(settings, "marts")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{duckdb_reference.warehouse_path}' as golden (read_only)")
    marts = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'golden' and table_schema = 'marts' order by table_name"
        ).fetchall()
    ]
    assert len(marts) >= 30, marts  # every mart, the monitoring ones included
    problems = {}
    for mart in marts:
        if mart not in built:
            problems[mart] = "not built on Spark"
            continue
        con.execute(f"create or replace view built as {spark.parquet_select(con, built[mart])}")
        difference = _differences(con, f"golden.marts.{mart}", "built")
        if difference:
            problems[mart] = difference
    failed_models = [line for line in dbt_output.splitlines() if "ERROR creating" in line]
    assert problems == {}, (
        f"{len(problems)} of {len(marts)} marts differ on Spark:\n"
        + "\n".join(f"- {m}: {p}" for m, p in problems.items())
        + "\nSpark models that failed:\n"
        + "\n".join(failed_models)
    )
