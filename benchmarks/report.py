"""RESULTS.md from the saved per-size results: machine, versions, every figure beside its target."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ALERT_QUALITY = BENCH_DIR / "results" / "alert_quality.md"
RISK_SCORE = BENCH_DIR / "results" / "risk_score.md"  # benchmarks/risk_score.py
FIXED_COSTS = BENCH_DIR / "results" / "fixed_costs.md"  # benchmarks/fixed_costs.py --write
SPARK = BENCH_DIR / "results" / "spark.md"  # benchmarks/spark.py

# The targets on the 2-core, 24 GB reference machine.
FULL_BUILD_S = 300
INCREMENTAL_S = 30
QUERY_P95_MS = 300
PEAK_MB = 6 * 1024
LOWER_BOUND_RATIO = 3
TARGET_SIZE = "10M"
PHASE_ORDER = [
    "connectors",
    "ingestion",
    "raw checks",
    "dbt",
    "risk score",
    "mart checks",
    "alerts",
    "publish",
]
PACKAGES = [
    "duckdb", "dbt-core", "dbt-duckdb", "dagster", "dagster-dbt", "great-expectations",
    "streamlit", "pandas", "pyarrow",
]  # fmt: skip


def load_all(work: Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in work.glob("*/bench/results.json")]
    return sorted(found, key=lambda r: _attempts(r) or 0)


def _attempts(result: dict) -> int | None:
    return result.get("generation", {}).get("rows", {}).get("payment_attempts")


# ---------------------------------------------------------------- machine


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cores": os.cpu_count(),
        "ram_gb": mem_kb / 2**20,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_files": len(_git("status", "--porcelain").splitlines()),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=BENCH_DIR.parent, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


# ---------------------------------------------------------------- figures


def ok_builds(result: dict) -> list[dict]:
    return [b for b in result.get("builds", []) if b.get("ok") and "seconds" in b]


def median_build(result: dict) -> dict | None:
    """The successful run whose wall time is the median (the lower middle of an even count);
    without one, the longest failed run (its steps still show where the time went)."""
    builds = sorted(ok_builds(result), key=lambda b: b["seconds"])
    if builds:
        return builds[(len(builds) - 1) // 2]
    failed = [b for b in result.get("builds", []) if "seconds" in b]
    return max(failed, key=lambda b: b["seconds"]) if failed else None


def failed_after(result: dict) -> float | None:
    """Wall time until the failure when no build succeeded: the build takes at least that."""
    if ok_builds(result):
        return None
    failed = [b["seconds"] for b in result.get("builds", []) if "seconds" in b]
    return max(failed) if failed else None


def median_seconds(result: dict) -> float | None:
    builds = ok_builds(result)
    return statistics.median(b["seconds"] for b in builds) if builds else None


def median_cpu(result: dict) -> float | None:
    cpus = [b["cpu_seconds"] for b in ok_builds(result) if "cpu_seconds" in b]
    return statistics.median(cpus) if cpus else None


def peak_mb(result: dict) -> float | None:
    peaks = [b["peak_rss_mb"] for b in result.get("builds", []) if "peak_rss_mb" in b]
    incremental = result.get("incremental", {})
    if "peak_rss_mb" in incremental:
        peaks.append(incremental["peak_rss_mb"])
    return max(peaks) if peaks else None


def worst_query(result: dict) -> dict | None:
    queries = [q for q in result.get("dashboards", {}).get("queries", []) if "p95_ms" in q]
    queries = [q for q in queries if not _not_a_query(q)]
    return max(queries, key=lambda q: q["p95_ms"]) if queries else None


def lower_bound_ratio(result: dict) -> float | None:
    lb = result.get("lower_bound", {})
    full = median_seconds(result)
    return full / lb["seconds"] if full and lb.get("ok") and lb.get("seconds") else None


def lower_bound_matches(result: dict) -> bool | None:
    comparison = result.get("lower_bound", {}).get("comparison")
    if not comparison:
        return None
    return all(
        "error" not in c and c["only_in_lower_bound"] == 0 and c["only_in_mart"] == 0
        for c in comparison.values()
    )


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"


def _mb(mb: float | None) -> str:
    return "—" if mb is None else f"{mb:,.0f} MB" if mb < 1024 else f"{mb / 1024:.2f} GB"


def _met(value: float | None, limit: float) -> str:
    return "not measured" if value is None else ("**met**" if value <= limit else "**missed**")


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


# ---------------------------------------------------------------- rendering


def render(results: list[dict], smoke: bool = False) -> str:
    info = machine()
    by_size = {r["size"]: r for r in results}
    lines = [
        "# Benchmark results" + (" (smoke run: tiny data, not a measurement)" if smoke else ""),
        "",
        f"Written by `make bench` (`benchmarks/run.py`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{info['commit'] or '?'}`"
        + (
            f" plus {info['uncommitted_files']} uncommitted files"
            if info["uncommitted_files"]
            else ""
        )
        + ". "
        + (
            "Code measured per size: "
            + ", ".join(f"{r['size']} at `{r['commit']}`" for r in results if r.get("commit"))
            + ". "
            if any(r.get("commit") for r in results)
            else ""
        )
        + "Method and caveats: [docs/performance.md](../docs/performance.md).",
        "",
        "## Machine",
        "",
        f"- {info['cores']} cores, {info['ram_gb']:.1f} GB RAM, {info['cpu']}, {info['os']}",
        "- " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        "- Conditions: load average (1 min) before each timed build is listed with it; above "
        f"{info['cores']} means other processes were competing for the CPU.",
        "",
    ]
    lines += _targets(by_size)
    lines += _sizes(results)
    lines += _builds(results)
    lines += _dbt_models(results)
    lines += _incremental(results)
    lines += _dashboards(results)
    lines += _lower_bound(results)
    if FIXED_COSTS.exists() and not smoke:
        lines += [
            "## Fixed costs and the quiet day (nothing new landed)",
            "",
            FIXED_COSTS.read_text().strip(),
            "",
        ]
    if ALERT_QUALITY.exists() and not smoke:
        lines += [
            "## Alert quality",
            "",
            f"From `{ALERT_QUALITY.relative_to(BENCH_DIR.parent)}`:",
            "",
        ]
        body = ALERT_QUALITY.read_text().strip().splitlines()
        lines += [("#" + line if line.startswith("#") else line) for line in body] + [""]
    if RISK_SCORE.exists() and not smoke:
        lines += [
            "## Delinquency score",
            "",
            f"From `{RISK_SCORE.relative_to(BENCH_DIR.parent)}`:",
            "",
        ]
        body = RISK_SCORE.read_text().strip().splitlines()
        lines += [("#" + line if line.startswith("#") else line) for line in body] + [""]
    if SPARK.exists() and not smoke:
        lines += [
            "## Spark (local session) beside DuckDB",
            "",
            f"From `{SPARK.relative_to(BENCH_DIR.parent)}`:",
            "",
            SPARK.read_text().strip(),
            "",
        ]
    lines += _closing(by_size)
    return "\n".join(lines).rstrip() + "\n"


def _targets(by_size: dict) -> list[str]:
    big = by_size.get(TARGET_SIZE, {})
    full = median_seconds(big)
    at_least = failed_after(big)
    incremental = big.get("incremental", {})
    inc_s = incremental.get("seconds") if incremental.get("ok") else None
    worst = worst_query(big)
    peaks = [p for p in (peak_mb(r) for r in by_size.values()) if p is not None]
    ratio = lower_bound_ratio(big)
    return [
        f"## Targets (at {TARGET_SIZE} payment attempts unless stated)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| full build ≤ {FULL_BUILD_S / 60:.0f} min | "
        + (
            f"{_s(full)} | {_met(full, FULL_BUILD_S)}"
            if full or not at_least
            else f"failed after {_s(at_least)} (see below) | {_met(at_least, FULL_BUILD_S)}"
        )
        + " |",
        f"| incremental day ≤ {INCREMENTAL_S} s | "
        + (
            f"failed after {_s(incremental['seconds'])} (see below) | **missed**"
            if incremental.get("ok") is False
            else f"{_s(inc_s)} | {_met(inc_s, INCREMENTAL_S)}"
        )
        + " |",
        f"| every dashboard query p95 ≤ {QUERY_P95_MS} ms | worst: "
        + (f"`{worst['query']}` ({worst['page']}) {worst['p95_ms']:,.0f} ms" if worst else "—")
        + f" | {_met(worst['p95_ms'] if worst else None, QUERY_P95_MS)} |",
        f"| peak memory ≤ {PEAK_MB / 1024:.0f} GB (every build, every size) | "
        f"{_mb(max(peaks) if peaks else None)} | {_met(max(peaks) if peaks else None, PEAK_MB)} |",
        f"| full build ≤ {LOWER_BOUND_RATIO}× lower bound | "
        + (f"{ratio:.1f}×" if ratio else "—")
        + f" | {_met(ratio, LOWER_BOUND_RATIO)} |",
        "",
    ]


def _sizes(results: list[dict]) -> list[str]:
    lines = [
        "## Sizes and the generator",
        "",
        "| size | customers × months | payment attempts | invoices | all rows | landing (Parquet) "
        "| generator time | generator peak memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        g = r.get("generation")
        if not g:
            continue
        rows = g.get("rows", {})
        lines.append(
            f"| {r['size']} | {g['config']['customers']:,} × {g['config']['months']} "
            f"| {_n(rows.get('payment_attempts'))} | {_n(rows.get('invoices'))} "
            f"| {_n(sum(rows.values()))} | {g.get('landing_mb', 0):,.0f} MB "
            f"| {_s(g.get('seconds'))} | {_mb(g.get('peak_rss_mb'))} |"
        )
    return [*lines, ""]


def _builds(results: list[dict]) -> list[str]:
    lines = [
        "## Full build (`arrears build` on an empty warehouse)",
        "",
        "Wall time and peak memory of the whole process tree (Dagster + the dbt subprocess), "
        "median of the runs. Phases are Dagster step durations of the median run; "
        "overhead = wall − sum of steps (process start, imports, definitions, Dagster between "
        "steps); dbt start-up = dbt step − dbt's own `elapsed_time`.",
        "",
        "| size | runs (s) | median wall | median CPU | peak memory | "
        + " | ".join(PHASE_ORDER)
        + " | overhead | dbt start-up | dbt steps | load avg |",
        "|---|---|---|---|---|" + "---|" * len(PHASE_ORDER) + "---|---|---|---|",
    ]
    for r in results:
        builds = r.get("builds", [])
        if not builds:
            continue
        runs = ", ".join(
            f"{b['seconds']:.0f}" if b.get("ok") else "failed" for b in builds if "seconds" in b
        )
        median = median_build(r) or {}  # the longest failed run when none succeeded
        phases = median.get("profile", {}).get("phases", {})
        over = median.get("overhead", {})
        steps = median.get("profile", {}).get("steps", [])
        dbt_steps = sum(1 for s in steps if s.get("phase") == "dbt")
        lines.append(
            f"| {r['size']} | {runs or '—'} | {_s(median_seconds(r))} | {_s(median_cpu(r))} "
            f"| {_mb(peak_mb(r))} | "
            + " | ".join(_s(phases.get(p)) for p in PHASE_ORDER)
            + f" | {_s(over.get('total'))} | {_s(over.get('dbt_startup'))} | {dbt_steps} "
            f"| {median.get('load_average_before', ['—'])[0]} |"
        )
    by_phase = [
        f"{r['size']}: "
        + ", ".join(
            f"{phase} {_mb(mb)}" for phase, mb in sorted(peaks.items(), key=lambda kv: -kv[1])
        )
        for r in results
        if (
            peaks := max(
                (b.get("peak_rss_mb_by_phase") or {} for b in r.get("builds", [])),
                key=lambda p: max(p.values(), default=0),
                default={},
            )
        )
    ]
    if by_phase:
        lines += [
            "",
            "Peak memory by phase (the build with the highest peak): " + "; ".join(by_phase) + ".",
        ]
    failures = [
        (r["size"], b) for r in results for b in r.get("builds", []) if not b.get("ok", True)
    ]
    for size, build in failures:
        lines += [
            "",
            f"Failed build at {size} ({build['label']}):",
            "",
            "```",
            build.get("failure") or "",
            "```",
        ]
    return [*lines, ""]


def _dbt_models(results: list[dict]) -> list[str]:
    lines = ["## Slowest dbt nodes (median full build)", ""]
    for r in results:
        median = median_build(r)
        models = (median or {}).get("profile", {}).get("dbt_models", [])
        if not models:
            continue
        elapsed = median["profile"].get("dbt_elapsed")
        lines += [
            f"**{r['size']}**: dbt `elapsed_time` {_s(elapsed)}, {len(models)} nodes; "
            f"sum of node times {_s(sum(m['seconds'] for m in models))} "
            f"(threads: {r.get('dbt_threads') or 'profile default'}).",
            "",
            "| node | materialized | seconds |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{m['unique_id'].split('.', 2)[-1]}` | {m.get('materialized') or m['unique_id'].split('.')[0]} "
            f"| {m['seconds']:.1f} |"
            for m in models[:10]
        ]
        lines.append("")
    return lines


def _incremental(results: list[dict]) -> list[str]:
    lines = ["## Incremental run: one more day lands on the built warehouse", ""]
    rows = []
    for r in results:
        inc = r.get("incremental")
        if not inc or "seconds" not in inc:
            continue
        models = inc.get("profile", {}).get("dbt_models", [])
        facts = {m["unique_id"].split(".")[-1]: m for m in models}
        pa = facts.get("fct_payment_attempts", {})
        branch = pa.get("incremental_branch")
        mode = "incremental" if branch else "full rebuild" if branch is False else "unknown"
        top = ", ".join(f"{m['unique_id'].split('.')[-1]} {m['seconds']:.1f} s" for m in models[:3])
        phases = inc.get("profile", {}).get("phases", {})
        rows.append(
            f"| {r['size']} | {_n(sum(inc.get('drop_rows', {}).values()))} "
            f"| {_s(inc['seconds'] if inc.get('ok') else None)}{'' if inc.get('ok') else ' (failed)'} "
            f"| {_mb(inc.get('peak_rss_mb'))} | "
            + " | ".join(_s(phases.get(p)) for p in PHASE_ORDER)
            + f" | {_s(inc.get('overhead', {}).get('total'))} "
            f"| {mode}, {pa.get('seconds', 0):.1f} s | {top or '—'} |"
        )
    if not rows:
        return [*lines, "Not measured yet.", ""]
    lines += [
        "The last day of the data is replayed one day later as new files "
        "(`benchmarks/increment.py`: new records get new ids, updated records a newer version), "
        "then `arrears build` runs again on the same warehouse. Phases are its Dagster step "
        "durations, overhead the wall time outside them, as for the full build.",
        "",
        "| size | rows landed | wall | peak memory | "
        + " | ".join(PHASE_ORDER)
        + " | overhead | fct_payment_attempts | slowest nodes |",
        "|---|---|---|---|" + "---|" * len(PHASE_ORDER) + "---|---|---|",
        *rows,
        "",
    ]
    return lines


def _dashboards(results: list[dict]) -> list[str]:
    lines = ["## Dashboard query latency", ""]
    measured = [r for r in results if r.get("dashboards", {}).get("queries")]
    if not measured:
        return [*lines, "Not measured yet.", ""]
    sizes = [r["size"] for r in measured]
    calls = measured[-1]["dashboards"].get("calls")
    lines += [
        f"Every query function each page calls (found by reading `dashboards/app_pages/`), "
        f"with the page's default arguments, Streamlit's cache cleared before each of {calls} "
        f"calls; a fresh read-only connection per call, as the pages do. p50 / p95 in ms.",
        "",
        "| page | query | " + " | ".join(f"{s} p50 / p95" for s in sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    keys: list[tuple[str, str]] = []
    table: dict[tuple[str, str], dict[str, dict]] = {}
    for r in measured:
        for q in r["dashboards"]["queries"]:
            if _not_a_query(q):
                continue
            key = (q["page"], q["query"])
            if key not in table:
                keys.append(key)
                table[key] = {}
            table[key][r["size"]] = q
    for key in keys:
        cells = []
        for size in sizes:
            q = table[key].get(size)
            if q is None:
                cells.append("—")
            elif "p95_ms" in q:
                flag = " ⚠" if size == TARGET_SIZE and q["p95_ms"] > QUERY_P95_MS else ""
                cells.append(f"{q['p50_ms']:,.0f} / {q['p95_ms']:,.0f}{flag}")
            else:
                cells.append(q.get("error") or q.get("skipped") or "—")
        lines.append(f"| {key[0]} | `{key[1]}` | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _not_a_query(q: dict) -> bool:
    """Helpers pages also call (settings, is_published): no result rows and under 1 ms."""
    return q.get("rows") is None and q.get("p95_ms", 1.0) < 1.0


def _lower_bound(results: list[dict]) -> list[str]:
    lines = [
        "## Lower bound: the four headline marts by the pipeline's SQL alone",
        "",
        "`benchmarks/lower_bound.py` generates one DuckDB script from the compiled dbt project "
        "(`fct_invoices`, `receivables_daily`, `recovery_cohorts`, `failure_rates_hourly` and "
        "every model, seed and source they read; sources read straight from the landing "
        "Parquet files) and runs it in a fresh DuckDB process, without Dagster, dbt, "
        "validation, checks or publishing; its tables are then compared row for row with the "
        "published marts (doubles to 9 decimals; rows whose doubles differ beyond that, from "
        "summing in another order, count as equal when they agree to 8 significant digits, and "
        "are counted).",
        "",
        "| size | lower bound | its CPU | peak memory | full build (median) | ratio | CPU ratio "
        "| same rows as the marts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lb = r.get("lower_bound")
        if not lb:
            continue
        ratio = lower_bound_ratio(r)
        match = lower_bound_matches(r)
        detail = (
            "yes ("
            + ", ".join(
                f"{m} {c['rows_mart']:,}"
                + (
                    f" ({c['equal_to_8_significant_digits']} to 8 digits)"
                    if c.get("equal_to_8_significant_digits")
                    else ""
                )
                for m, c in lb.get("comparison", {}).items()
            )
            + " rows)"
            if match
            else "no: " + json.dumps(lb.get("comparison") or lb.get("error"))[:400]
        )
        cpu, build_cpu = lb.get("cpu_seconds"), median_cpu(r)
        cpu_ratio = f"{build_cpu / cpu:.1f}×" if cpu and build_cpu and lb.get("ok") else "—"
        lines.append(
            f"| {r['size']} | {_s(lb.get('seconds')) if lb.get('ok') else 'failed'} "
            f"| {_s(cpu)} | {_mb(lb.get('peak_rss_mb'))} | {_s(median_seconds(r))} "
            f"| {f'{ratio:.1f}×' if ratio else '—'} | {cpu_ratio} | {detail} |"
        )
    return [*lines, ""]


def _closing(by_size: dict) -> list[str]:
    big = by_size.get(TARGET_SIZE)
    lines = ["## Closing note", ""]
    if not big:
        return [
            *lines,
            f"The {TARGET_SIZE} size has not been measured yet: no target can be judged.",
            "",
        ]
    met, missed = [], []
    full = median_seconds(big) or failed_after(big)
    median = median_build(big) or {}
    phases = median.get("profile", {}).get("phases", {})
    models = median.get("profile", {}).get("dbt_models", [])
    slowest = ", ".join(
        f"`{m['unique_id'].split('.')[-1]}` {m['seconds']:.0f} s" for m in models[:3]
    )
    biggest = sorted(phases.items(), key=lambda kv: kv[1], reverse=True)[:3]
    where = ", ".join(f"{p} {_s(s)}" for p, s in biggest)
    (met if full is not None and full <= FULL_BUILD_S else missed).append(
        ("full build failed after " if failed_after(big) else "full build ")
        + f"{_s(full)} (target {FULL_BUILD_S / 60:.0f} min)"
        + (f": {where}; slowest dbt nodes {slowest}" if full and full > FULL_BUILD_S else "")
    )
    inc = big.get("incremental", {})
    inc_s = inc.get("seconds") if inc.get("ok") else None
    inc_phases = inc.get("profile", {}).get("phases", {})
    (met if inc_s is not None and inc_s <= INCREMENTAL_S else missed).append(
        (
            f"incremental day failed after {_s(inc['seconds'])}"
            if inc.get("ok") is False
            else f"incremental day {_s(inc_s)}"
        )
        + f" (target {INCREMENTAL_S} s)"
        + (
            ": "
            + ", ".join(
                f"{p} {_s(s)}" for p, s in sorted(inc_phases.items(), key=lambda kv: -kv[1])[:3]
            )
            if inc_s and inc_s > INCREMENTAL_S
            else ""
        )
    )
    slow = [
        q for q in big.get("dashboards", {}).get("queries", []) if q.get("p95_ms", 0) > QUERY_P95_MS
    ]
    worst = worst_query(big)
    if worst is not None:
        (missed if slow else met).append(
            f"dashboard p95 ≤ {QUERY_P95_MS} ms: "
            + (
                f"{len(slow)} queries above: "
                + ", ".join(f"`{q['query']}` {q['p95_ms']:,.0f} ms" for q in slow)
                if slow
                else f"worst `{worst['query']}` {worst['p95_ms']:,.0f} ms"
            )
        )
    peaks = [p for p in (peak_mb(r) for r in by_size.values()) if p is not None]
    if peaks:
        (met if max(peaks) <= PEAK_MB else missed).append(f"peak memory {_mb(max(peaks))}")
    ratio = lower_bound_ratio(big)
    if ratio is not None:
        (met if ratio <= LOWER_BOUND_RATIO else missed).append(
            f"full build {ratio:.1f}× the lower bound"
        )
    lines += [f"- Met: {'; '.join(met) or 'none'}.", f"- Missed: {'; '.join(missed) or 'none'}."]
    lines += [
        "- Diagnosis and proposed fixes for the missed targets: "
        "[docs/performance.md](../docs/performance.md).",
        "",
    ]
    return lines
