"""A tiny run of the benchmark scripts on the shared sample warehouse, so they cannot rot.

The real benchmark (`make bench`) never runs in `make test`; this runs every measuring step once
on the session's sample home (no extra build): step profile, dashboard queries, the lower bound
(which must equal the published marts), the next-day drop and the report.
"""

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks import dashboard_latency, increment, measure, profile, run

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke(sample_settings, tmp_path_factory) -> tuple[dict, str]:
    """`run.py --smoke --reuse-home` on the sample home: its results and its report."""
    work = tmp_path_factory.mktemp("bench")
    results_md = REPO_ROOT / "benchmarks" / "RESULTS.md"
    before = results_md.stat().st_mtime_ns if results_md.exists() else None
    proc = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--smoke", "--calls", "1",
         "--reuse-home", str(sample_settings.home), "--work", str(work)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = results_md.stat().st_mtime_ns if results_md.exists() else None
    assert after == before, "a smoke run must never overwrite benchmarks/RESULTS.md"
    results = json.loads((work / "smoke" / "bench" / "results.json").read_text())
    return results, (work / "RESULTS.md").read_text()


def test_measure_counts_the_whole_process_tree(tmp_path):
    # The child starts a grandchild that writes 300 MB and holds it for a second: the peak is
    # the group's, so it includes the grandchild, plus two small interpreters.
    grandchild = "b = b'x' * (300 * 2**20); import time; time.sleep(1.0)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    m = measure.run([sys.executable, "-c", child], dict(os.environ), log=tmp_path / "out.log")
    assert m.returncode == 0
    assert m.seconds >= 1.0
    assert 300 <= m.peak_rss_mb < 450
    # CPU of the tree: writing 300 MB costs some, sleeping none, and two cores bound it.
    assert 0.02 < m.cpu_seconds < 2 * m.seconds
    assert (tmp_path / "out.log").exists()


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(20, 0, -1)]  # 20 calls, unsorted
    assert dashboard_latency.percentile(values, 95) == 19.0
    assert dashboard_latency.percentile(values, 50) == 10.0
    assert dashboard_latency.percentile([7.0], 95) == 7.0


def test_page_queries_are_read_from_the_pages(tmp_path):
    (tmp_path / "app_pages").mkdir()
    (tmp_path / "streamlit_app.py").write_text(
        "from dashboards import queries as q\nq.filter_options()\n"
    )
    (tmp_path / "app_pages" / "money.py").write_text(
        "from dashboards import queries as q\n"
        "import streamlit as st\n"
        "rows = q.receivables(f)\n"
        "for load in (q.cohorts, q.receivables):\n"
        "    st.dataframe(load())\n"
        "st.write(other.receivables())\n"  # not the queries module
    )
    assert dashboard_latency.page_queries(tmp_path) == {
        "every page": ["filter_options"],
        "money": ["receivables", "cohorts"],
    }


def test_steps_are_grouped_into_build_phases():
    assert profile.phase_of("raw__payment_attempts") == "ingestion"
    assert profile.phase_of("raw_quality_layer_2") == "raw checks"
    assert profile.phase_of("arrears_dbt") == "dbt"
    assert profile.phase_of("arrears_dbt_2") == "dbt"
    assert profile.phase_of("risk_dbt") == "dbt"
    assert profile.phase_of("risk__subscription_scores") == "risk score"
    assert profile.phase_of("mart_quality_checks") == "mart checks"
    assert profile.phase_of("alerting__alerts") == "alerts"
    assert profile.phase_of("published_warehouse") == "publish"
    assert profile.phase_of("connectors__stripe") == "connectors"


def test_sizes_and_runs():
    assert run.parse_size("100k") == 100_000
    assert run.parse_size("1M") == 1_000_000
    assert run.parse_size("2.5M") == 2_500_000
    assert [run.default_runs(n) for n in (100_000, 1_000_000, 10_000_000)] == [3, 2, 1]
    with pytest.raises(ValueError):
        run.parse_size("ten")


def test_lower_bound_computes_the_published_marts_exactly(smoke):
    results, report = smoke
    comparison = results["lower_bound"]["comparison"]
    assert set(comparison) == {
        "fct_invoices", "receivables_daily", "recovery_cohorts", "failure_rates_hourly",
    }  # fmt: skip
    for mart, c in comparison.items():
        assert c["rows_mart"] > 0, mart
        assert c["rows_lower_bound"] == c["rows_mart"], mart
        assert (c["only_in_lower_bound"], c["only_in_mart"]) == (0, 0), (mart, c)
        assert c["mart_columns_not_computed"] == [], (mart, c)
    assert "| smoke |" in report and "yes (fct_invoices" in report


def test_every_page_query_is_timed(smoke):
    results, report = smoke
    timed = {(q["page"], q["query"].split(" [")[0]) for q in results["dashboards"]["queries"]}
    import dashboards.queries as q

    expected = {
        (page, name)
        for page, names in dashboard_latency.page_queries().items()
        for name in names
        # Plain functions, as the benchmark times them (not constants, exception classes or the
        # cached `settings()` accessor).
        if inspect.isfunction(getattr(q, name, None))
    }
    assert timed == expected
    for entry in results["dashboards"]["queries"]:
        assert "p95_ms" in entry or "error" in entry or "skipped" in entry, entry
        if "p95_ms" in entry:
            assert 0 <= entry["p50_ms"] <= entry["p95_ms"] <= entry["max_ms"]
    assert "## Dashboard query latency" in report


def test_the_sample_build_profile_has_one_step_per_dbt_definition(smoke):
    results, _ = smoke
    build_profile = results["builds"][0]["profile"]
    assert build_profile["run_status"] == "SUCCESS"
    phases = build_profile["phases"]
    assert {"ingestion", "dbt", "publish"} <= set(phases)
    # The models, then the risk score's models after its asset (orchestration/defs/risk): each
    # one step, never split by dagster-dbt into subsets that each start dbt.
    dbt_steps = sorted(s["key"] for s in build_profile["steps"] if s["phase"] == "dbt")
    assert dbt_steps == ["arrears_dbt", "risk_dbt"]
    assert build_profile["steps_total"] == pytest.approx(sum(phases.values()))


def test_next_day_drop_replays_the_last_day(sample_settings, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(sample_settings.landing_dir, landing)
    rows = increment.write_next_day(landing)
    con = duckdb.connect()

    def scan(entity: str, drop: bool) -> str:
        name = f"{increment.DROP_NAME}.parquet" if drop else "sample-*.parquet"
        return f"read_parquet('{landing / entity / name}')"

    last_day = con.execute(
        f"select max(updated_at)::date from {scan('payment_attempts', False)}"
    ).fetchone()[0]
    for entity, count in rows.items():
        # As many rows as versions produced on the last day, all moved to the next day.
        expected, days = con.execute(
            f"""select (select count(*) from {scan(entity, False)} where updated_at::date = ?),
                       (select list(distinct updated_at::date) from {scan(entity, True)})""",
            [last_day],
        ).fetchone()
        assert count == expected, entity
        assert [d.toordinal() for d in days] == [last_day.toordinal() + 1], entity
    assert rows["payment_attempts"] > 0 and rows["invoices"] > 0
    # Every attempt is new; each one points at an invoice that exists before or in the drop.
    orphans, reused = con.execute(
        f"""select
            (select count(*) from {scan("payment_attempts", True)} a
             where a.invoice_id is not null and a.invoice_id not in (
                select invoice_id from {scan("invoices", False)}
                union all select invoice_id from {scan("invoices", True)})),
            (select count(*) from {scan("payment_attempts", True)} a
             where a.attempt_id in (select attempt_id from {scan("payment_attempts", False)}))"""
    ).fetchone()
    assert (orphans, reused) == (0, 0)
    # Invoices first issued on the last day are new invoices; the others are newer versions.
    new_invoices, kept = con.execute(
        f"""select count(distinct invoice_id) filter (where invoice_id like '%{increment.ID_SUFFIX}'),
                   count(*) filter (where invoice_id not like '%{increment.ID_SUFFIX}'
                       and invoice_id not in (select invoice_id from {scan("invoices", False)}))
            from {scan("invoices", True)}"""
    ).fetchone()
    first_issued = con.execute(
        f"""select count(*) from (select invoice_id from {scan("invoices", False)}
            group by invoice_id having min(updated_at)::date = ?)""",
        [last_day],
    ).fetchone()[0]
    assert new_invoices == first_issued and kept == 0
    increment.remove_drop(landing)
    assert increment.drop_files(landing) == []


def test_lower_bound_comparison_tolerates_last_bit_doubles_only(tmp_path):
    """0.12345678950001 and 0.12345678949999 round to different 9th decimals yet are the same
    sum in another order; 0.125 against 0.126 is a real difference and must still count."""
    from benchmarks.lower_bound import compare

    lb, pub = tmp_path / "lb.duckdb", tmp_path / "pub.duckdb"
    with duckdb.connect(str(lb)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_invoices as select * from (values "
            "('i1', 0.12345678950001::double), ('i2', 0.125::double), ('i3', 1.0::double)) t(id, x)"
        )
    with duckdb.connect(str(pub)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_invoices as select * from (values "
            "('i1', 0.12345678949999::double), ('i2', 0.126::double), ('i3', 1.0::double)) "
            "t(id, x)"
        )
    result = compare(lb, pub)["fct_invoices"]
    assert (result["only_in_lower_bound"], result["only_in_mart"]) == (1, 1)
    assert result["equal_to_8_significant_digits"] == 1
