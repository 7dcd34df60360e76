"""The same dbt project on Apache Spark (ARREARS_ENGINE=spark, docs/spark.md): the golden billing
history and the generator's small sample, built on Spark, give every mart the DuckDB build gives,
row for row.

The DuckDB sides are the session's builds every other test reads: the golden warehouse (in a copy
where dbt adds the monitoring models that build leaves out) and the generated sample's pipeline
warehouse (`sample_settings`). Each Spark side is a dbt build of the seeds and models (the data
tests run on DuckDB elsewhere) on a local Spark session from the Parquet export the pipeline makes.
The marts Spark writes are read back with DuckDB and compared, order-independent, money to the
cent and rates to 1e-9. A mart Spark cannot build fails this test by name.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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


def _is_rate(kind: str) -> bool:
    if kind.startswith("DECIMAL"):
        return int(kind.rstrip(")").split(",")[1]) > MONEY_SCALE
    return kind in ("DOUBLE", "FLOAT")


def _normalised(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], str]:
    """The relation's column names and a query of it with each value in comparable form."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    select = []
    for name, kind, *_ in columns:
        value = f'"{name}"'
        if _is_rate(kind):
            value = f"round({value}::double, {RATE_DIGITS})"
        elif kind.startswith("DECIMAL"):
            value = f"round({value}, {MONEY_SCALE})"
        elif kind.endswith("]") or kind.startswith(("STRUCT", "MAP")):
            value = f"{value}::varchar"
        select.append(f'{value}::varchar as "{name}"')
    return [c[0] for c in columns], f"select {', '.join(select)} from {relation}"


def _rows_by_exact_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict:
    """Each row's rates (as doubles, sorted) under the row's other columns in comparable form."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    exact = [f'"{name}"::varchar' for name, kind, *_ in columns if not _is_rate(kind)]
    rates = [f'"{name}"::double' for name, kind, *_ in columns if _is_rate(kind)]
    rows: dict = {}
    for row in con.execute(f"select {', '.join(exact + rates)} from {relation}").fetchall():
        rows.setdefault(row[: len(exact)], []).append(row[len(exact) :])
    return {
        key: sorted(values, key=lambda r: [(v is None, v or 0) for v in r])
        for key, values in rows.items()
    }


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 10**-RATE_DIGITS * max(1.0, abs(a))


def _unmatched_within_tolerance(con, golden: str, built: str) -> int:
    """Rows without a partner when rates may differ by 1e-9 (rounding both sides to 9 digits
    splits two values 1e-12 apart that straddle a rounding boundary)."""
    golden_rows, built_rows = (
        _rows_by_exact_columns(con, golden),
        _rows_by_exact_columns(con, built),
    )
    unmatched = 0
    for key in golden_rows.keys() | built_rows.keys():
        left, right = golden_rows.get(key, []), built_rows.get(key, [])
        unmatched += abs(len(left) - len(right))
        for a, b in zip(left, right, strict=False):
            unmatched += not all(_close(x, y) for x, y in zip(a, b, strict=True))
    return unmatched


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
    if (missing or extra) and _unmatched_within_tolerance(con, golden, built):
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


# The models over the risk score's Python output build on DuckDB whatever the engine, after the
# score, as in the pipeline (orchestration/defs/risk/assets.py): left out of the Spark builds and
# of the comparison (the golden build leaves them out too).
RISK_OUTPUT_MARTS = {p.stem for p in (DBT_PROJECT_DIR / "models" / "marts" / "risk").glob("*.sql")}
# The marts dbt builds (orchestration/risk.py writes two more tables into `marts` from Python).
DBT_MARTS = {p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").rglob("*.sql")}


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


def _spark_build(warehouse: Path, home: Path):
    """The raw tables of the DuckDB `warehouse` built by dbt on a local Spark session:
    (settings, dbt output)."""
    settings = load_settings(
        {"ARREARS_HOME": str(home), "ARREARS_WAREHOUSE": str(warehouse), "ARREARS_ENGINE": "spark"}
    )
    spark.export_raw(settings)
    spark.reset_tables(settings)
    return settings, _dbt_models(settings, home, exclude=RISK_OUTPUT_MODELS).stdout


def _assert_marts_equal(reference: Path, spark_build) -> None:
    """Every mart of the DuckDB `reference` warehouse (less the risk score's) equals Spark's."""
    settings, dbt_output = spark_build
    built = spark.table_folders(settings, "marts")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{reference}' as golden (read_only)")
    marts = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'golden' and table_schema = 'marts' order by table_name"
        ).fetchall()
        if name in DBT_MARTS and name not in RISK_OUTPUT_MARTS
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


def test_every_mart_of_the_golden_history_built_on_spark_equals_the_duckdb_build(
    duckdb_reference, tmp_path_factory
):
    build = _spark_build(duckdb_reference.warehouse_path, tmp_path_factory.mktemp("spark_golden"))
    _assert_marts_equal(duckdb_reference.warehouse_path, build)


def test_every_mart_of_the_generated_sample_built_on_spark_equals_the_duckdb_build(
    sample_settings, tmp_path_factory
):
    """The sample's pipeline warehouse (tests/sample.py) has every mart the DuckDB pipeline
    builds; Spark reads its raw tables read-only."""
    build = _spark_build(sample_settings.warehouse_path, tmp_path_factory.mktemp("spark_sample"))
    _assert_marts_equal(sample_settings.warehouse_path, build)
