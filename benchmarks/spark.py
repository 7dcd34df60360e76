"""The same full build on DuckDB and on a local Apache Spark session (docs/spark.md), per size.

Per size, in `benchmarks/work/<size>/` (git-ignored, the landing data `make bench` generates, with
the same calibration and seed): one full `arrears build` from an empty warehouse per engine
(`ARREARS_ENGINE=duckdb`, then `spark`), timed as `make bench` times its builds (wall time, CPU
and the peak memory of the whole process tree, the JVM included; Dagster step durations).
Writes benchmarks/results/spark.md (rendered into RESULTS.md by benchmarks/report.py) and keeps
the figures in `work/<size>/bench/spark.json`. Run it at low priority on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/spark.py --sizes 1M
    nice -n 10 .venv/bin/python benchmarks/spark.py --sizes 1M,10M --spark-driver-memory 8g

After `make bench` of the same commit, `--reuse-bench` takes the DuckDB figure from its median full
build of the same landing data instead of building again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import report, run  # noqa: E402
from benchmarks.increment import remove_drop  # noqa: E402

RESULTS = run.BENCH_DIR / "results" / "spark.md"
ENGINES = ("duckdb", "spark")


def _dbt_seconds(build: dict) -> float | None:
    """The Dagster steps that ran dbt (on Spark: raw export, dbt build and the marts' import)."""
    return build.get("profile", {}).get("phases", {}).get("dbt")


def bench_duckdb_build(home: Path, commit: str, generation: dict) -> dict | None:
    """`make bench`'s median DuckDB full build of this home, if it measured this commit on this
    landing data: at 10M it is an 8-minute build, and measuring it again adds nothing."""
    path = home / "bench" / "results.json"
    if not path.exists():
        return None
    bench = json.loads(path.read_text())
    if (
        bench.get("commit") != commit
        or bench.get("generation", {}).get("config") != generation["config"]
    ):
        return None
    build = report.median_build(bench)
    return {**build, "source": "make bench"} if build and build["ok"] else None


def measure_size(
    label: str, customers: int, home: Path, driver_memory: str, reuse_bench: bool
) -> dict:
    env = run.build_env(home)
    commit = report._git("rev-parse", "--short", "HEAD")
    results: dict = {
        "size": label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "spark_driver_memory": driver_memory,
        "generation": run.generate(home, customers, run.MONTHS, env),
        "builds": {},
    }
    remove_drop(home / "landing")
    run.prepare_dbt(env)
    for engine in ENGINES:
        if engine == "duckdb" and reuse_bench:
            reused = bench_duckdb_build(home, commit, results["generation"])
            if reused is not None:
                run.log(
                    f"{label}: DuckDB full build taken from make bench ({reused['seconds']:.0f} s)"
                )
                results["builds"][engine] = reused
                continue
        run.reset_home(home)
        engine_env = {
            **env,
            "ARREARS_ENGINE": engine,
            "ARREARS_SPARK_DRIVER_MEMORY": driver_memory,
        }
        results["builds"][engine] = run.timed_build(home, engine_env, f"{engine}-full")
        (home / "bench" / "spark.json").write_text(json.dumps(results, indent=1))
    return results


def render(results: list[dict]) -> str:
    info = report.machine()
    lines = [
        "Full build (`arrears build` on an empty warehouse, the landing data of `make bench`), "
        f"per engine, on this machine ({info['cores']} cores, {info['ram_gb']:.1f} GB RAM); "
        "Spark is a local session (`local[2]`) inside the dbt process. "
        "Written by `benchmarks/spark.py`.",
        "",
        "| size | engine | commit | wall | CPU | dbt steps | peak memory | Spark driver heap "
        "| load avg before / after | result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        attempts = result["generation"]["rows"].get("payment_attempts")
        for engine, build in result["builds"].items():
            load = f"{build['load_average_before'][0]} / {build['load_average_after'][0]}"
            lines.append(
                f"| {result['size']} ({report._n(attempts)} attempts) | {engine} "
                f"| `{result['commit']}` | {report._s(build['seconds'])} "
                f"| {report._s(build['cpu_seconds'])} | {report._s(_dbt_seconds(build))} "
                f"| {report._mb(build['peak_rss_mb'])} "
                f"| {result['spark_driver_memory'] if engine == 'spark' else '–'} | {load} "
                f"| {'ok' if build['ok'] else 'FAILED: ' + (build['failure'] or '?')[:200]}"
                f"{' (median full build of `make bench`)' if build.get('source') else ''} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M")
    parser.add_argument("--work", type=Path, help=f"work folder (default {run.WORK_DIR})")
    parser.add_argument(
        "--spark-driver-memory",
        default=os.environ.get("ARREARS_SPARK_DRIVER_MEMORY", "4g"),
        help="heap of the local Spark session (ARREARS_SPARK_DRIVER_MEMORY)",
    )
    parser.add_argument("--out", type=Path, help=f"report (default {RESULTS})")
    parser.add_argument(
        "--reuse-bench",
        action="store_true",
        help="take the DuckDB figure from make bench's full builds of the same commit and data",
    )
    args = parser.parse_args(argv)
    work = args.work or run.WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    ratio = run.calibrate(work, run.build_env(work / "calibration"))
    results = []
    for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        customers = max(100, int(round(run.parse_size(label) / ratio, -2)))
        run.log(f"size {label}: {customers:,} customers, engines {', '.join(ENGINES)}")
        results.append(
            measure_size(label, customers, work / label, args.spark_driver_memory, args.reuse_bench)
        )
        out = args.out or RESULTS
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(results))
        run.log(f"report: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
