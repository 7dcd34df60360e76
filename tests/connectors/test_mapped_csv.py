"""Mapped CSV: the shipped Recurly and Chargebee mappings on small hand-made exports (data/), the
expected rows worked out by hand, loaded by the real ingestion; and mapping-file errors."""

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration import ingest
from orchestration.connectors.mapped_csv import MappingError, load_mapping, map_csv_folder
from orchestration.connectors.run import import_mapped_csv
from orchestration.contract import ENTITIES
from tests.connectors.crafted_stripe import COLLECTION_FACTS, without_collection_facts

D = Decimal
DATA = Path(__file__).parent / "data"


def _current(rows, entity, key):
    # the collection facts are not in the shipped mappings: null in every row
    assert all(r[c] is None for r in rows[entity] for c in COLLECTION_FACTS if c in r)
    return {
        r[key]: without_collection_facts({c: v for c, v in r.items() if c != "_source"})
        for r in rows[entity]
    }


@pytest.fixture(scope="module")
def recurly():
    return map_csv_folder(DATA / "recurly", load_mapping("recurly"))


def test_recurly_payment_attempts(recurly):
    rows, report = recurly
    attempts = _current(rows, "payment_attempts", "attempt_id")
    assert attempts["t1"] == {
        "attempt_id": "t1", "invoice_id": "1001", "customer_id": "acc_1",
        "attempted_at": datetime(2025, 12, 1, 18, 1),  # 10:01 PST
        "amount": D("29.00"), "currency": "USD", "payment_method": "card", "card_brand": "visa",
        "card_country": None, "card_bin": "424242", "card_fingerprint": None,
        "card_exp_month": None, "card_exp_year": None, "processor": "stripe",
        "outcome": "succeeded", "decline_code": None, "attempt_number": 1,
        "trigger": "customer_initiated", "used_3ds": None, "ip_address": None, "device_id": None,
        "updated_at": datetime(2025, 12, 1, 18, 1),
    }  # fmt: skip
    cols = ("invoice_id", "outcome", "decline_code", "attempt_number", "trigger", "card_brand", "payment_method", "processor")  # fmt: skip
    assert {k: tuple(v[c] for c in cols) for k, v in attempts.items()} == {
        "t1": ("1001", "succeeded", None, 1, "customer_initiated", "visa", "card", "stripe"),
        "t2": ("1002", "failed", "insufficient_funds", 1, "scheduled", "visa", "card", "stripe"),
        # a failure type the mapping does not name: kept as it came
        "t3": ("1002", "failed", "issuer_unavailable", 2, "scheduled", "visa", "card", "stripe"),
        "t4": ("1003", "failed", "expired_card", 1, "scheduled", "mastercard", "card", "braintree"),
        # no invoice, customer not in the accounts export (placeholder), PayPal
        "t9": (None, "succeeded", None, None, "customer_initiated", None, "wallet", "paypal"),
    }  # fmt: skip
    # t5 verification, t6 refund, t7 test gateway, t8 still processing: filtered and counted
    assert report.excluded["payment_attempts: transactions.csv row filtered by `where`"] == 4


def test_recurly_customers_subscriptions_invoices_refunds(recurly):
    rows, report = recurly
    customers = _current(rows, "customers", "customer_id")
    assert customers["acc_1"] == {
        "customer_id": "acc_1", "email": "ann@example.com", "name": "Ann Lee", "country": "US",
        "verification_status": None, "created_at": datetime(2025, 12, 1, 18),
        "updated_at": datetime(2025, 12, 1, 18),
    }  # fmt: skip
    assert customers["acc_4"]["updated_at"] == datetime(2000, 1, 1)  # placeholder
    assert report.orphan_counts() == {"payment_attempts.customer_id → customers": 1}
    subs = _current(rows, "subscriptions", "subscription_id")
    assert subs["sub_2"] == {
        "subscription_id": "sub_2", "customer_id": "acc_2", "plan": "Pro",
        "billing_interval": "month", "amount": D("25.00"), "currency": "GBP",
        "status": "canceled", "started_at": datetime(2025, 12, 5, 9),
        "canceled_at": datetime(2026, 2, 10), "cancel_reason": "non_payment",
        "updated_at": datetime(2026, 2, 10),
    }  # fmt: skip
    invoices = _current(rows, "invoices", "invoice_id")
    assert {k: (v["status"], v["billing_reason"], v["amount_paid"], v["written_off_at"]) for k, v in invoices.items()} == {
        "1001": ("paid", "subscription_create", D("29.00"), None),
        "1002": ("open", "subscription_cycle", D("0.00"), None),
        "1003": ("uncollectible", "subscription_cycle", D("0.00"), datetime(2026, 2, 10)),
    }  # fmt: skip
    assert _current(rows, "refunds", "refund_id") == {
        "t6": {
            "refund_id": "t6", "attempt_id": "t1", "customer_id": "acc_1", "amount": D("10.00"),
            "currency": "USD", "refunded_at": datetime(2025, 12, 10, 20), "reason": None,
            "status": "succeeded", "updated_at": datetime(2025, 12, 10, 20),
        }
    }  # fmt: skip
    assert dict(report.unknown_values) == {}


def test_chargebee_minor_units_unix_times_and_linked_invoices():
    rows, report = map_csv_folder(DATA / "chargebee", load_mapping("chargebee"))
    attempts = _current(rows, "payment_attempts", "attempt_id")
    cols = ("invoice_id", "attempted_at", "amount", "currency", "outcome", "decline_code", "attempt_number", "card_bin", "trigger")  # fmt: skip
    assert {k: tuple(v[c] for c in cols) for k, v in attempts.items()} == {
        "txn_1": ("cb_in_1", datetime(2026, 1, 1, 10, 6, 40), D("199.00"), "SEK", "failed", "insufficient_funds", 1, "457173", "scheduled"),
        # no decline code, only the error class: Chargebee's card_declined → generic_decline
        "txn_2": ("cb_in_1", datetime(2026, 1, 5, 10, 6, 40), D("199.00"), "SEK", "failed", "generic_decline", 2, "457173", "scheduled"),
    }  # fmt: skip
    sub = _current(rows, "subscriptions", "subscription_id")["cb_sub_1"]
    assert (sub["amount"], sub["status"], sub["cancel_reason"], sub["canceled_at"]) == (
        D("199.00"),
        "canceled",
        "non_payment",
        datetime(2026, 2, 1),
    )
    invoice = _current(rows, "invoices", "invoice_id")["cb_in_1"]
    assert (invoice["amount_due"], invoice["status"], invoice["billing_reason"]) == (
        D("199.00"),
        "uncollectible",
        "subscription_cycle",
    )
    assert (
        report.excluded["payment_attempts: transactions.csv row filtered by `where`"] == 1
    )  # in_progress


def test_mapped_exports_load_without_quarantine(tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    result = import_mapped_csv(DATA / "recurly", landing)
    assert result.prefix == "mapped_csv-recurly"
    con = ingest.connect(tmp_path / "w.duckdb")
    for entity in ENTITIES:
        ingest.load_entity(con, entity.name, landing, rejected)
    counts = {
        e: con.execute(f"select count(distinct {k}) from raw.{e}").fetchone()[0]
        for e, k in [("customers", "customer_id"), ("subscriptions", "subscription_id"),
                     ("invoices", "invoice_id"), ("payment_attempts", "attempt_id"),
                     ("refunds", "refund_id")]
    }  # fmt: skip
    assert counts == {
        "customers": 3,
        "subscriptions": 2,
        "invoices": 3,
        "payment_attempts": 5,
        "refunds": 1,
    }
    assert con.execute("select count(*) from raw._quarantine").fetchone() == (0,)
    con.close()


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("entities: {nope: {files: a.csv, columns: {}}}", "unknown entity 'nope'"),
        (
            "entities: {refunds: {files: a.csv, columns: {refund_id: id}}}",
            "must map required column(s) attempt_id",
        ),
        (
            "entities: {customers: {files: a.csv, columns: {customer_id: id, created_at: c, shoe: s}}}",
            "has no column 'shoe'",
        ),
        (
            "entities: {customers: {files: a.csv, columns: {customer_id: {colum: id}, created_at: c}}}",
            "unknown key(s) colum",
        ),
        ("entities: {customers: {columns: {customer_id: id, created_at: c}}}", "needs `files`"),
        ("defaults: {amount_unit: cents}\nentities: {}", "amount_unit must be major or minor"),
        (
            "entities: {customers: {files: a.csv, columns: {customer_id: {column: id, lookup: {key: k}}, created_at: c}}}",
            "lookup needs files, key and value",
        ),
    ],
)
def test_mapping_errors_say_where(tmp_path, yaml_text, message):
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml_text)
    with pytest.raises(MappingError, match=re.escape(message)):
        load_mapping(path)


def test_unknown_shipped_mapping_lists_the_known_ones():
    with pytest.raises(MappingError, match="shipped mappings: chargebee, recurly"):
        load_mapping("zuora")
