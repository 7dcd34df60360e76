"""Issue 14, defect 6: Stripe values the contract accepts are mapped onto it as they are, and a
refund or dispute whose charge is missing waits as `unknown_reference`, not `invalid`.

Crafted dump (all numbers hand-set): customer cus_W; sub_W weekly and `incomplete`, sub_P
monthly and `paused`, sub_Q every 3 months (the contract has no interval count: still out);
in_1 a one-off invoice; ch_1 paid it and is under an inquiry (dp_I, `warning_needs_response`);
refund re_M is on ch_M, which is not in the dump; dispute dp_M on ch_N (not in the dump) names
payment intent pi_N of cus_W. Then ch_M arrives in a later dump.
"""

import json
from decimal import Decimal

import pytest

from orchestration import ingest
from orchestration.connectors.run import import_stripe
from orchestration.contract import ENTITIES
from tests.connectors.crafted_stripe import ts

D = Decimal


def _price(interval, count=1):
    return {"id": f"price_{interval}{count}", "object": "price", "currency": "eur",
            "nickname": f"Every {count} {interval}", "unit_amount": 1000,
            "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"}}  # fmt: skip


def _sub(sid, status, price):
    return {"id": sid, "object": "subscription", "livemode": True, "customer": "cus_W",
            "status": status, "created": ts("2026-01-01 00:00"), "start_date": ts("2026-01-01 00:00"),
            "currency": "eur", "items": {"data": [{"price": price, "quantity": 1}]}}  # fmt: skip


DUMP = [
    {"id": "cus_W", "object": "customer", "livemode": True, "created": ts("2025-12-01 00:00"),
     "email": "w@example.com", "name": "W"},
    _sub("sub_W", "incomplete", _price("week")),
    _sub("sub_P", "paused", _price("month")),
    _sub("sub_Q", "active", _price("month", 3)),
    {"id": "in_1", "object": "invoice", "livemode": True, "customer": "cus_W",
     "subscription": None, "currency": "eur", "amount_due": 2500, "amount_paid": 2500,
     "status": "paid", "billing_reason": "manual", "created": ts("2026-01-05 00:00"),
     "status_transitions": {"finalized_at": ts("2026-01-05 00:00"), "paid_at": ts("2026-01-05 01:00")}},
    {"id": "ch_1", "object": "charge", "livemode": True, "customer": "cus_W", "invoice": "in_1",
     "amount": 2500, "currency": "eur", "status": "succeeded", "created": ts("2026-01-05 01:00"),
     "payment_method_details": {"type": "card", "card": {"brand": "visa", "country": "DE"}}},
    {"id": "dp_I", "object": "dispute", "livemode": True, "charge": "ch_1", "amount": 2500,
     "currency": "eur", "reason": "general", "status": "warning_needs_response",
     "created": ts("2026-01-20 00:00")},
    {"id": "re_M", "object": "refund", "livemode": True, "charge": "ch_M", "amount": 700,
     "currency": "eur", "reason": "duplicate", "status": "succeeded", "created": ts("2026-01-21 00:00")},
    {"id": "pi_N", "object": "payment_intent", "livemode": True, "customer": "cus_W",
     "amount": 900, "currency": "eur", "status": "processing", "created": ts("2026-01-06 00:00")},
    {"id": "dp_M", "object": "dispute", "livemode": True, "charge": "ch_N", "payment_intent": "pi_N",
     "amount": 900, "currency": "eur", "reason": "fraudulent", "status": "needs_response",
     "created": ts("2026-01-22 00:00")},
]  # fmt: skip
LATER_CHARGE = {
    "id": "ch_M", "object": "charge", "livemode": True, "customer": "cus_W", "amount": 700,
    "currency": "eur", "status": "succeeded", "created": ts("2026-01-07 00:00"),
    "payment_method_details": {"type": "card", "card": {"brand": "visa", "country": "DE"}},
}  # fmt: skip


@pytest.fixture
def loaded(tmp_path):
    source, landing, rejected = tmp_path / "stripe", tmp_path / "landing", tmp_path / "rejected"
    source.mkdir()
    (source / "2026-02-01_dump.json").write_text(json.dumps(DUMP))
    result = import_stripe(source, landing)
    con = ingest.connect(tmp_path / "warehouse.duckdb")
    for entity in ENTITIES:
        ingest.load_entity(con, entity.name, landing, rejected)
    yield source, landing, rejected, con, result
    con.close()


def test_values_the_contract_has_are_kept_and_not_reported(loaded):
    _, _, _, con, result = loaded
    assert con.execute(
        "select subscription_id, status, billing_interval from raw.subscriptions order by 1"
    ).fetchall() == [("sub_P", "paused", "month"), ("sub_W", "incomplete", "week")]
    assert con.execute(
        "select invoice_id, subscription_id, amount_due from raw.invoices"
    ).fetchall() == [("in_1", None, D("25.00"))]
    assert con.execute(
        "select dispute_id, kind, status, attempt_id, customer_id from raw.disputes"
    ).fetchall() == [("dp_I", "inquiry", "needs_response", "ch_1", "cus_W")]
    # only the 3-month interval is outside the contract now (no interval count)
    assert {k: dict(v) for k, v in result.report.unknown_values.items() if v} == {
        "subscriptions.billing_interval": {"3 month": 1}
    }
    assert "subscriptions.status: incomplete → past_due" not in result.report.notes
    assert "subscriptions.status: paused → active" not in result.report.notes


def test_missing_charge_waits_as_unknown_reference_and_loads_when_it_arrives(loaded):
    source, landing, rejected, con, result = loaded
    quarantine = """select entity, json_extract_string(record, '$.customer_id'), reason_code,
        reason, replayed_at is not null from raw._quarantine order by entity, reason"""
    assert con.execute(quarantine).fetchall() == [
        # the customer is known through the dispute's payment intent: only the charge is missing
        ("disputes", "cus_W", "unknown_reference",
         "unknown attempt_id 'ch_N' (no such payment attempt)", False),
        # nothing names the refund's customer: an id no customer has, no placeholder made for it
        ("refunds", "unknown_customer_of_ch_M", "unknown_reference",
         "unknown attempt_id 'ch_M' (no such payment attempt); "
         "unknown customer_id 'unknown_customer_of_ch_M' (no such customer)", False),
        ("subscriptions", "cus_W", "invalid",
         "unknown billing_interval '3 month' (allowed: day, week, month, year)", False),
    ]  # fmt: skip
    assert con.execute("select customer_id from raw.customers").fetchall() == [("cus_W",)]
    assert result.report.orphan_counts() == {
        "disputes.attempt_id → payment_attempts": 1,
        "refunds.attempt_id → payment_attempts": 1,
        "refunds.attempt_id → payment_attempts (customer unknown)": 1,
    }

    (source / "2026-02-02_charge.json").write_text(json.dumps(LATER_CHARGE))
    import_stripe(source, landing)
    for entity in ENTITIES:
        ingest.load_entity(con, entity.name, landing, rejected)
    assert con.execute(
        "select refund_id, attempt_id, customer_id, amount from raw.refunds"
    ).fetchall() == [("re_M", "ch_M", "cus_W", D("7.00"))]
    # the held row is marked done: its version (same refund, same updated_at) is loaded
    assert con.execute(quarantine).fetchall()[1][4] is True
