"""Crafted Stripe dumps for the failure paths, mapped row by row, then loaded by the real ingestion:
the expected warehouse (current raw state and quarantine) is worked out by hand from
crafted_stripe.py."""

import json
from datetime import datetime
from decimal import Decimal

import pytest

from orchestration import ingest
from orchestration.connectors.common import MappingReport
from orchestration.connectors.run import import_stripe, read_stripe_source
from orchestration.connectors.stripe_objects import map_stripe_observations
from orchestration.contract import ENTITIES
from tests.connectors.crafted_stripe import ts, without_collection_facts, write_crafted_stripe

D = Decimal


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return write_crafted_stripe(tmp_path_factory.mktemp("stripe") / "stripe")


@pytest.fixture(scope="module")
def mapped(source):
    report = MappingReport("stripe")
    rows, mapped_report = map_stripe_observations(read_stripe_source(source, report))
    return rows, mapped_report, report


def _current(rows, entity, key):
    latest = {}
    for r in rows[entity]:
        if r[key] not in latest or r["updated_at"] > latest[r[key]]["updated_at"]:
            latest[r[key]] = r
    return {
        k: without_collection_facts({c: v for c, v in r.items() if c != "_source"})
        for k, r in latest.items()
    }


def test_failed_charge_retry_and_payment_intent_attempts(mapped):
    rows, _, _ = mapped
    got = _current(rows, "payment_attempts", "attempt_id")
    cols = ("invoice_id", "customer_id", "amount", "currency", "outcome", "decline_code",
            "attempt_number", "trigger", "used_3ds", "card_brand", "card_country", "card_fingerprint")  # fmt: skip
    assert {k: tuple(v[c] for c in cols) for k, v in got.items()} == {
        # outcome.reason is the decline code; failure_code card_declined is only the error class
        "ch_A1": ("in_A1", "cus_A", D("49.00"), "EUR", "failed", "insufficient_funds", 1, "scheduled", False, "visa", "DE", "fpA"),
        # same card, second charge on the invoice: an automatic retry; 3DS authenticated
        "ch_A2": ("in_A1", "cus_A", D("49.00"), "EUR", "succeeded", None, 2, "automatic_retry", True, "visa", "DE", "fpA"),
        # linked through an invoice_payment object (2025 API); no outcome.reason → failure_code
        "ch_A3": ("in_A2", "cus_A", D("49.00"), "EUR", "failed", "expired_card", 1, "scheduled", False, "visa", "DE", "fpA"),
        # zero-decimal currency; expanded customer; send_invoice: the customer pays
        "ch_J1": ("in_J1", "cus_J", D("5000.00"), "JPY", "failed", "do_not_honor", 1, "customer_initiated", False, "jcb", "JP", "fpJ"),
        # orphan: customer and invoice not in the export, kept as they are
        "ch_O": ("in_missing", "cus_missing", D("15.00"), "USD", "succeeded", None, 1, None, False, "amex", "US", "fpO"),
        # a payment intent whose charge is not in the dump: its last error is the attempt
        "ch_F": ("in_A2", "cus_A", D("49.00"), "EUR", "failed", "stolen_card", None, None, None, "visa", "FR", "fpF"),
    }  # fmt: skip
    assert got["ch_A1"]["attempted_at"] == datetime(2026, 1, 1, 10, 5)
    assert got["ch_F"]["attempted_at"] == datetime(2026, 2, 3, 9, 0)
    assert "ch_T" not in got  # test mode, in a live export


def test_subscriptions_invoices_and_involuntary_churn(mapped):
    rows, report, _ = mapped
    subs = _current(rows, "subscriptions", "subscription_id")
    assert subs["sub_A"] | {} == {
        "subscription_id": "sub_A", "customer_id": "cus_A", "plan": "Growth",
        "billing_interval": "month", "amount": D("49.00"), "currency": "EUR", "status": "past_due",
        "started_at": datetime(2025, 12, 1, 9), "canceled_at": None, "cancel_reason": None,
        "updated_at": datetime(2025, 12, 1, 9),
    }  # fmt: skip
    assert subs["sub_X"] == {
        "subscription_id": "sub_X", "customer_id": "cus_J", "plan": "Tokyo",
        "billing_interval": "month", "amount": D("5000.00"), "currency": "JPY",
        "status": "canceled", "started_at": datetime(2025, 12, 1, 9),
        "canceled_at": datetime(2026, 2, 20), "cancel_reason": "non_payment",  # payment_failed
        "updated_at": datetime(2026, 2, 20, 0, 0, 0, 1000),
    }  # fmt: skip
    assert subs["sub_U"]["status"] == "archived"  # unknown: passed through, counted
    assert report.unknown_values["subscriptions.status"] == {"archived": 1}

    invoices = _current(rows, "invoices", "invoice_id")
    assert invoices["in_J1"] == {
        "invoice_id": "in_J1", "subscription_id": "sub_X",  # from parent.subscription_details
        "customer_id": "cus_J", "currency": "JPY", "amount_due": D("5000.00"),
        "amount_paid": D("0.00"), "issued_at": datetime(2026, 1, 1),
        "due_at": datetime(2026, 1, 31),  # send_invoice: its due date
        "paid_at": None, "status": "uncollectible", "written_off_at": datetime(2026, 2, 20),
        "billing_reason": "subscription_cycle", "updated_at": datetime(2026, 2, 20, 0, 0, 0, 2000),
    }  # fmt: skip
    assert (invoices["in_A2"]["status"], invoices["in_A2"]["due_at"]) == (
        "open",
        datetime(2026, 2, 1, 10),
    )
    # the identical open invoice in the events dump is the same version, not a new one
    assert len({r["updated_at"] for r in rows["invoices"] if r["invoice_id"] == "in_A2"}) == 1


def test_disputes_refunds_and_newest_state(mapped):
    rows, _, _ = mapped
    disputes = _current(rows, "disputes", "dispute_id")
    assert disputes == {
        "dp_1": {
            "dispute_id": "dp_1", "attempt_id": "ch_A2", "customer_id": "cus_A", "amount": D("49.00"),
            "currency": "EUR", "kind": "chargeback", "reason": "fraudulent",
            "opened_at": datetime(2026, 1, 20, 12), "status": "lost",
            "closed_at": datetime(2026, 3, 1),  # the charge.dispute.closed event's time
            "updated_at": datetime(2026, 3, 1, 0, 0, 0, 4000),
        },
        "issfr_1": {
            "dispute_id": "issfr_1", "attempt_id": "ch_A2", "customer_id": "cus_A", "amount": D("49.00"),
            "currency": "EUR", "kind": "fraud_report", "reason": "made_with_stolen_card",
            "opened_at": datetime(2026, 1, 18), "status": "closed", "closed_at": None,
            "updated_at": datetime(2026, 1, 18),
        },
    }  # fmt: skip
    refund_versions = sorted((r["updated_at"], r["status"]) for r in rows["refunds"])
    assert refund_versions == [
        (datetime(2026, 2, 11, 9), "pending"),
        (datetime(2026, 2, 12, 9, 0, 0, 1000), "succeeded"),  # refund.updated event time + 1 ms
    ]


def test_payment_method_update_after_expiry_and_placeholder(mapped):
    rows, report, read_report = mapped
    assert [
        (r["update_id"], r["occurred_at"], r["reason"]) for r in rows["payment_method_updates"]
    ] == [
        ("pm_A2", datetime(2026, 2, 5, 18), "expired_card")  # pm_A1's card expired end of Jan 2026
    ]
    placeholder = [r for r in rows["customers"] if r["customer_id"] == "cus_missing"]
    assert placeholder == [{
        "customer_id": "cus_missing", "email": None, "name": None, "country": None,
        "verification_status": None, "created_at": datetime(2026, 2, 10, 12),  # first reference
        "updated_at": datetime(2000, 1, 1), "_source": "_placeholders",
    }]  # fmt: skip
    assert report.orphan_counts() == {
        "payment_attempts.customer_id → customers": 1,
        "payment_attempts.invoice_id → invoices": 1,
        "refunds.customer_id → customers": 1,
    }
    assert report.excluded == {"charge: test mode": 1, "refund: its charge is in the other mode": 1}
    assert read_report.unreadable == [
        "2026-03-02_events: line 5: invalid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_livemode_choice(source):
    report = MappingReport("x")
    observations = read_stripe_source(source, report)
    rows, _ = map_stripe_observations(observations, livemode="test")
    assert [r["attempt_id"] for r in rows["payment_attempts"]] == ["ch_T"]
    assert [r["refund_id"] for r in rows["refunds"]] == ["re_T"]
    rows, _ = map_stripe_observations(observations, livemode="all")
    assert len({r["attempt_id"] for r in rows["payment_attempts"]}) == 7
    with pytest.raises(ValueError, match="livemode"):
        map_stripe_observations(observations, livemode="prod")


def _load_all(con, settings_landing, rejected):
    for entity in ENTITIES:
        ingest.load_entity(con, entity.name, settings_landing, rejected)


def test_loaded_warehouse_and_orphan_release(source, tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    first = import_stripe(source, landing)
    assert first.written and not first.removed
    con = ingest.connect(tmp_path / "warehouse.duckdb")
    _load_all(con, landing, rejected)

    def current(entity, key, cols):
        return con.execute(
            f"select {key}, {cols} from raw.{entity} qualify row_number() over "
            f"(partition by {key} order by updated_at desc) = 1 order by {key}"
        ).fetchall()

    assert current("customers", "customer_id", "name") == [
        ("cus_A", "Alice Example"),
        ("cus_J", "Jun Example"),
        ("cus_missing", None),
    ]
    assert current("subscriptions", "subscription_id", "status, cancel_reason") == [
        ("sub_A", "past_due", None),
        ("sub_X", "canceled", "non_payment"),
    ]
    assert current("invoices", "invoice_id", "status, amount_due") == [
        ("in_A1", "paid", D("49.00")),
        ("in_A2", "open", D("49.00")),
        ("in_J1", "uncollectible", D("5000.00")),
    ]
    assert [r[0] for r in current("payment_attempts", "attempt_id", "outcome")] == [
        "ch_A1",
        "ch_A2",
        "ch_A3",
        "ch_F",
        "ch_J1",
    ]
    assert current("disputes", "dispute_id", "status") == [("dp_1", "lost"), ("issfr_1", "closed")]
    assert con.execute(
        "select count(*) from raw.disputes where dispute_id = 'dp_1'"
    ).fetchone() == (2,)
    quarantined = con.execute(
        "select entity, json_extract_string(record, '$.' || case entity when 'refunds' then 'refund_id' "
        "when 'payment_attempts' then 'attempt_id' else 'subscription_id' end), reason_code, reason "
        "from raw._quarantine order by 1, 2, reason"
    ).fetchall()
    assert quarantined == [
        ("payment_attempts", "ch_O", "unknown_reference", "unknown invoice_id 'in_missing' (no such invoice)"),
        ("refunds", "re_1", "unknown_reference", "unknown attempt_id 'ch_O' (no such payment attempt)"),
        ("refunds", "re_1", "unknown_reference", "unknown attempt_id 'ch_O' (no such payment attempt)"),
        ("subscriptions", "sub_U", "invalid",
         "unknown status 'archived' (allowed: trialing, active, past_due, unpaid, canceled, paused, incomplete)"),
    ]  # fmt: skip

    # The missing invoice arrives in a later dump: the orphans held back load, nothing is lost.
    later = {
        "id": "in_missing", "object": "invoice", "livemode": True, "customer": "cus_A",
        "subscription": "sub_A", "currency": "usd", "amount_due": 1500, "amount_paid": 1500,
        "status": "paid", "created": ts("2026-02-10 11:00"),
        "status_transitions": {"finalized_at": ts("2026-02-10 11:00"), "paid_at": ts("2026-02-10 12:00")},
    }  # fmt: skip
    (source / "2026-03-03_invoice.json").write_text(json.dumps(later))
    try:
        second = import_stripe(source, landing)
        _load_all(con, landing, rejected)
    finally:
        (source / "2026-03-03_invoice.json").unlink()
    # the new file, and the charges file: ch_O's invoice is now known, so is its trigger
    assert sorted(p.name for p in second.written) == [
        "stripe--2026-03-01_charges.parquet",
        "stripe--2026-03-03_invoice.parquet",
    ]
    assert con.execute(
        "select attempt_id from raw.payment_attempts where attempt_id = 'ch_O'"
    ).fetchall() == [("ch_O",)]
    assert con.execute(
        "select status from raw.refunds where refund_id = 're_1' order by updated_at"
    ).fetchall() == [("pending",), ("succeeded",)]
    con.close()


def test_a_malformed_object_is_reported_not_fatal():
    from orchestration.connectors.stripe_objects import observations_from_json

    broken = {"id": "sub_bad", "object": "subscription", "customer": "cus_A", "status": "active",
              "created": ts("2026-01-01 00:00"), "items": ["not", "a", "list object"]}  # fmt: skip
    fine = {"id": "cus_A", "object": "customer", "created": ts("2025-12-01 09:00")}
    rows, report = map_stripe_observations(observations_from_json([broken, fine], "dump"))
    assert [r["customer_id"] for r in rows["customers"]] == ["cus_A"]
    assert "subscriptions" not in rows
    assert len(report.unreadable) == 1 and report.unreadable[0].startswith(
        "dump: subscription sub_bad: not mapped"
    )
