"""The early-warning delinquency score, out of time, on several seeds of generated data.

Per seed: generate a year of billing data (`arrears generate`), build it (`arrears build`, which
trains and scores: orchestration/risk.py), then read the published evaluation and retrain on the
published features for the calibration by decile (the same data and seed give the same model).
Prints, per seed: ROC AUC, PR AUC, Brier score, expected calibration error and top-decile revenue
capture of the model, the rule "any failed payment in the last 90 days" and a logistic
regression; the calibration by decile; the five most important features. Writes
benchmarks/results/risk_score.md (rendered into RESULTS.md by benchmarks/report.py).

    .venv/bin/python benchmarks/risk_score.py                       # 3000 customers, seeds 1,2,3
    .venv/bin/python benchmarks/risk_score.py --work /tmp/risk --reuse   # homes already built
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration import risk  # noqa: E402
from orchestration.publish import open_published  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "risk_score.md"
ARREARS = Path(sys.executable).with_name("arrears")


def build_seed(home: Path, customers: int, months: int, seed: int, reuse: bool) -> None:
    published = home / "published" / "arrears.duckdb"
    if reuse and published.exists():
        return
    subprocess.run(
        [str(ARREARS), "generate", "--customers", str(customers), "--months", str(months),
         "--seed", str(seed), "--out", str(home / "landing")],
        check=True,
    )  # fmt: skip
    subprocess.run([str(ARREARS), "build"], check=True, env=_env(home))


def _env(home: Path) -> dict[str, str]:
    import os

    return {**os.environ, "ARREARS_HOME": str(home)}


def measure(home: Path) -> dict:
    with open_published(home / "published" / "arrears.duckdb") as con:
        evaluation = con.execute(
            "select * from marts.subscription_risk_evaluation order by model"
        ).df()
        model = con.execute("select * from marts.subscription_risk_model").df().iloc[0].to_dict()
        frame = risk.load_features(con)
    report, *_ = risk.train_and_score(frame)
    return {"evaluation": evaluation, "model": model, "calibration": report.calibration}


def render(customers: int, months: int, figures: dict[int, dict]) -> str:
    lines = [
        f"# Delinquency score: {customers} customers, {months} months, out of time",
        "",
        "Trained on the month ends whose 60-day outcome was known by the evaluated month end, "
        "evaluated on the last month end with an observed outcome (`benchmarks/risk_score.py`; "
        "definitions in docs/metrics.md). Target: AUC at least 0.05 above the rule, no worse "
        "than the logistic regression, ECE at most 0.02.",
        "",
        "| seed | model | ROC AUC | PR AUC | Brier | ECE | top-decile revenue capture | "
        "rows (delinquent) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seed, f in figures.items():
        for row in f["evaluation"].itertuples():
            lines.append(
                f"| {seed} | {row.model} | {row.roc_auc:.3f} | {row.pr_auc:.3f} | "
                f"{row.brier:.4f} | {row.ece:.4f} | {row.top_decile_revenue_capture:.3f} | "
                f"{row.evaluation_rows} ({row.evaluation_positives}) |"
            )
    lines += ["", "Training rows (delinquent), and the five most important features "
              "(permutation importance on the evaluation month):", ""]  # fmt: skip
    for seed, f in figures.items():
        m = f["model"]
        lines.append(
            f"- seed {seed}: {m['training_rows']} ({m['training_positives']}) rows from "
            f"{str(m['training_from'])[:10]} to {str(m['training_through'])[:10]}; "
            f"{m['top_features']}"
        )
    lines += ["", "Calibration by decile of the model's probability (mean probability / "
              "observed rate):", "", "| seed | " + " | ".join(f"d{d}" for d in range(1, 11)) + " |",
              "|---|" + "---|" * 10]  # fmt: skip
    for seed, f in figures.items():
        cells = [
            f"{c['mean_probability']:.3f} / {c['observed_rate']:.3f}" for c in f["calibration"]
        ]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / "work" / "risk")
    parser.add_argument("--reuse", action="store_true", help="skip seeds already built")
    args = parser.parse_args()
    figures = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        home = args.work / f"big{seed}"
        build_seed(home, args.customers, args.months, seed, args.reuse)
        figures[seed] = measure(home)
    text = render(args.customers, args.months, figures)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
