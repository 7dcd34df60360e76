"""The fixed costs of a build: what every `arrears build` pays before and around its real work.

    .venv/bin/python benchmarks/fixed_costs.py --home benchmarks/work/20k [--repeat 3]

`--home` is an ARREARS_HOME that has been built at least once with the current code (its
Dagster instance holds the run whose step overhead is reported, and its record makes the
quiet-day build a no-op). Each import is timed in a fresh interpreter (the OS file cache warm, as
on any second build); each figure is the median of `--repeat` runs, in seconds. Nothing here
writes the warehouse. `--write` saves the table to benchmarks/results/fixed_costs.md, which
`benchmarks/report.py` includes in RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable (as run.py does)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parent.parent
MARKDOWN = REPO / "benchmarks" / "results" / "fixed_costs.md"
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))


def _timed(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _python(code: str, env: dict[str, str], repeat: int) -> float:
    # A script file, not `python -c`: there pyspark (imported by GX) takes the nameless __main__
    # for its doctest run and exits mid-import, which would time half an import.
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "timed.py"
        script.write_text(code)
        return _timed([PYTHON, str(script)], env, repeat)


def step_overhead(home: Path) -> dict[str, float]:
    """The newest successful build_warehouse run: its wall time, the sum of its steps, and the
    difference (Dagster's own work between steps: events, storage, resource set-up)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs(
            filters=dg.RunsFilter(
                job_name="build_warehouse", statuses=[dg.DagsterRunStatus.SUCCESS]
            ),
            limit=1,
        )
        if not runs:
            return {}
        run = runs[0]
        record = instance.get_run_record_by_id(run.run_id)
        stats = instance.get_run_step_stats(run.run_id)
    steps = sum((s.end_time or 0) - (s.start_time or 0) for s in stats)
    wall = record.end_time - record.start_time
    dbt = next(((s.end_time - s.start_time) for s in stats if s.step_key == "arrears_dbt"), None)
    return {
        "run_wall": wall,
        "steps_sum": steps,
        "between_steps": wall - steps,
        "steps": len(stats),
        "dbt_step": dbt,
    }


def measure(home: Path, repeat: int) -> dict[str, float]:
    from orchestration.config import load_settings

    settings = load_settings({"ARREARS_HOME": str(home)})
    env = {**os.environ, **settings.exports()}
    dbt_args = ["--project-dir", "dbt_project", "--profiles-dir", "dbt_project"]
    target = ["--target-path", str(home / "fixed_costs_dbt_target")]  # never the pipeline's
    # A first parse into that target, untimed: the figures below are the ones of a build whose
    # dbt target already holds a partial-parse file, as the pipeline's does.
    subprocess.run([DBT, "parse", *dbt_args, *target, "--quiet"], env=env, cwd=REPO, check=True)
    figures = {
        "interpreter start (an empty script)": _python("pass", env, repeat),
        "import orchestration.cli (the quiet path)": _python(
            "import orchestration.cli", env, repeat
        ),
        "quiet-day check (inputs + record), in a fresh process": _python(
            "from orchestration import build_state; from orchestration.config import load_settings;"
            "s = load_settings(); build_state.assess(s, build_state.current_inputs(s))",
            env,
            repeat,
        ),
        "`arrears build` on a quiet day, end to end": _timed(
            [PYTHON, "-m", "orchestration.cli", "build"], env, repeat
        ),
        "import dagster": _python("import dagster", env, repeat),
        "import dagster_dbt": _python("import dagster_dbt", env, repeat),
        "import great_expectations": _python("import great_expectations", env, repeat),
        "load the definitions (imports included)": _python(
            "from orchestration.config import load_settings;"
            "from orchestration.pipeline import load_definitions;"
            "load_definitions(load_settings()).resolve_job_def('build_warehouse')",
            env,
            repeat,
        ),
        "dbt start-up: `dbt ls` selecting nothing, partial parse": _timed(
            [DBT, "ls", *dbt_args, *target, "--select", "tag:none_such", "--quiet"], env, repeat
        ),
        "dbt start-up, in-process dbtRunner (import included)": _python(
            "from dbt.cli.main import dbtRunner;"
            f"dbtRunner().invoke(['ls', *{dbt_args!r}, *{target!r}, '--select', 'tag:none_such',"
            " '--quiet'])",
            env,
            repeat,
        ),
        "dbt parse with nothing changed (partial parse)": _timed(
            [DBT, "parse", *dbt_args, *target, "--quiet"], env, repeat
        ),
    }
    figures.update({f"last run: {k}": v for k, v in step_overhead(home).items()})
    return figures


def markdown(figures: dict, home: Path, load: tuple[float, float], about: str = "") -> str:
    from benchmarks.report import machine

    info = machine()
    lines = [
        f"Measured by `benchmarks/fixed_costs.py --home {home.name}` at commit "
        f"`{info['commit'] or '?'}` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
        f"load average {load[0]:.1f} before and {load[1]:.1f} after (2 cores: above 2, other "
        "processes competed). Seconds, median of the runs." + (f" {about}" if about else ""),
        "",
        "| fixed cost | seconds |",
        "|---|---|",
    ]
    for name, value in figures.items():
        shown = "—" if value is None else f"{value:.2f}" if isinstance(value, float) else value
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"write {MARKDOWN.name}")
    parser.add_argument("--about", default="", help="what the home holds, for the table's text")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    figures = measure(args.home.resolve(), args.repeat)
    after = os.getloadavg()[0]
    text = markdown(figures, args.home.resolve(), (before, after), args.about)
    print(text)
    if args.write:
        MARKDOWN.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
