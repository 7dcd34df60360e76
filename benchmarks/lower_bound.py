"""The lower bound of a build: the pipeline's own SQL for the four headline marts, generated from
the compiled dbt project and run as one DuckDB script in a fresh process, with none of the
machinery (no Dagster, no dbt, no row validation or quarantine, no checks, no publishing). Its
tables are then compared with the published marts: the bound only counts if it does the same work.

    python benchmarks/lower_bound.py --landing <dir> --out <file.duckdb> [--script <file.sql>]

The script is generated, never written by hand: `dbt compile` of the marts and their ancestors
against an empty DuckDB file (so incremental models compile as their full build), each model
created as dbt materialises it (view or table), its sources read from the landing Parquet files
with the contract's types and lineage columns, its seeds from their CSV files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.config import DBT_PROJECT_DIR, load_settings  # noqa: E402
from orchestration.contract import ENTITY_BY_NAME  # noqa: E402

MARTS = ("fct_invoices", "receivables_daily", "recovery_cohorts", "failure_rates_hourly")
# Doubles (failure-rate statistics) are summed in a different order by a different plan.
DOUBLE_DIGITS = 9
# The compile-time catalog: every relation name dbt writes starts with it and is stripped, so
# the script creates its tables in whatever file it runs in.
COMPILE_CATALOG = "lower_bound_compile"


def compile_manifest(work: Path, environ: dict[str, str] | None = None) -> dict:
    """`dbt compile` of the marts and their ancestors, in `work`, with the settings of `environ`
    (the build's: its reporting currency and hash salt are compiled in); returns the manifest."""
    work.mkdir(parents=True, exist_ok=True)
    empty = work / f"{COMPILE_CATALOG}.duckdb"
    env = {**load_settings(environ).subprocess_env(), "ARREARS_WAREHOUSE": str(empty)}
    dbt = str(Path(sys.executable).with_name("dbt"))
    subprocess.run(
        [dbt, "compile", "--quiet", "--select", *(f"+{m}" for m in MARTS),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads((work / "target" / "manifest.json").read_text())


def _in_build_order(manifest: dict) -> list[dict]:
    """The marts' ancestors (sources, seeds, models), each after what it reads."""
    nodes = {**manifest["sources"], **manifest["nodes"]}
    by_name = {
        n["name"]: uid for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"
    }
    ordered: list[dict] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        node = nodes[uid]
        for parent in node.get("depends_on", {}).get("nodes", []):
            visit(parent)
        ordered.append(node)

    for mart in MARTS:
        visit(by_name[mart])
    return ordered


def _raw_table(node: dict) -> str:
    """A raw table as ingestion leaves it for valid rows: the contract's columns and types, and
    the lineage columns the latest-version rule orders by."""
    entity = ENTITY_BY_NAME[node["name"]]
    columns = ", ".join(f"cast({c.name} as {c.type}) as {c.name}" for c in entity.columns)
    return (
        f'create table "{node["schema"]}"."{node["name"]}" as select {columns}, '
        "filename as _source_file, file_row_number + 1 as _source_row, "
        "now()::timestamp as _loaded_at "
        f"from read_parquet(getvariable('landing') || '/{entity.name}/*.parquet', "
        "filename = true, file_row_number = true, union_by_name = true)"
    )


def _seed_table(node: dict) -> str:
    types = ", ".join(f"'{c}': '{t}'" for c, t in node["config"]["column_types"].items())
    return (
        f'create table "{node["schema"]}"."{node["name"]}" as select * from read_csv('
        f"getvariable('seeds') || '/{Path(node['original_file_path']).relative_to('seeds')}', "
        f"header = true, columns = {{{types}}})"
    )


def script(manifest: dict) -> str:
    """The SQL script: schemas, then every source, seed and model in build order."""
    nodes = _in_build_order(manifest)
    qualified = {
        n["relation_name"]: n["relation_name"].split(".", 1)[1]
        for n in nodes
        if n.get("relation_name")
    }
    statements = ["set TimeZone = 'UTC'"]
    statements += [
        f'create schema if not exists "{s}"' for s in sorted({n["schema"] for n in nodes})
    ]
    for node in nodes:
        kind = node["resource_type"]
        if kind == "source":
            statements.append(_raw_table(node))
        elif kind == "seed":
            statements.append(_seed_table(node))
        elif node["config"]["materialized"] != "ephemeral":  # ephemeral ones are inlined CTEs
            sql = node["compiled_code"]
            for name, unqualified in qualified.items():
                sql = sql.replace(name, unqualified)
            relation = "view" if node["config"]["materialized"] == "view" else "table"
            statements.append(f'create {relation} "{node["schema"]}"."{node["name"]}" as\n{sql}')
    return ";\n\n".join(statements) + ";\n"


def write_script(path: Path, environ: dict[str, str] | None = None) -> Path:
    with tempfile.TemporaryDirectory(prefix="lower_bound_") as work:
        path.write_text(script(compile_manifest(Path(work), environ)))
    return path


def run(landing: Path, out: Path, sql: Path, memory_limit: str | None = None) -> float:
    """Execute the script into a new database file; returns its seconds. Without memory_limit,
    DuckDB's default (80 % of RAM): the fastest the script can go on this machine."""
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(out), config={"memory_limit": memory_limit} if memory_limit else {})
    con.execute("set enable_progress_bar = false")
    con.execute("set variable landing = ?", [str(landing)])
    con.execute("set variable seeds = ?", [str(DBT_PROJECT_DIR / "seeds")])
    con.execute(sql.read_text())
    con.close()
    return time.perf_counter() - started


def _comparable(column: str, kind: str) -> str:
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return f'round("{column}"::double, {DOUBLE_DIGITS}) as "{column}"'
    return f'"{column}"::{kind} as "{column}"'


def compare(lower_bound_db: Path, published_db: Path) -> dict[str, dict]:
    """Per mart: rows on each side and rows found on one side only (0 and 0 = identical)."""
    con = duckdb.connect(str(lower_bound_db), read_only=True)
    con.execute("set enable_progress_bar = false")
    con.execute(f"attach '{published_db}' as published (read_only)")
    (ours_db,) = con.execute("select current_database()").fetchone()
    report: dict[str, dict] = {}
    for mart in MARTS:
        mart_columns = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = 'published' and table_schema = 'marts' and table_name = ?",
                [mart],
            ).fetchall()
        )
        if not mart_columns:
            report[mart] = {"error": "not in the published warehouse"}
            continue
        ours = [
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_catalog = current_database() and table_schema = 'marts' "
                "and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()
        ]
        missing = [c for c in ours if c not in mart_columns]
        extra = [c for c in mart_columns if c not in ours]
        columns = [c for c in ours if c in mart_columns]

        # Both sides in the mart's types (the lower bound's may be wider).
        select = ", ".join(_comparable(c, mart_columns[c]) for c in columns)
        lb = f'select {select} from "{ours_db}".marts.{mart}'
        pub = f"select {select} from published.marts.{mart}"
        only_lb, only_pub, n_lb, n_pub = con.execute(
            f"""select
                (select count(*) from ({lb} except all {pub})),
                (select count(*) from ({pub} except all {lb})),
                (select count(*) from "{ours_db}".marts.{mart}),
                (select count(*) from published.marts.{mart})"""
        ).fetchone()
        # Doubles summed in another order (parallel windows and aggregates) can differ in the
        # last bits and round to different 9th decimals: pair the rows left over on their other
        # columns and accept them when every double agrees to 8 significant digits.
        doubles = [c for c in columns if mart_columns[c] in ("DOUBLE", "FLOAT", "REAL")]
        near_equal = 0
        if doubles and only_lb and only_pub:
            exact = [c for c in columns if c not in doubles]
            on = " and ".join(f'a."{c}" is not distinct from b."{c}"' for c in exact) or "true"
            close = " and ".join(
                f'(a."{c}" is not distinct from b."{c}" or '
                f'abs(a."{c}" - b."{c}") <= 1e-8 * greatest(1, abs(a."{c}")))'
                for c in doubles
            )
            (near_equal,) = con.execute(
                f"""with a as ({lb} except all {pub}), b as ({pub} except all {lb})
                select count(*) from a join b on {on} where {close}"""
            ).fetchone()
            near_equal = min(near_equal, only_lb, only_pub)
        report[mart] = {
            "rows_lower_bound": n_lb,
            "rows_mart": n_pub,
            "only_in_lower_bound": only_lb - near_equal,
            "only_in_mart": only_pub - near_equal,
            "equal_to_8_significant_digits": near_equal,
            "columns_compared": len(columns),
            "columns_missing_in_mart": missing,
            "mart_columns_not_computed": extra,
        }
    con.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--script", type=Path, help="an already generated script (not timed)")
    parser.add_argument("--memory-limit", help="e.g. 4GB, the pipeline's cap (default: DuckDB's)")
    args = parser.parse_args(argv)
    sql = args.script or write_script(args.out.with_suffix(".sql"))
    seconds = run(args.landing.resolve(), args.out.resolve(), sql, args.memory_limit)
    print(f"lower bound: {seconds:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
