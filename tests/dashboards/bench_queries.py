"""Dashboard query latency on a warehouse scaled to ~10M payment attempts (not a pytest test).

    .venv/bin/python -m tests.dashboards.bench_queries <published.duckdb of a built sample>
        [--attempts 10000000] [--scaled <copy from an earlier run>]

Builds a scaled copy of a published warehouse in a temp folder — every mart the dashboards read,
its rows replicated with distinct ids and segment values until `fct_payment_attempts` holds
about `--attempts` rows (the dimension and segment grains grow the way a bigger book would) —
then times every query of `dashboards/queries.py` with Streamlit's cache bypassed, as a first
visit sees them. Prints a Markdown table; exits 1 if any query's median is over the budget.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import duckdb

BUDGET_MS = 300
# How each mart grows with the business: facts and dimensions with the customers, segment-grain
# marts with the number of segments (a handful of times), cohort/month marts not at all.
CUSTOMER_GRAIN = {
    "fct_payment_attempts": ("attempt_id", "invoice_id", "customer_id"),
    "fct_invoices": ("invoice_id", "customer_id", "subscription_id"),
    "dim_customers": ("customer_id",),
    "dim_subscriptions": ("subscription_id", "customer_id", "first_invoice_id"),
    "payment_plan_outcomes": ("payment_plan_id", "customer_id", "invoice_id"),
}
SEGMENT_GRAIN = {"receivables_daily": ("country", 4), "failure_rates_hourly": ("segment_value", 8),
                 "failure_rates_daily": ("segment_value", 8)}  # fmt: skip


def build_scaled(source: Path, target: Path, attempts: int) -> int:
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as src (read_only)")
        (base,) = con.execute("select count(*) from src.marts.fct_payment_attempts").fetchone()
        factor = max(1, round(attempts / base))
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'src'"
        ).fetchall():
            con.execute(f"create schema if not exists {schema}")
            if schema == "marts" and table in CUSTOMER_GRAIN:
                columns = [c for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_catalog = "
                    "'src' and table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()]  # fmt: skip
                select = ", ".join(
                    f"{c} || '_' || r.i as {c}" if c in CUSTOMER_GRAIN[table] else c
                    for c in columns
                )
                con.execute(
                    f"create table {schema}.{table} as select {select} "
                    f"from src.{schema}.{table}, range({factor}) as r(i)"
                )
            elif schema == "marts" and table in SEGMENT_GRAIN:
                column, copies = SEGMENT_GRAIN[table]
                con.execute(
                    f"create table {schema}.{table} as select * replace "
                    f"(case when r.i = 0 then {column} else {column} || r.i end as {column}) "
                    f"from src.{schema}.{table}, range({copies}) as r(i)"
                )
            else:
                con.execute(f"create table {schema}.{table} as select * from src.{schema}.{table}")
        con.execute("detach src")
        con.execute("checkpoint")
        (rows,) = con.execute("select count(*) from marts.fct_payment_attempts").fetchone()
    return rows


def timed_queries(q, f, customer_id: str) -> dict[str, callable]:
    from dashboards.filters import Filters

    plan = Filters(start=f.start, end=f.end, segments={"plan": (q.filter_options()["plan"][0],)})
    return {
        "data_as_of": q.data_as_of,
        "filter_options": q.filter_options,
        "date_bounds": q.date_bounds,
        "receivables_month_ends": lambda: q.receivables_month_ends(f),
        "receivables_month_ends (plan filter)": lambda: q.receivables_month_ends(plan),
        "receivables_daily": lambda: q.receivables_daily(f),
        "receivables_by_segment": lambda: q.receivables_by_segment(f, "country"),
        "collections_monthly": lambda: q.collections_monthly(f),
        "recovery_cohorts": lambda: q.recovery_cohorts(f),
        "recovery_curves": lambda: q.recovery_curves(f),
        "recovery_by_channel": lambda: q.recovery_by_channel(f),
        "retry_performance": q.retry_performance,
        "decline_classes_daily": lambda: q.decline_classes_daily(f),
        "dunning_funnel": lambda: q.dunning_funnel(f),
        "payment_plan_outcomes": lambda: q.payment_plan_outcomes(f),
        "prevention_effects": q.prevention_effects,
        "failure_segments": q.failure_segments,
        "failure_rates (day, 2 segments)": lambda: q.failure_rates(
            f, "day", [("overall", "all"), ("processor", q.filter_options()["processor"][0])]
        ),
        "failure_rates (hour, overall)": lambda: q.failure_rates(f, "hour", [("overall", "all")]),
        "incidents": lambda: q.incidents(f),
        "dispute_network_ratios": lambda: q.dispute_network_ratios(f),
        "disputes_daily": lambda: q.disputes_daily(f),
        "card_testing_bursts": lambda: q.card_testing_bursts(f),
        "most_past_due_customers": q.most_past_due_customers,
        "customer": lambda: q.customer(customer_id),
        "customer_subscriptions": lambda: q.customer_subscriptions(customer_id),
        "customer_invoices": lambda: q.customer_invoices(customer_id),
        "customer_attempts": lambda: q.customer_attempts(customer_id),
        "customer_plans": lambda: q.customer_plans(customer_id),
        "latest_check_results": q.latest_check_results,
        "check_history": q.check_history,
        "source_loads": q.source_loads,
        "schema_columns": q.schema_columns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scaled", type=Path, help="Reuse a scaled copy built by an earlier run.")
    args = parser.parse_args()
    if args.scaled:  # a copy an earlier run built
        home = args.scaled.resolve().parent.parent
    else:
        home = Path(tempfile.mkdtemp(prefix="arrears_bench_"))
        target = home / "published" / "arrears-bench.duckdb"
        target.parent.mkdir(parents=True)
        started = time.perf_counter()
        rows = build_scaled(args.published.resolve(), target, args.attempts)
        (home / "published" / "arrears.duckdb").symlink_to(target.name)
        print(f"scaled: {rows:,} attempts in {time.perf_counter() - started:.0f} s ({target})")

    with mock.patch.dict("os.environ", {"ARREARS_HOME": str(home)}):
        from dashboards import queries as q
        from dashboards.filters import Filters

        # Every call reaches DuckDB: no Streamlit cache between repeats.
        with mock.patch.object(q, "_fetch", side_effect=lambda *a: _run(q, *a)):
            q._tables.clear()
            last = q.date_bounds()[1]
            f = Filters(start=last - timedelta(days=365), end=last)
            (customer_id,) = q.fetch(
                "select customer_id from marts.fct_invoices group by 1 order by count(*) desc limit 1"
            ).iloc[0]
            results = []
            for name, call in timed_queries(q, f, customer_id).items():
                samples = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    call()
                    samples.append((time.perf_counter() - t0) * 1000)
                results.append((name, statistics.median(samples), max(samples)))
    print("\n| query | median ms | max ms |\n|---|---|---|")
    for name, median, worst in results:
        flag = " ⚠" if median > BUDGET_MS else ""
        print(f"| {name} | {median:.0f}{flag} | {worst:.0f} |")
    slow = [name for name, median, _ in results if median > BUDGET_MS]
    print(f"\n{len(results) - len(slow)} of {len(results)} queries under {BUDGET_MS} ms (median).")
    return 1 if slow else 0


def _run(q, sql, params, snap):
    with q.connect(snap) as con:
        return con.execute(sql, list(params)).df()


if __name__ == "__main__":
    sys.exit(main())
