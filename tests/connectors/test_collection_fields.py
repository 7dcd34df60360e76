"""The Stripe fields that matter for collections (issue 14), carried into the contract's optional
columns: from real objects (../shared/fixtures/stripe_api/dj_stripe) and from a crafted dump of
the failure paths (all values hand-set below); then loaded by the ingestion, including into a
warehouse created before these columns existed."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from orchestration import ingest
from orchestration.config import REPO_ROOT
from orchestration.connectors.run import import_stripe
from orchestration.connectors.stripe_objects import map_stripe_objects
from orchestration.contract import ENTITIES, ENTITY_BY_NAME
from tests.connectors.crafted_stripe import COLLECTION_FACTS, ts

D = Decimal
DJ = REPO_ROOT.parent / "shared" / "fixtures" / "stripe_api" / "dj_stripe"


def _facts(row: dict) -> dict:
    return {k: v for k, v in row.items() if k in COLLECTION_FACTS}


def _one(path: Path, entity: str) -> dict:
    [row] = map_stripe_objects([json.loads(path.read_text())])[entity].to_pylist()
    return _facts(row)


def test_real_objects():
    assert _one(DJ / "customer_cus_6lsBvm5rJ0zyHc.json", "customers") == {
        "delinquent": False, "balance": D("0.00"), "balance_currency": "USD",
    }  # fmt: skip
    assert _one(DJ / "subscription_sub_fakefakefakefakefake0001.json", "subscriptions") == {
        "cancel_at_period_end": False, "collection_paused_behavior": None,
        "collection_resumes_at": None, "cancellation_feedback": None, "cancellation_comment": None,
    }  # fmt: skip
    assert _one(DJ / "invoice_in_fakefakefakefakefake0001.json", "invoices") == {
        "amount_remaining": D("0.00"), "attempt_count": 1, "next_payment_attempt_at": None,
    }  # fmt: skip
    assert _one(DJ / "charge_ch_fakefakefakefakefake0001.json", "payment_attempts") == {
        "outcome_type": "authorized", "risk_level": "normal", "failure_code": None,
        "failure_type": None, "failure_message": None, "card_funding": "credit",
        "cvc_check": None, "address_line1_check": None, "address_postal_code_check": None,
    }  # fmt: skip
    # evidence_details.due_by 1626566399 = 2021-07-17 23:59:59 UTC
    assert _one(DJ / "dispute_dp_fakefakefakefake01.json", "disputes") == {
        "evidence_due_at": datetime(2021, 7, 17, 23, 59, 59),
    }  # fmt: skip


CARD = {"brand": "visa", "country": "DE", "fingerprint": "fpR", "funding": "debit",
        "checks": {"cvc_check": "pass", "address_line1_check": "fail",
                   "address_postal_code_check": "unavailable"}}  # fmt: skip
DUMP = [
    {"id": "cus_R", "object": "customer", "livemode": True, "created": ts("2025-12-01 00:00"),
     "currency": "eur", "balance": 1500, "delinquent": True},
    # a balance in a currency outside the contract: not carried (no rate to read it in)
    {"id": "cus_B", "object": "customer", "livemode": True, "created": ts("2025-12-01 00:00"),
     "currency": "brl", "balance": -300, "delinquent": "false"},
    {"id": "sub_R", "object": "subscription", "livemode": True, "customer": "cus_R",
     "status": "past_due", "created": ts("2026-01-01 00:00"), "start_date": ts("2026-01-01 00:00"),
     "currency": "eur", "cancel_at_period_end": True,
     "pause_collection": {"behavior": "keep_as_draft", "resumes_at": ts("2026-03-01 00:00")},
     "cancellation_details": {"reason": "cancellation_requested", "feedback": "too_expensive",
                              "comment": "Bob Smith says it costs too much"},
     "items": {"data": [{"price": {"id": "price_m", "currency": "eur", "unit_amount": 4900,
                                   "recurring": {"interval": "month"}}, "quantity": 1}]}},
    {"id": "in_R", "object": "invoice", "livemode": True, "customer": "cus_R",
     "subscription": "sub_R", "currency": "eur", "amount_due": 4900, "amount_paid": 1000,
     "amount_remaining": 3900, "attempt_count": 2, "next_payment_attempt": ts("2026-02-08 10:00"),
     "status": "open", "created": ts("2026-02-01 10:00"),
     "status_transitions": {"finalized_at": ts("2026-02-01 10:00")}},
    # the issuer said no
    {"id": "ch_R1", "object": "charge", "livemode": True, "customer": "cus_R", "invoice": "in_R",
     "payment_intent": "pi_R", "amount": 4900, "currency": "eur", "status": "failed",
     "created": ts("2026-02-01 10:05"), "failure_code": "card_declined",
     "failure_message": "Your card has insufficient funds.",
     "outcome": {"type": "issuer_declined", "reason": "insufficient_funds",
                 "risk_level": "normal", "network_status": "declined_by_network"},
     "payment_method_details": {"type": "card", "card": CARD}},
    # Radar blocked the retry before the issuer saw it: fraud screening, not an issuer decline
    {"id": "ch_R2", "object": "charge", "livemode": True, "customer": "cus_R", "invoice": "in_R",
     "payment_intent": "pi_R", "amount": 4900, "currency": "eur", "status": "failed",
     "created": ts("2026-02-04 10:05"), "failure_code": None, "failure_message": None,
     "outcome": {"type": "blocked", "reason": "highest_risk_level", "risk_level": "highest",
                 "network_status": "not_sent_to_network"},
     "payment_method_details": {"type": "card", "card": {**CARD, "funding": "charge_card"}}},
    # the intent's last error is ch_R2's: its code, type and message complete that charge only
    {"id": "pi_R", "object": "payment_intent", "livemode": True, "customer": "cus_R",
     "invoice": "in_R", "amount": 4900, "currency": "eur", "status": "requires_payment_method",
     "created": ts("2026-02-01 10:05"),
     "last_payment_error": {"charge": "ch_R2", "code": "card_declined", "type": "card_error",
                            "message": "Your card was declined."}},
    {"id": "dp_R", "object": "dispute", "livemode": True, "charge": "ch_R1", "amount": 4900,
     "currency": "eur", "reason": "fraudulent", "status": "lost", "created": ts("2026-02-10 00:00"),
     "closed_at": ts("2026-02-20 12:00"), "evidence_details": {"due_by": ts("2026-02-18 23:59")}},
]  # fmt: skip


def test_crafted_failure_paths_loaded_into_a_warehouse_made_before_the_columns(tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    source = tmp_path / "stripe"
    source.mkdir()
    (source / "dump.json").write_text(json.dumps(DUMP))
    result = import_stripe(source, landing)
    assert {k: dict(v) for k, v in result.report.unknown_values.items() if v} == {
        "customers.balance_currency": {"BRL": 1},
        "payment_attempts.card_funding": {"charge_card": 1},
    }

    # A warehouse from before: raw tables without the collection columns, one old row.
    con = ingest.connect(tmp_path / "warehouse.duckdb")
    con.execute("create schema raw")
    for entity in ENTITIES:
        old = [c for c in entity.columns if c.name not in COLLECTION_FACTS]
        cols = ", ".join(f"{c.name} {c.type}" for c in (*old, *ingest.LINEAGE_COLUMNS))
        con.execute(f"create table raw.{entity.name} ({cols})")
    con.execute(
        "insert into raw.customers (customer_id, created_at, updated_at, _source_file, "
        "_source_row, _loaded_at) values ('cus_old', '2025-01-01', '2025-01-01', 'old.csv', 1, "
        "'2025-01-01')"
    )
    for entity in ENTITIES:
        ingest.load_entity(con, entity.name, landing, rejected)
    assert con.execute("select count(*) from raw._quarantine").fetchone() == (0,)

    def facts(entity, key):
        cols = [c.name for c in ENTITY_BY_NAME[entity].columns if c.name in COLLECTION_FACTS]
        return con.execute(
            f"select {key}, {', '.join(cols)} from raw.{entity} order by {key}"
        ).fetchall()

    assert facts("customers", "customer_id") == [
        ("cus_B", False, None, None),
        ("cus_R", True, D("15.00"), "EUR"),
        ("cus_old", None, None, None),  # the old row: null, as any absent optional column
    ]
    assert facts("subscriptions", "subscription_id") == [
        ("sub_R", True, "keep_as_draft", datetime(2026, 3, 1), "too_expensive",
         "Bob Smith says it costs too much"),
    ]  # fmt: skip
    assert facts("invoices", "invoice_id") == [("in_R", D("39.00"), 2, datetime(2026, 2, 8, 10))]
    assert facts("payment_attempts", "attempt_id") == [
        ("ch_R1", "issuer_declined", "normal", "card_declined", None,
         "Your card has insufficient funds.", "debit", "pass", "fail", "unavailable"),
        ("ch_R2", "blocked", "highest", "card_declined", "card_error", "Your card was declined.",
         None, "pass", "fail", "unavailable"),
    ]  # fmt: skip
    assert con.execute(
        "select attempt_id, decline_code from raw.payment_attempts order by 1"
    ).fetchall() == [("ch_R1", "insufficient_funds"), ("ch_R2", "highest_risk_level")]
    # Stripe's own closed_at wins over the event or balance-transaction time
    assert con.execute(
        "select dispute_id, closed_at, evidence_due_at from raw.disputes"
    ).fetchall() == [("dp_R", datetime(2026, 2, 20, 12), datetime(2026, 2, 18, 23, 59))]
    con.close()
