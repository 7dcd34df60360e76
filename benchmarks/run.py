"""`make bench`: generate, build, query and time Arrears at ~100k, ~1M and ~10M payment attempts.

Per size, in `benchmarks/work/<size>/` (git-ignored): the generator's time; full builds from an
empty warehouse (`arrears build`, each in its own process, wall time and peak memory of the
whole process tree), split into Dagster steps and dbt models; every dashboard query's p50/p95;
the lower bound (the pipeline's SQL alone, generated from the compiled dbt project: lower_bound.py)
on the same files, checked equal to the marts;
one more day of data landing, then an incremental build. Each size's figures are kept in
`work/<size>/bench/results.json`, so sizes can be run separately; RESULTS.md is rendered from
every size found there.

    python benchmarks/run.py                       # 100k, 1M and 10M -> benchmarks/RESULTS.md
    python benchmarks/run.py --sizes 100k,1M
    python benchmarks/run.py --smoke               # tiny size in a temp dir; RESULTS.md untouched
    python benchmarks/run.py --smoke --reuse-home H  # no generate/build: H is a built home
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script (`make bench`): make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import measure, report  # noqa: E402
from benchmarks.increment import remove_drop, write_next_day  # noqa: E402
from benchmarks.lower_bound import compare, write_script  # noqa: E402
from benchmarks.profile import build_profile  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
# `arrears` as `python -m`, from this checkout (a --snapshot copy runs its own code).
ARREARS = [sys.executable, "-m", "orchestration.cli"]
MONTHS = 12
SEED = 7
CALIBRATION_CUSTOMERS = 2000
SMOKE_CUSTOMERS, SMOKE_MONTHS = 150, 3
# What a home keeps between full builds: the data and the benchmark's own records.
KEEP = {"landing", "generated.json", "ground_truth.json", "bench"}


def parse_size(label: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", label.strip())
    if not match:
        raise ValueError(f"size {label!r}: use e.g. 100k, 1M, 10M")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * factor)


def default_runs(attempts: int) -> int:
    """Medians where cheap: 3 runs at 100k, 2 at 1M, 1 at 10M."""
    return 3 if attempts <= 200_000 else 2 if attempts <= 2_000_000 else 1


def build_env(home: Path, dbt_threads: int | None = None) -> dict[str, str]:
    """The benchmark's own environment: only ARREARS_HOME decides where things go."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ARREARS_") and k != "DAGSTER_HOME"
    }
    env.update(ARREARS_HOME=str(home), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env["PYTHONWARNINGS"] = "ignore"
    if dbt_threads:
        env["ARREARS_DBT_THREADS"] = str(dbt_threads)
    elif os.environ.get("ARREARS_DBT_THREADS"):
        env["ARREARS_DBT_THREADS"] = os.environ["ARREARS_DBT_THREADS"]
    return env


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- generation


def generated_rows(output: str) -> dict[str, int]:
    """Rows per entity from the generator's summary (`  payment_attempts   16,563 rows`)."""
    return {
        name: int(count.replace(",", ""))
        for name, count in re.findall(r"^\s+(\w+)\s+([\d,]+) rows$", output, re.M)
        if name != "total"
    }


def generate(home: Path, customers: int, months: int, env: dict) -> dict:
    """Generate the landing folder unless it already holds this exact configuration."""
    marker = home / "generated.json"
    config = {"customers": customers, "months": months, "seed": SEED, "format": "parquet"}
    if marker.exists():
        done = json.loads(marker.read_text())
        if done.get("config") == config and (home / "landing").is_dir():
            log(f"landing already generated for {config} ({done['seconds']:.0f} s then)")
            return done
    shutil.rmtree(home / "landing", ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    cmd = [
        *ARREARS, "generate", "--customers", str(customers), "--months", str(months),
        "--seed", str(SEED), "--out", str(home / "landing"),
        "--ground-truth", str(home / "ground_truth.json"),
    ]  # fmt: skip
    log(f"generating {customers:,} customers x {months} months")
    m = measure.run(cmd, {**env, "TQDM_DISABLE": "1"}, cwd=REPO_ROOT)
    if m.returncode != 0:
        raise RuntimeError(f"generator failed:\n{m.output[-3000:]}")
    done = {
        "config": config,
        "seconds": m.seconds,
        "cpu_seconds": m.cpu_seconds,
        "peak_rss_mb": m.peak_rss_mb,
        "rows": generated_rows(m.output),
        "landing_mb": _size_mb(home / "landing"),
        "load_average": load_average(),
    }
    marker.write_text(json.dumps(done, indent=1))
    return done


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def calibrate(work: Path, env: dict) -> float:
    """Payment attempts per customer over 12 months, from a small generation (cached)."""
    path = work / "calibration.json"
    if path.exists():
        return json.loads(path.read_text())["attempts_per_customer"]
    home = work / "calibration"
    done = generate(home, CALIBRATION_CUSTOMERS, MONTHS, build_env(home))
    ratio = done["rows"]["payment_attempts"] / CALIBRATION_CUSTOMERS
    path.write_text(
        json.dumps({"customers": CALIBRATION_CUSTOMERS, "attempts_per_customer": ratio})
    )
    shutil.rmtree(home, ignore_errors=True)
    log(f"calibration: {ratio:.2f} payment attempts per customer over {MONTHS} months")
    return ratio


# ---------------------------------------------------------------- builds


def reset_home(home: Path) -> None:
    """Everything but the landing data goes: the next build starts from an empty warehouse."""
    for child in home.iterdir():
        if child.name in KEEP:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def prepare_dbt(env: dict) -> None:
    """Parse the dbt project before timing, as a deployment would (it is not per-build work)."""
    code = "from orchestration.defs.transform.project import prepare_manifest; prepare_manifest()"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=False)


def dbt_inputs_mtime() -> float:
    """Newest file dbt parses (as orchestration.defs.transform.project sees staleness); every
    dbt command rewrites target/manifest.json, so its own mtime says nothing about a re-parse."""
    project = REPO_ROOT / "dbt_project"
    names = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")
    files = [p for n in names for p in ([project / n] if (project / n).is_file() else [])]
    files += [p for n in names if (project / n).is_dir() for p in (project / n).rglob("*")]
    return max((p.stat().st_mtime for p in files if p.is_file()), default=0.0)


def timed_build(home: Path, env: dict, label: str) -> dict:
    bench = home / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    inputs_before = dbt_inputs_mtime()
    load_before = load_average()
    log(f"{label}: arrears build")
    m = measure.run([*ARREARS, "build"], env, log=bench / f"{label}.log", cwd=REPO_ROOT)
    ok = m.returncode == 0
    log(f"{label}: {'ok' if ok else 'FAILED'} in {m.seconds:.1f} s, peak {m.peak_rss_mb:,.0f} MB")
    result = {
        "label": label,
        "ok": ok,
        "seconds": m.seconds,
        "cpu_seconds": m.cpu_seconds,
        "peak_rss_mb": m.peak_rss_mb,
        "started_at": m.started_at,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        # The project changed during the run: the build re-parsed it (and measured an edit).
        "dbt_project_changed": dbt_inputs_mtime() != inputs_before,
        "failure": None if ok else _failure_lines(m.output),
    }
    profile = build_profile(home / "dagster", [REPO_ROOT / "dbt_project" / "target", home])
    if profile is not None:
        result["profile"] = profile.to_dict()
        if profile.run_results_path:
            shutil.copy(profile.run_results_path, bench / f"{label}.run_results.json")
        result["overhead"] = overhead(m.started_at, m.seconds, profile)
        result["peak_rss_mb_by_phase"] = peaks_by_phase(m.rss_timeline, profile)
    return result


def _failure_lines(output: str) -> str:
    lines = [line for line in output.splitlines() if "ERROR" in line or "FAIL" in line]
    return "\n".join(lines[-8:])[-2000:]


def peaks_by_phase(timeline: list[tuple[float, float]], profile) -> dict[str, float]:
    """Peak memory while each phase's steps ran ("outside steps" for the rest)."""
    peaks: dict[str, float] = {}
    for at, mb in timeline:
        phase = next(
            (s.phase for s in profile.steps if s.start <= at + 1.0 and at <= s.start + s.seconds),
            "outside steps",
        )
        peaks[phase] = max(peaks.get(phase, 0.0), mb)
    return peaks


def overhead(started_at: float, seconds: float, profile) -> dict:
    """Wall time not spent inside a Dagster step, and dbt's start-up inside its step."""
    steps = profile.steps_total
    before_run = max(profile.run_start - started_at, 0.0)
    after_run = max(started_at + seconds - profile.run_end, 0.0) if profile.run_end else 0.0
    in_run = max(seconds - before_run - after_run - steps, 0.0)
    dbt_step = profile.dbt_step_seconds()
    return {
        "total": seconds - steps,
        "process_start_to_run": before_run,  # interpreter, imports, definitions, dbt manifest
        "between_steps": in_run,  # Dagster's own work between steps
        "after_run": after_run,
        "dbt_startup": (dbt_step - profile.dbt_elapsed) if profile.dbt_elapsed else None,
    }


# ---------------------------------------------------------------- queries and lower bound


def dashboard_latency(home: Path, env: dict, calls: int) -> dict:
    log(f"dashboard queries x{calls}")
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / "dashboard_latency.py"), "--calls", str(calls)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def lower_bound(home: Path, env: dict) -> dict:
    bench = home / "bench"
    out = bench / "lower_bound.duckdb"
    log("lower bound: generated from the compiled dbt project")
    bench.mkdir(parents=True, exist_ok=True)
    sql = write_script(bench / "lower_bound.sql", env)
    log("lower bound (fresh DuckDB process)")
    cmd = [
        sys.executable, str(BENCH_DIR / "lower_bound.py"),
        "--landing", str(home / "landing"), "--out", str(out), "--script", str(sql),
    ]  # fmt: skip
    m = measure.run(cmd, env, log=bench / "lower_bound.log", cwd=REPO_ROOT)
    result = {
        "seconds": m.seconds,
        "cpu_seconds": m.cpu_seconds,
        "peak_rss_mb": m.peak_rss_mb,
        "ok": m.returncode == 0,
    }
    if m.returncode != 0:
        result["error"] = m.output[-2000:]
        return result
    published = home / "published" / "arrears.duckdb"
    if published.exists():
        result["comparison"] = compare(out, published.resolve())
    out.unlink(missing_ok=True)
    return result


# ---------------------------------------------------------------- one size


def run_size(label: str, customers: int, months: int, home: Path, args) -> dict:
    env = build_env(home, args.dbt_threads)
    results: dict = {
        "size": label,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "dbt_threads": env.get("ARREARS_DBT_THREADS"),
        # A snapshot made with `git archive` has no .git: its commit comes from the environment.
        "commit": os.environ.get("ARREARS_BENCH_COMMIT")
        or report._git("rev-parse", "--short", "HEAD"),
    }
    results["generation"] = generate(home, customers, months, env)
    remove_drop(home / "landing")
    prepare_dbt(env)
    attempts = results["generation"]["rows"].get("payment_attempts", 0)
    runs = args.runs or default_runs(attempts)
    save = _saver(home, results)
    results["builds"] = []
    for i in range(runs):
        reset_home(home)
        results["builds"].append(timed_build(home, env, f"full-{i + 1}"))
        save()
    if not any(b["ok"] for b in results["builds"]):
        log("no full build succeeded: queries, lower bound and incremental skipped")
        return save()
    results["dashboards"] = dashboard_latency(home, env, args.calls)
    save()
    results["lower_bound"] = lower_bound(home, env)
    save()
    if not args.no_incremental:
        drop = write_next_day(home / "landing")
        log(f"next day landed: {drop}")
        results["incremental"] = {"drop_rows": drop, **timed_build(home, env, "incremental")}
        save()
    return save()


def rerun_stages(label: str, home: Path, stages: list[str], args) -> dict:
    """Re-measure some stages of a size whose warehouse is built, keeping its other figures."""
    path = home / "bench" / "results.json"
    results = json.loads(path.read_text())
    env = build_env(home, args.dbt_threads)
    if "dashboards" in stages:
        results["dashboards"] = dashboard_latency(home, env, args.calls)
    if "lower_bound" in stages:
        results["lower_bound"] = lower_bound(home, env)
    if "incremental" in stages:
        drop = write_next_day(home / "landing")
        results["incremental"] = {"drop_rows": drop, **timed_build(home, env, "incremental")}
    return _saver(home, results)()


def _saver(home: Path, results: dict):
    def save() -> dict:
        path = home / "bench" / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1, default=str))
        return results

    return save


def smoke_from_home(home: Path, work: Path, args) -> dict:
    """The measuring steps on an already built home, which is left untouched."""
    env = build_env(home)
    results: dict = {"size": "smoke", "date": datetime.now(UTC).isoformat(timespec="seconds")}
    profile = build_profile(home / "dagster", [REPO_ROOT / "dbt_project" / "target", home])
    results["builds"] = [{"label": "existing", "ok": True, "profile": profile.to_dict()}]
    results["dashboards"] = dashboard_latency(home, env, args.calls)
    # The lower bound and the next-day drop work on a copy: the home may be shared.
    copy = work / "smoke"
    shutil.copytree(home / "landing", copy / "landing", dirs_exist_ok=True)
    (copy / "bench").mkdir(exist_ok=True)
    (copy / "published").mkdir(exist_ok=True)
    os.symlink((home / "published" / "arrears.duckdb").resolve(), copy / "published/arrears.duckdb")
    results["lower_bound"] = lower_bound(copy, env)
    results["incremental"] = {"drop_rows": write_next_day(copy / "landing")}
    _saver(copy, results)()
    return results


# ---------------------------------------------------------------- main

# Not copied into a snapshot: the environment, data, results and build products.
_NOT_SNAPSHOTTED = {".venv", "data", "benchmarks/work", "dbt_project/target", "dbt_project/logs",
                    "tests/artifacts"}  # fmt: skip


def run_snapshot(args) -> int:
    """Copy the checkout and run the benchmark from the copy: a long run then measures one
    version of the code, whatever is edited (or re-parsed by dbt) meanwhile."""
    snap = args.snapshot.resolve()
    if snap.exists():
        raise SystemExit(f"{snap} exists: give a new folder for the snapshot")

    def ignore(folder: str, names: list[str]) -> set[str]:
        rel = Path(folder).relative_to(REPO_ROOT)
        return {
            n for n in names
            if str(rel / n).removeprefix("./") in _NOT_SNAPSHOTTED
            or n in ("__pycache__", ".pytest_cache", ".ruff_cache")
        }  # fmt: skip

    shutil.copytree(REPO_ROOT, snap, ignore=ignore, symlinks=True)
    log(f"measuring a snapshot of the code in {snap}")
    forward = ["--sizes", args.sizes, "--calls", str(args.calls)]
    forward += ["--work", str((args.work or WORK_DIR).resolve())]
    forward += ["--out", str((args.out or RESULTS_MD).resolve())]
    forward += ["--runs", str(args.runs)] if args.runs else []
    forward += ["--dbt-threads", str(args.dbt_threads)] if args.dbt_threads else []
    forward += ["--no-incremental"] if args.no_incremental else []
    forward += ["--report-only"] if args.report_only else []
    forward += ["--only", args.only] if args.only else []
    return subprocess.call(
        [sys.executable, str(snap / "benchmarks" / "run.py"), *forward], cwd=snap
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M,10M")
    parser.add_argument("--runs", type=int, help="full builds per size (default: 3, 2, 1)")
    parser.add_argument("--calls", type=int, default=20, help="calls per dashboard query")
    parser.add_argument("--dbt-threads", type=int, help="ARREARS_DBT_THREADS for the builds")
    parser.add_argument("--work", type=Path, help=f"work folder (default {WORK_DIR})")
    parser.add_argument("--out", type=Path, help=f"report (default {RESULTS_MD})")
    parser.add_argument("--no-incremental", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="re-render from saved results")
    parser.add_argument(
        "--only", help="re-measure these stages of built sizes: dashboards,lower_bound,incremental"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny size, temp dir, no RESULTS.md")
    parser.add_argument("--reuse-home", type=Path, help="with --smoke: a built home to measure")
    parser.add_argument(
        "--snapshot", type=Path, help="copy the code here first and measure that frozen copy"
    )
    args = parser.parse_args(argv)
    if args.snapshot:
        return run_snapshot(args)

    if args.smoke:
        work = args.work or Path(tempfile.mkdtemp(prefix="arrears-bench-"))
        out = args.out or work / "RESULTS.md"
        args.calls = min(args.calls, 3)
        if args.reuse_home:
            results = [smoke_from_home(args.reuse_home.resolve(), work, args)]
        else:
            args.runs = 1
            results = [run_size("smoke", SMOKE_CUSTOMERS, SMOKE_MONTHS, work / "smoke", args)]
        out.write_text(report.render(results, smoke=True))
        log(f"smoke report: {out}")
        return 0

    work = args.work or WORK_DIR
    work.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS_MD
    if args.only:
        for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            rerun_stages(label, work / label, args.only.split(","), args)
    elif not args.report_only:
        ratio = calibrate(work, build_env(work / "calibration"))
        for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            customers = max(100, int(round(parse_size(label) / ratio, -2)))
            log(f"size {label}: {customers:,} customers")
            started = time.perf_counter()
            run_size(label, customers, MONTHS, work / label, args)
            log(f"size {label} done in {time.perf_counter() - started:.0f} s")
            out.write_text(report.render(report.load_all(work)))
    out.write_text(report.render(report.load_all(work)))
    log(f"report: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
