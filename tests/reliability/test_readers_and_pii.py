"""Readers hammering the published warehouse during builds see no error and only whole
snapshots; no raw email or name from the input reaches any published table."""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from orchestration import ingest
from orchestration.config import load_settings
from orchestration.contract import ENTITIES
from orchestration.publish import open_published, publish


def _totals(published) -> tuple[int, float]:
    with open_published(published) as con:
        count, total = con.execute(
            "select count(*), sum(amount_due)::double from marts.fct_invoices"
        ).fetchone()
    return count, round(total, 2)


def _add_invoices(settings, batch: int) -> None:
    """A new drop of 3 invoices for existing subscriptions, so each build's totals differ."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        subs = con.execute(
            "select subscription_id, customer_id, currency from raw.subscriptions "
            "order by subscription_id limit 3"
        ).fetchall()
    lines = [
        "invoice_id,subscription_id,customer_id,currency,amount_due,amount_paid,issued_at,due_at,"
        "paid_at,status,written_off_at,billing_reason,updated_at"
    ]
    for i, (sub, cust, cur) in enumerate(subs):
        lines.append(
            f"inv_extra_{batch}_{i},{sub},{cust},{cur},{100 * batch + i}.00,0,2026-11-20,"
            f"2026-11-30,,open,,manual,2026-11-20"
        )
    path = settings.landing_dir / "invoices" / f"extra-{batch}.csv"
    path.write_text("\n".join(lines) + "\n")


def test_readers_during_three_builds_see_only_whole_snapshots(sample_settings, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(sample_settings.home, home, symlinks=True)
    settings = load_settings({"ARREARS_HOME": str(home)})
    snapshots = [_totals(settings.published_path)]
    seen, errors, stop = [], [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(_totals(settings.published_path))
            except Exception as exc:  # any error at all is a failure of the guarantee
                errors.append(repr(exc))
            time.sleep(0.02)  # a busy dashboard, not a CPU burner that starves the build

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARREARS_", "DAGSTER_"))}
    env["ARREARS_HOME"] = str(home)
    try:
        for batch in (1, 2, 3):
            _add_invoices(settings, batch)
            done = subprocess.run(
                [sys.executable, "-m", "orchestration.cli", "build"],
                env=env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            snapshots.append(_totals(settings.published_path))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert len(seen) > 50  # the readers really ran throughout
    assert len(set(snapshots)) == 4  # every build changed the totals
    assert set(seen) <= set(snapshots)  # never a mix of two builds


# A customer row that breaks the contract (no created_at): ingestion quarantines it whole, email
# and name included. Its values are unlike any generated one, so a hit can only be this row.
QUARANTINED_EMAIL = "quinn.quarantine@leak.example"
QUARANTINED_NAME = "Quinn Quarantine-Leakwell"


def _published_with_a_quarantined_customer(sample_settings, tmp_path) -> Path:
    """The sample warehouse, plus one quarantined customer row, published with the real publish."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_settings.warehouse_path, warehouse)
    landing = tmp_path / "landing" / "customers"
    landing.mkdir(parents=True)
    (landing / "bad.csv").write_text(
        "customer_id,email,name,country,verification_status,created_at,updated_at\n"
        f"cus_quarantined,{QUARANTINED_EMAIL},{QUARANTINED_NAME},DE,verified,,2026-01-02\n"
    )
    con = ingest.connect(warehouse)
    try:
        report = ingest.load_entity(con, "customers", landing.parent, tmp_path / "rejected")
    finally:
        con.close()
    assert report.rows_quarantined == 1, report
    published = tmp_path / "published" / "arrears.duckdb"
    publish(warehouse, published)
    return published


def _leaks(published: Path, exact: list[str], contained: list[str]) -> list[str]:
    """Every column of every published table, cast to text (a struct, list or JSON column can
    carry a raw record): values equal to one of `exact`, containing one of `contained`, or
    holding an unmasked email address."""
    leaks = []
    with open_published(published) as con:
        con.execute("create temp table pii as select unnest(?::varchar[]) as value", [exact])
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema not in ('temp') "
            "order by all"
        ).fetchall()
        tables = {(schema, table) for schema, table, _ in columns}
        assert {("ops", "quarantine_summary"), ("marts", "dim_customers")} <= tables
        assert len(columns) > 300  # every column, not only the VARCHAR ones
        for schema, table, column in columns:
            text = f'"{column}"::varchar'
            contains = " or ".join(f"contains({text}, ?)" for _ in contained) or "false"
            (hits,) = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f"where {text} in (select value from pii) or {contains} "
                f"or regexp_matches({text}, '[^@*\\s]@[^@\\s]+\\.') ",
                contained,
            ).fetchone()
            if hits:
                leaks.append(f"{schema}.{table}.{column}: {hits}")
    return leaks


def test_no_raw_email_or_name_reaches_any_published_table(sample_settings, tmp_path):
    # Every value of every column the contract marks as PII (emails, names, IP addresses, free-text
    # comments), longer than 5 characters so that a short name cannot collide with a code.
    pii_columns = [(e.name, c.name) for e in ENTITIES for c in e.columns if c.pii]
    assert {("customers", "email"), ("customers", "name")} <= set(pii_columns)
    with duckdb.connect(str(sample_settings.warehouse_path), read_only=True) as con:
        pii = con.execute(
            " union ".join(
                f"select distinct {column}::varchar from raw.{entity} where length({column}) > 5"
                for entity, column in pii_columns
            )
        ).fetchall()
        # An email's domain names the customer's company (issue 19): it is PII as well.
        domains = con.execute(
            "select distinct split_part(email, '@', -1) from raw.customers where email like '%@%'"
        ).fetchall()
    pii = [p for (p,) in pii]
    domains = [d for (d,) in domains]
    assert len(pii) > 100 and len(domains) > 20
    # The pipeline's own publish of the sample (no quarantined rows)...
    leaks = _leaks(sample_settings.published_path, pii, domains)
    assert leaks == [], f"raw PII in published columns: {leaks}"
    # ...and the same warehouse with a quarantined customer, which the published
    # ops.quarantine_summary counts (entity, file, reason) but must not quote.
    published = _published_with_a_quarantined_customer(sample_settings, tmp_path)
    with open_published(published) as con:
        summary = con.execute(
            "select entity, source_file, reason_code, rows_quarantined from ops.quarantine_summary"
        ).fetchall()
    assert summary == [("customers", "customers/bad.csv", "invalid", 1)]
    contained = [QUARANTINED_EMAIL, QUARANTINED_NAME]
    leaks = _leaks(published, pii + contained, contained)
    assert leaks == [], f"raw PII in published columns: {leaks}"
