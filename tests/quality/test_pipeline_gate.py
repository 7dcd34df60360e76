"""End to end through `arrears build`: a blocking check failure on raw data stops the marts
from being rebuilt and the published warehouse from being replaced, and stays blocking on
every re-run until a corrected version of the data arrives."""

import datetime as dt
import hashlib
import os
import shutil

import duckdb
import pandas as pd
import pytest

from data_quality.core import QualityConfig
from data_quality.raw import raw_checks
from data_quality.runner import run_checks
from orchestration.config import load_settings
from orchestration.contract import ENTITY_BY_NAME
from orchestration.pipeline import build
from tests.quality.conftest import SAMPLE_NOW

INVOICE_CHECKS = [c for c in raw_checks() if c.asset == ("raw", "invoices")]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def sample_copy(sample_settings, tmp_path):
    """A private copy of the sample's home (landing, warehouse, published copy, Dagster runs)."""
    home = tmp_path / "home"
    shutil.copytree(sample_settings.home, home, symlinks=True)
    environ = dict(os.environ)
    yield load_settings({"ARREARS_HOME": str(home)})
    os.environ.clear()
    os.environ.update(environ)  # build() exports its paths to the process environment


def corrupt_version(con, invoice_id: str) -> dict:
    """The invoice's current record, re-issued one second later with a due date before its issue."""
    columns = ENTITY_BY_NAME["invoices"].column_names
    row = con.execute(
        f"select {', '.join(columns)} from raw.invoices where invoice_id = ? "
        "order by updated_at desc, _loaded_at desc limit 1",
        [invoice_id],
    ).fetchone()
    record = dict(zip(columns, row, strict=True))
    record["due_at"] = record["issued_at"] - dt.timedelta(days=3)
    record["updated_at"] += dt.timedelta(seconds=1)
    return record


def raw_invoice_rows_loaded(settings) -> int:
    """Rows of the sample's invoice files (the load before the correction)."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "select sum(rows_read) from raw._load_manifest where entity = 'invoices' "
            "and file_path <> 'invoices/zz-restated.csv'"
        ).fetchone()[0]


def drop(settings, name: str, record: dict) -> None:
    folder = settings.landing_dir / "invoices"
    frame = pd.DataFrame([record], columns=ENTITY_BY_NAME["invoices"].column_names)
    frame.to_csv(folder / name, index=False)


def test_a_bad_invoice_blocks_the_build_and_keeps_the_published_warehouse(sample_copy):
    settings = sample_copy
    published = settings.published_path.resolve()
    published_hash = sha256(published)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        invoice = con.execute(
            "select invoice_id from marts.fct_invoices where status = 'paid' "
            "order by invoice_id limit 1"
        ).fetchone()[0]
        bad = corrupt_version(con, invoice)
        due_before = con.execute(
            "select due_at from marts.fct_invoices where invoice_id = ?", [invoice]
        ).fetchone()[0]
    drop(settings, "zz-restated.csv", bad)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        # The sample was loaded minutes ago; make it yesterday's load, so the one-row
        # correction is a load of its own whatever the timing of this test.
        con.execute("update raw._load_manifest set loaded_at = loaded_at - interval 1 day")

    assert build(settings) is False

    # The new version was loaded, the check refused it, dbt did not run, nothing was published.
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select max(due_at) from raw.invoices where invoice_id = ? and updated_at = ?",
            [invoice, bad["updated_at"]],
        ).fetchone() == (bad["due_at"],)
        assert con.execute(
            "select due_at from marts.fct_invoices where invoice_id = ?", [invoice]
        ).fetchone() == (due_before,)
        latest_run = con.execute(
            "select run_id from quality.check_results order by checked_at desc limit 1"
        ).fetchone()[0]
        recorded = con.execute(
            # (freshness is judged against the wall clock in a build: left out here)
            "select asset || '.' || check_name, severity, message from quality.check_results "
            "where run_id = ? and not passed and check_name <> 'freshness' order by all",
            [latest_run],
        ).fetchall()
    ratio = round(1 / raw_invoice_rows_loaded(settings), 4)
    assert recorded == [
        ("raw.invoices.ranges", "ERROR", "raw.invoices.ranges failed: due_before_issue = 1 "
         f"(expected due_before_issue = 0): {invoice}."),
        # Also recorded, but a warning: it did not block anything on its own.
        ("raw.invoices.volume", "WARN", f"raw.invoices.volume failed: ratio = {ratio} "
         "(expected 0.1 < ratio < 10)."),
    ]  # fmt: skip
    assert settings.published_path.resolve() == published
    assert sha256(published) == published_hash

    # Without a fix, the next evaluation fails the same way (the current state is judged).
    with duckdb.connect(str(settings.warehouse_path)) as con:
        config = QualityConfig(reference_time=SAMPLE_NOW)
        again = {r.check.name: r for r in run_checks(con, INVOICE_CHECKS, config)}
        assert not again["ranges"].passed
        # A corrected version of the same invoice, newer still, releases it.
        fixed = {**bad, "due_at": bad["issued_at"], "updated_at": bad["updated_at"]
                 + dt.timedelta(seconds=1)}  # fmt: skip
        columns = ENTITY_BY_NAME["invoices"].column_names
        con.execute(
            f"insert into raw.invoices select {', '.join('?' for _ in columns)}, 'fix.csv', 1, "
            "now()::timestamp",
            [fixed[c] for c in columns],
        )
        fixed_run = run_checks(con, INVOICE_CHECKS, config)
        # Only the volume warning remains: the correction is a one-row load after a backfill.
        assert {(r.check.name, r.check.severity) for r in fixed_run if not r.passed} == {
            ("volume", "WARN")
        }
