"""Every check run is kept in quality.check_results, and GX Data Docs show the latest runs."""

import datetime as dt
import json

import duckdb

from data_quality.core import QualityConfig
from data_quality.raw import raw_checks
from data_quality.results import write_results
from data_quality.runner import STORE_DIR, _prune_old_results, check_and_record, run_checks
from tests.quality.fixtures import NOW, ROWS, build_clean_raw, insert

CUSTOMER_CHECKS = [c for c in raw_checks() if c.asset == ("raw", "customers")]
INVOICE_RANGES = [c for c in raw_checks() if c.suite_name == "raw.invoices.ranges"]


def test_each_result_is_one_row_with_observed_values_as_json():
    con = duckdb.connect()
    build_clean_raw(con)
    bad = {**ROWS["invoices"][2], "due_at": "2026-02-01", "updated_at": "2026-02-02 01:00"}
    insert(con, "invoices", [bad], "invoices/bad.csv")
    config = QualityConfig(reference_time=NOW)

    check_and_record(con, INVOICE_RANGES + CUSTOMER_CHECKS[:1], config, run_id="run-1")
    results = run_checks(con, INVOICE_RANGES, config)
    write_results(con, results, "run-2", checked_at=dt.datetime(2026, 4, 1, 8, 0))

    rows = con.execute(
        "select check_name, asset, severity, passed, observed_value, expected, message, run_id, "
        "checked_at from quality.check_results order by run_id, asset"
    ).fetchall()
    assert [r[:4] + (r[7],) for r in rows] == [
        ("schema", "raw.customers", "ERROR", True, "run-1"),
        ("ranges", "raw.invoices", "ERROR", False, "run-1"),
        ("ranges", "raw.invoices", "ERROR", False, "run-2"),
    ]
    observed = json.loads(rows[2][4])
    assert observed["due_before_issue"] == 1 and observed["negative_amount_due"] == 0
    assert observed["examples"] == {"due_before_issue": ["i2"]}
    assert rows[2][5].startswith("negative_amount_due = 0; negative_amount_paid = 0; ")
    assert rows[2][6] == (
        "raw.invoices.ranges failed: due_before_issue = 1 (expected due_before_issue = 0): i2."
    )
    assert rows[2][8] == dt.datetime(2026, 4, 1, 8, 0)


def test_data_docs_list_every_suite_and_keep_the_latest_runs(tmp_path):
    con = duckdb.connect()
    build_clean_raw(con)
    docs = tmp_path / "data_docs"
    config = QualityConfig(reference_time=NOW)
    for run in ("run-a", "run-b", "run-c"):
        run_checks(con, CUSTOMER_CHECKS, config, docs_dir=docs, run_name=run)

    index = (docs / "index.html").read_text()
    for check in CUSTOMER_CHECKS:
        assert check.suite_name in index
    pages = sorted(p.relative_to(docs).parts[4] for p in docs.glob("validations/**/*.html"))
    assert pages.count("run-a") == pages.count("run-c") == len(CUSTOMER_CHECKS)

    _prune_old_results(docs, keep=1)
    runs = {p.relative_to(docs).parts[4] for p in docs.glob("validations/**/*.html")}
    stored = {
        p.relative_to(docs / STORE_DIR).parts[4]
        for p in docs.glob(f"{STORE_DIR}/validations/**/*.json")
    }
    assert runs == stored == {"run-c"}
