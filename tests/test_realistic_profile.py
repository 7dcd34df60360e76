"""The `realistic` generator profile through the real pipeline (Dagster, dbt, checks, publish),
with a handful of corrupted landing files dropped beside it.

Every figure asserted is derived by hand from orchestration/generator/realistic.py (one unit:
60 customers) and from the crafted files below: the build succeeds and publishes, the $0
invoices are never receivables, the one-second skew is normalised, the two events beyond the
tolerance are quarantined and nothing else from the sample is, and a rebuild with nothing new
changes no mart row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

from orchestration.config import load_settings
from orchestration.generator import GeneratorConfig, generate
from orchestration.generator.realistic import PER_UNIT, SHAPES_PER_UNIT
from orchestration.pipeline import build

CONFIG = GeneratorConfig(customers=60, months=3, seed=5, profile="realistic", progress=False)
U = "0000"  # the one unit's id infix

INVOICE_HEADER = (
    "invoice_id;subscription_id;customer_id;currency;amount_due;amount_paid;issued_at;due_at;"
    "paid_at;status;billing_reason;updated_at"
)
# Odd files a real drop holds besides the export: (entity, name, bytes) and what they leave.
CRAFTED = [
    # Latin-1, semicolons, a second one-off invoice for the guest, then a row whose stray quote
    # swallows the rest of the file.
    (
        "invoices",
        "manual-fix.csv",
        (
            f"{INVOICE_HEADER}\n"
            f"in_rwx1;;cus_rw{U}guest;USD;80.00;0;2026-10-01T10:00:00Z;2026-10-15;;open;manual;"
            "2026-10-01T10:00:00Z\n"
            f'in_rwx2;;cus_rw{U}guest;USD;"80.00;0;2026-10-02;2026-10-15;;open;manual;2026-10-02\n'
        ).encode("latin-1"),
    ),
    # JSON Lines: a customer named in Latin script with accents, one stamped next year, one
    # with a verification status outside the contract.
    (
        "customers",
        "crm.jsonl",
        (
            '{"customer_id": "cus_rwx1", "name": "Zoë Ångström", "created_at": "2026-09-01", '
            '"updated_at": "2026-09-01"}\n'
            '{"customer_id": "cus_rwx2", "created_at": "2026-09-01", "updated_at": "2031-09-01"}\n'
            '{"customer_id": "cus_rwx3", "verification_status": "kyc_ok", "created_at": "2026-09-01",'
            ' "updated_at": "2026-09-01"}\n'
        ).encode(),
    ),
    # A huge one-off charge (an enterprise contract paid by card), and an empty export.
    (
        "payment_attempts",
        "big.csv",
        (
            "attempt_id,customer_id,attempted_at,amount,currency,payment_method,processor,outcome,"
            "updated_at\n"
            f"ch_rwx1,cus_rw{U}guest,2026-10-03T09:00:00Z,99999999.99,USD,card,stripe,succeeded,"
            "2026-10-03T09:00:00Z\n"
        ).encode(),
    ),
    ("disputes", "empty.csv", b""),
    # A Parquet file cut short in transfer: set aside whole, with a report.
    ("refunds", "cut.parquet", b"PAR1\x15\x04\x15\x10\x15"),
]


def _marts(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]  # fmt: skip
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in tables}


@pytest.fixture(scope="module")
def realistic(tmp_path_factory):
    home = tmp_path_factory.mktemp("realistic_home")
    settings = load_settings({"ARREARS_HOME": str(home)})
    summary = generate(CONFIG, settings.landing_dir, ground_truth_path=home / "truth.json")
    for entity, name, content in CRAFTED:
        (settings.landing_dir / entity).mkdir(parents=True, exist_ok=True)
        (settings.landing_dir / entity / name).write_bytes(content)
    assert build(settings), "the realistic sample did not build"
    first = _marts(settings.published_path)
    assert build(settings), "the rebuild with nothing new failed"
    second = _marts(settings.published_path)
    return settings, summary, first, second


def _query(settings, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_profile_adds_one_unit_of_each_shape(realistic):
    _, summary, _, _ = realistic
    assert summary.shapes == SHAPES_PER_UNIT
    assert summary.shapes["zero_amount_invoices"] == 3
    assert summary.shapes["quarantined_beyond_tolerance"] == 2
    standard = generate(
        GeneratorConfig(customers=60, months=3, seed=5, progress=False),
        summary.out_dir.parent / "standard",
        ground_truth_path=summary.out_dir.parent / "standard_truth.json",
    )
    extra = {e: summary.rows[e] - standard.rows[e] for e in summary.rows}
    assert extra == {**dict.fromkeys(summary.rows, 0), **PER_UNIT, "subscriptions": 5}


def test_the_build_publishes_every_mart_and_a_rebuild_changes_no_row(realistic):
    settings, _, first, second = realistic
    assert settings.published_path.exists()
    assert {"fct_invoices", "fct_payment_attempts", "receivables_daily", "dim_customers"} <= set(
        first
    )
    assert all(first[t] for t in ("fct_invoices", "fct_payment_attempts", "dim_customers"))
    changed = [t for t in first if first[t] != second.get(t)]
    assert changed == []
    assert set(second) == set(first)


def test_only_what_breaks_the_contract_is_quarantined_with_its_reason(realistic):
    settings, _, _, _ = realistic
    held = _query(
        settings,
        "select source_file, json_extract_string(record, '$.' || case entity "
        "when 'invoices' then 'invoice_id' when 'customers' then 'customer_id' "
        "else 'message_id' end), split_part(reason, ':', 1) from raw._quarantine order by all",
    )
    sample = [(k, r) for f, k, r in held if "/sample-" in f]
    assert sample == [
        (f"msg_rw{U}guest2", "opened_before_sent"),
        (f"in_rw{U}skew2", "paid_before_issue"),
    ]
    crafted = [(f, k, r) for f, k, r in held if "/sample-" not in f]
    assert crafted == [
        ("customers/crm.jsonl", "cus_rwx2", "updated_at in the future"),
        ("customers/crm.jsonl", "cus_rwx3", "unknown verification_status 'kyc_ok' (allowed"),
        ("invoices/manual-fix.csv", "in_rwx2", "expected 12 fields, found 5"),
    ]
    manifest = dict(
        _query(
            settings,
            "select file_path, status || ' ' || rows_read || '/' || rows_loaded || '/' || "
            "rows_quarantined from raw._load_manifest where file_path not like '%/sample-%'",
        )
    )
    assert manifest == {
        "invoices/manual-fix.csv": "loaded 2/1/1",
        "customers/crm.jsonl": "loaded 3/1/2",
        "payment_attempts/big.csv": "loaded 1/1/0",
        "disputes/empty.csv": "empty 0/0/0",
        "refunds/cut.parquet": "rejected 0/0/0",
    }
    assert (settings.rejected_dir / "refunds" / "cut.parquet.error.txt").exists()
    assert _query(settings, "select name from raw.customers where customer_id = 'cus_rwx1'") == [
        ("Zoë Ångström",)
    ]


def test_zero_amount_invoices_count_as_invoices_and_never_as_receivables(realistic):
    settings, _, first, _ = realistic
    zero = _query(
        settings,
        "select invoice_id, status, is_receivable, amount_remaining, is_past_due, ageing_bucket, "
        "days_past_due, entered_recovery_at from marts.fct_invoices where amount_due = 0 "
        "order by invoice_id",
    )
    assert zero == [
        (f"in_rw{U}coupon1", "paid", False, Decimal("0.00"), False, None, None, None),
        (f"in_rw{U}coupon2", "open", False, Decimal("0.00"), False, None, None, None),
        (f"in_rw{U}trial0", "paid", False, Decimal("0.00"), False, None, None, None),
    ]
    # The coupon plan never has an open receivable; the trial plan only its paid first invoice,
    # which was paid five seconds after it was issued (so never open at the end of a day).
    open_by_plan = _query(
        settings,
        "select plan, sum(open_invoices), sum(past_due_invoices) from marts.receivables_daily "
        "where plan in ('rw_trial', 'rw_coupon') group by plan order by plan",
    )
    assert all(opened == 0 and past_due == 0 for _, opened, past_due in open_by_plan)


def test_one_second_skew_loads_and_is_normalised_in_the_marts(realistic):
    settings, _, _, _ = realistic
    raw = _query(settings, f"select issued_at, paid_at from raw.invoices where invoice_id = 'in_rw{U}skew1'")  # fmt: skip
    ((issued, paid),) = raw
    assert issued - paid == timedelta(seconds=1)
    mart = _query(settings, f"select paid_at, status, amount_remaining from marts.fct_invoices where invoice_id = 'in_rw{U}skew1'")  # fmt: skip
    assert mart == [(issued, "paid", Decimal("0.00"))]


def test_guests_one_off_invoices_and_charges_without_invoice(realistic):
    settings, _, _, _ = realistic
    guest = f"cus_rw{U}guest"
    assert _query(settings, "select count(*) from marts.dim_customers where customer_id = ?", [guest]) == [(1,)]  # fmt: skip
    invoices = _query(
        settings,
        "select invoice_id, subscription_id, plan, status, amount_due, amount_remaining "
        "from marts.fct_invoices where customer_id = ? order by invoice_id",
        [guest],
    )
    assert invoices == [
        (f"in_rw{U}guest1", None, "one_off", "paid", Decimal("120.00"), Decimal("0.00")),
        ("in_rwx1", None, "one_off", "open", Decimal("80.00"), Decimal("80.00")),
    ]
    attempts = _query(
        settings,
        "select invoice_id, count(*), sum(amount) from marts.fct_payment_attempts "
        "where customer_id = ? group by all order by all",
        [guest],
    )
    assert attempts == [
        (f"in_rw{U}guest1", 2, Decimal("240.00")),
        (None, 2, Decimal("100000014.99")),  # 15.00 + the crafted 99,999,999.99
    ]


def test_the_backfill_reaches_three_years_before_the_window(realistic):
    settings, summary, _, _ = realistic
    ((earliest, count),) = _query(
        settings,
        "select min(issued_at), count(*) from marts.fct_invoices where subscription_id = ?",
        [f"sub_rw{U}backfill"],
    )
    assert count == 3
    assert earliest < summary.start - timedelta(days=3 * 365)
    ((first_invoice,),) = _query(settings, "select min(issued_at) from marts.fct_invoices")
    assert first_invoice == earliest
    assert isinstance(first_invoice, datetime)
