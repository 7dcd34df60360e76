"""Warehouse-synced Stripe tables (Fivetran layout in data/fivetran_stripe/, an Airbyte-style
table with JSON columns): read from CSV, Parquet and a DuckDB database, mapped like API objects.
Expected rows worked out by hand from the CSV files."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.connectors.common import MappingReport
from orchestration.connectors.run import import_stripe_tables
from orchestration.connectors.stripe_objects import map_stripe_observations
from orchestration.connectors.stripe_tables import TableSource, observations_from_tables
from tests.connectors.crafted_stripe import ts, without_collection_facts

D = Decimal
FIVETRAN = Path(__file__).parent / "data" / "fivetran_stripe"


def _map(location, schema=None):
    report = MappingReport("t")
    source = TableSource(location, schema)
    try:
        observations = observations_from_tables(source, report)
    finally:
        source.close()
    rows, mapped_report = map_stripe_observations(observations)
    return rows, mapped_report, report


def _by_key(rows, entity, key):
    return {
        r[key]: without_collection_facts({c: v for c, v in r.items() if c != "_source"})
        for r in rows[entity]
    }


@pytest.fixture(scope="module")
def from_csv():
    return _map(FIVETRAN)


def test_charges_cards_and_3ds(from_csv):
    rows, report, _ = from_csv
    attempts = _by_key(rows, "payment_attempts", "attempt_id")
    assert attempts["ch_FA2"] == {
        "attempt_id": "ch_FA2", "invoice_id": "in_FA1", "customer_id": "cus_FA",
        "attempted_at": datetime(2026, 1, 3, 10), "amount": D("98.00"), "currency": "EUR",
        "payment_method": "card", "card_brand": "visa", "card_country": "DE", "card_bin": None,
        "card_fingerprint": "fpA", "card_exp_month": 3, "card_exp_year": 2027,
        "processor": "stripe", "outcome": "succeeded", "decline_code": None, "attempt_number": 2, "trigger": "automatic_retry",
        "used_3ds": True,  # the per-charge payment_method_card row: authenticated
        "ip_address": None, "device_id": None, "updated_at": datetime(2026, 1, 3, 10, 0, 0, 1000),
    }  # fmt: skip
    cols = ("outcome", "decline_code", "attempt_number", "card_brand", "card_country", "used_3ds")
    assert {k: tuple(v[c] for c in cols) for k, v in attempts.items()} == {
        "ch_FA1": (
            "failed",
            "insufficient_funds",
            1,
            "visa",
            "DE",
            None,
        ),  # card of the payment method
        "ch_FA2": ("succeeded", None, 2, "visa", "DE", True),
        # legacy card table via card_id; card_declined with no reason is Stripe's generic decline
        "ch_FD1": ("failed", "generic_decline", 1, "mastercard", "FR", None),
    }  # ch_T is test mode
    assert report.excluded == {"charge: test mode": 1}


def test_subscriptions_from_items_and_prices(from_csv):
    rows, report, _ = from_csv
    subs = _by_key(rows, "subscriptions", "subscription_id")
    assert subs["sub_FA"] | {} == {
        "subscription_id": "sub_FA", "customer_id": "cus_FA", "plan": "Growth",
        "billing_interval": "month", "amount": D("98.00"),  # 2 × 49.00
        "currency": "EUR", "status": "active", "started_at": datetime(2025, 12, 1, 9),
        "canceled_at": None, "cancel_reason": None, "updated_at": datetime(2025, 12, 1, 9),
    }  # fmt: skip
    assert subs["sub_FD"] == {
        "subscription_id": "sub_FD", "customer_id": "cus_FD",
        "plan": "Growth Plan",  # no nickname: the product's name
        "billing_interval": "year", "amount": D("990.00"), "currency": "EUR",
        "status": "canceled", "started_at": datetime(2025, 11, 1),
        "canceled_at": datetime(2026, 1, 15),
        # no cancellation_details column: its unpaid, retried invoice says non-payment
        "cancel_reason": "non_payment", "updated_at": datetime(2026, 1, 15, 0, 0, 0, 1000),
    }  # fmt: skip
    assert report.notes["subscriptions: cancel_reason inferred non_payment"] == 1


def test_invoices_customers_refunds_disputes(from_csv):
    rows, _, read_report = from_csv
    invoices = _by_key(rows, "invoices", "invoice_id")
    assert set(invoices) == {"in_FA1", "in_FD1"}  # in_draft was deleted in Stripe
    assert invoices["in_FD1"] == {
        "invoice_id": "in_FD1", "subscription_id": "sub_FD", "customer_id": "cus_FD",
        "currency": "EUR", "amount_due": D("990.00"), "amount_paid": D("0.00"),
        "issued_at": datetime(2025, 11, 1, 1), "due_at": datetime(2025, 11, 1, 1), "paid_at": None,
        "status": "uncollectible", "written_off_at": datetime(2026, 1, 15),
        "billing_reason": "subscription_create", "updated_at": datetime(2026, 1, 15, 0, 0, 0, 2000),
    }  # fmt: skip
    customers = _by_key(rows, "customers", "customer_id")
    # deleted in Stripe, kept: its charges and invoices still point at it
    assert (customers["cus_FD"]["name"], customers["cus_FD"]["country"]) == ("Deleted Co", "FR")
    refund = _by_key(rows, "refunds", "refund_id")["re_FA"]
    assert (refund["attempt_id"], refund["customer_id"], refund["amount"], refund["status"]) == (
        "ch_FA2",
        "cus_FA",
        D("20.00"),
        "succeeded",
    )
    dispute = _by_key(rows, "disputes", "dispute_id")["dp_FA"]
    assert (dispute["status"], dispute["reason"], dispute["amount"], dispute["customer_id"]) == (
        "won",
        "product_not_received",
        D("98.00"),
        "cus_FA",
    )
    assert read_report.excluded == {
        "table balance_transaction: not a Stripe table this connector reads": 1,
        "table invoice: deleted in Stripe": 1,
    }


def test_duckdb_database_and_parquet_give_the_same_rows(from_csv, tmp_path):
    database = tmp_path / "elt.duckdb"
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    with duckdb.connect(str(database)) as con:
        con.execute("create schema stripe")
        for csv_file in sorted(FIVETRAN.glob("*.csv")):
            con.execute(
                f"create table stripe.{csv_file.stem} as select * from read_csv(?)", [str(csv_file)]
            )
            (parquet / csv_file.stem).mkdir()  # Parquet tables split into part files
            con.execute(
                f"copy stripe.{csv_file.stem} to '{parquet / csv_file.stem / 'part-0.parquet'}'"
            )
    assert _map(database)[0] == from_csv[0]
    assert _map(parquet)[0] == from_csv[0]


def test_airbyte_style_json_columns(tmp_path):
    charge = {
        "id": "ch_X", "amount": 1200, "currency": "gbp", "created": ts("2026-01-05 08:00"),
        "customer": "cus_X", "status": "failed", "livemode": True, "invoice": None,
        "outcome": json.dumps({"network_status": "declined_by_network", "reason": "lost_card"}),
        "payment_method_details": json.dumps({"type": "card", "card": {
            "brand": "mastercard", "country": "GB", "fingerprint": "fpX",
            "three_d_secure": {"result": "attempt_acknowledged"}}}),
    }  # fmt: skip
    (tmp_path / "charges.jsonl").write_text(json.dumps(charge) + "\n")
    rows, report, _ = _map(tmp_path)
    row = rows["payment_attempts"][0]
    assert (
        row["amount"],
        row["currency"],
        row["decline_code"],
        row["card_brand"],
        row["used_3ds"],
    ) == (D("12.00"), "GBP", "lost_card", "mastercard", True)
    assert report.orphan_counts() == {"payment_attempts.customer_id → customers": 1}


def test_import_writes_landing_with_its_own_prefix(tmp_path):
    result = import_stripe_tables(FIVETRAN, tmp_path / "landing")
    names = sorted(p.relative_to(tmp_path / "landing").as_posix() for p in result.written)
    assert "payment_attempts/stripe_tables-fivetran_stripe--charge.parquet" in names
    assert "subscriptions/stripe_tables-fivetran_stripe--subscription.parquet" in names
