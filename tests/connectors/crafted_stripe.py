"""Crafted Stripe dumps for the failure paths the shared fixtures lack (all numbers hand-set).

The story, euro account `cus_A` and yen account `cus_J`:
- in_A1 (Jan, 49.00 EUR): ch_A1 fails with insufficient_funds, ch_A2 on the same card succeeds
  (3-D Secure authenticated); that charge is later disputed as fraud (lost) and was reported by
  the issuer first (early fraud warning).
- in_A2 (Feb, open, past due): ch_A3 fails, expired card; then a payment intent whose charge is
  not in the dump fails with stolen_card. The customer adds a new card (expired_card update).
- in_J1 (5000 JPY, send_invoice, due Jan 31): ch_J1 fails (do_not_honor); written off Feb 20;
  sub_X is cancelled for non-payment the same day.
- ch_O: a charge whose customer (cus_missing) and invoice (in_missing) are not in the export;
  refund re_1 on it is pending in the first dump and succeeded in the webhook events.
- ch_T: a test-mode charge mixed into the live dump, refunded (re_T). sub_U: an unknown status ("archived").
Dumps: a list response and a JSON array on day 1, JSON Lines webhook events on day 2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

# Collection facts added to the contract for issue 14. They have their own tests
# (test_collection_fields.py); the row-by-row tests written before them compare the rest.
COLLECTION_FACTS = frozenset({
    "delinquent", "balance", "balance_currency", "cancel_at_period_end",
    "collection_paused_behavior", "collection_resumes_at", "cancellation_feedback",
    "cancellation_comment", "amount_remaining", "attempt_count", "next_payment_attempt_at",
    "outcome_type", "risk_level", "failure_code", "failure_type", "failure_message",
    "card_funding", "cvc_check", "address_line1_check", "address_postal_code_check",
    "evidence_due_at",
})  # fmt: skip


def without_collection_facts(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in COLLECTION_FACTS}


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def card(brand, country, fingerprint, tds=None, exp=(2027, 12)):
    return {
        "brand": brand, "country": country, "fingerprint": fingerprint, "last4": "4242",
        "exp_year": exp[0], "exp_month": exp[1], "three_d_secure": tds, "funding": "credit",
    }  # fmt: skip


CARD_A = card("visa", "DE", "fpA", exp=(2026, 1))
CUSTOMER_A = {
    "id": "cus_A", "object": "customer", "livemode": True, "created": ts("2025-12-01 09:00"),
    "email": "alice@example.com", "name": "Alice Example", "address": {"country": "DE"},
}  # fmt: skip
CUSTOMER_J = {
    "id": "cus_J", "object": "customer", "livemode": True, "created": ts("2025-12-02 09:00"),
    "email": "jun@example.jp", "name": "Jun Example", "address": {"country": "JP"},
}  # fmt: skip
GROWTH = {
    "id": "price_growth", "object": "price", "livemode": True, "currency": "eur",
    "nickname": "Growth", "unit_amount": 4900, "product": "prod_growth",
    "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
}  # fmt: skip
YEN_PLAN = {
    "id": "price_yen", "object": "price", "livemode": True, "currency": "jpy",
    "nickname": None, "unit_amount": 5000, "product": {"id": "prod_jp", "object": "product", "name": "Tokyo"},
    "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
}  # fmt: skip


def subscription(sid, customer, price, status, **extra):
    base = {
        "id": sid, "object": "subscription", "livemode": True, "customer": customer,
        "status": status, "created": ts("2025-12-01 09:00"), "start_date": ts("2025-12-01 09:00"),
        "currency": price["currency"], "canceled_at": None, "ended_at": None,
        "cancellation_details": {"reason": None},
        "items": {"object": "list", "data": [{"object": "subscription_item", "id": f"si_{sid}",
                                              "price": price, "quantity": 1}]},
    }  # fmt: skip
    base.update(extra)
    return base


def invoice(iid, sub, customer, currency, amount, status, finalized, **extra):
    base = {
        "id": iid, "object": "invoice", "livemode": True, "customer": customer,
        "subscription": sub, "currency": currency, "amount_due": amount, "amount_paid": 0,
        "status": status, "collection_method": "charge_automatically", "due_date": None,
        "billing_reason": "subscription_cycle", "created": ts(finalized) - 3600, "attempt_count": 1,
        "status_transitions": {"finalized_at": ts(finalized), "paid_at": None,
                               "marked_uncollectible_at": None, "voided_at": None},
    }  # fmt: skip
    base.update(extra)
    return base


def charge(cid, customer, amount, currency, status, created, card_details, **extra):
    base = {
        "id": cid, "object": "charge", "livemode": True, "customer": customer, "amount": amount,
        "currency": currency, "status": status, "created": ts(created), "paid": status == "succeeded",
        "failure_code": None, "outcome": {"network_status": "approved_by_network", "reason": None,
                                          "type": "authorized"},
        "payment_method_details": {"type": "card", "card": card_details},
    }  # fmt: skip
    base.update(extra)
    return base


def declined(reason, failure_code="card_declined"):
    return {
        "failure_code": failure_code,
        "outcome": {
            "network_status": "declined_by_network",
            "reason": reason,
            "type": "issuer_declined",
        },
    }


DAY1_LIST = {
    "object": "list", "has_more": False, "url": "/v1/charges",
    "data": [
        charge("ch_A1", "cus_A", 4900, "eur", "failed", "2026-01-01 10:05", CARD_A,
               invoice="in_A1", **declined("insufficient_funds")),
        charge("ch_A2", "cus_A", 4900, "eur", "succeeded", "2026-01-04 08:00",
               card("visa", "DE", "fpA", tds={"result": "authenticated", "version": "2.2.0"}, exp=(2026, 1)),
               invoice="in_A1"),
        # 2025 API shape: no charge.invoice; the link is an invoice_payment object
        charge("ch_A3", "cus_A", 4900, "eur", "failed", "2026-02-01 10:05", CARD_A,
               **declined(None, failure_code="expired_card")),
        charge("ch_J1", dict(CUSTOMER_J), 5000, "jpy", "failed", "2026-01-15 03:00",
               card("jcb", "JP", "fpJ"), invoice="in_J1", **declined("do_not_honor")),
        charge("ch_O", "cus_missing", 1500, "usd", "succeeded", "2026-02-10 12:00",
               card("American Express", "US", "fpO"), invoice="in_missing"),
        charge("ch_T", "cus_A", 100, "eur", "succeeded", "2026-02-11 12:00", CARD_A,
               livemode=False),
    ],
}  # fmt: skip

DAY1_OBJECTS = [
    CUSTOMER_A,
    subscription("sub_A", "cus_A", GROWTH, "past_due"),
    subscription(
        "sub_X", "cus_J", YEN_PLAN, "canceled", canceled_at=ts("2026-02-20 00:00"),
        ended_at=ts("2026-02-20 00:00"), cancellation_details={"reason": "payment_failed"},
    ),
    subscription("sub_U", "cus_A", GROWTH, "archived"),
    invoice(
        "in_A1", "sub_A", "cus_A", "eur", 4900, "paid", "2026-01-01 10:00", amount_paid=4900,
        status_transitions={"finalized_at": ts("2026-01-01 10:00"), "paid_at": ts("2026-01-04 08:00"),
                            "marked_uncollectible_at": None, "voided_at": None},
    ),
    invoice("in_A2", "sub_A", "cus_A", "eur", 4900, "open", "2026-02-01 10:00"),
    invoice(
        "in_J1", None, "cus_J", "jpy", 5000, "uncollectible", "2026-01-01 00:00",
        collection_method="send_invoice", due_date=ts("2026-01-31 00:00"),
        parent={"type": "subscription_details", "subscription_details": {"subscription": "sub_X"}},
        status_transitions={"finalized_at": ts("2026-01-01 00:00"), "paid_at": None,
                            "marked_uncollectible_at": ts("2026-02-20 00:00"), "voided_at": None},
    ),
    {"id": "inpay_1", "object": "invoice_payment", "livemode": True, "invoice": "in_A2",
     "payment": {"type": "charge", "charge": "ch_A3"}, "created": ts("2026-02-01 10:05")},
    {"id": "pi_F", "object": "payment_intent", "livemode": True, "customer": "cus_A",
     "invoice": "in_A2", "amount": 4900, "currency": "eur", "created": ts("2026-02-03 09:00"),
     "status": "requires_payment_method", "latest_charge": "ch_F",
     "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "stolen_card",
                            "charge": "ch_F", "payment_method": {"id": "pm_F", "object": "payment_method",
                            "type": "card", "card": card("visa", "FR", "fpF")}}},
    {"id": "pm_A1", "object": "payment_method", "livemode": True, "customer": "cus_A", "type": "card",
     "created": ts("2025-12-01 09:00"), "card": CARD_A},
    {"id": "pm_A2", "object": "payment_method", "livemode": True, "customer": "cus_A", "type": "card",
     "created": ts("2026-02-05 18:00"), "card": card("mastercard", "DE", "fpA2")},
    {"id": "dp_1", "object": "dispute", "livemode": True, "charge": "ch_A2", "amount": 4900,
     "currency": "eur", "reason": "fraudulent", "status": "needs_response",
     "created": ts("2026-01-20 12:00"), "balance_transactions": [
         {"object": "balance_transaction", "amount": -4900, "created": ts("2026-01-20 12:00")}]},
    {"id": "issfr_1", "object": "radar.early_fraud_warning", "livemode": True, "charge": "ch_A2",
     "fraud_type": "made_with_stolen_card", "actionable": False, "created": ts("2026-01-18 00:00")},
    # no livemode field (as in some dumps): it follows its test-mode charge
    {"id": "re_T", "object": "refund", "charge": "ch_T", "amount": 100, "currency": "eur",
     "status": "succeeded", "created": ts("2026-02-11 13:00")},
    {"id": "re_1", "object": "refund", "livemode": True, "charge": "ch_O", "amount": 500,
     "currency": "usd", "reason": "requested_by_customer", "status": "pending",
     "created": ts("2026-02-11 09:00")},
]  # fmt: skip


def _obj(object_id: str) -> dict:
    return next(o for o in DAY1_OBJECTS if o["id"] == object_id)


def _event(eid, kind, created, obj):
    return {"id": eid, "object": "event", "type": kind, "created": ts(created),
            "data": {"object": obj, "previous_attributes": {"status": "stale"}}}  # fmt: skip


DAY2_EVENTS = [
    _event("evt_1", "refund.updated", "2026-02-12 09:00", {**_obj("re_1"), "status": "succeeded"}),
    _event(
        "evt_2", "charge.dispute.closed", "2026-03-01 00:00", {**_obj("dp_1"), "status": "lost"}
    ),
    # the same open invoice again: an identical state is not a new version
    _event("evt_3", "invoice.updated", "2026-02-02 00:00", _obj("in_A2")),
    _event("evt_4", "customer.created", "2025-12-02 09:00", CUSTOMER_J),
]


def write_crafted_stripe(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2026-03-01_charges.json").write_text(json.dumps(DAY1_LIST, indent=1))
    (folder / "2026-03-01_objects.json").write_text(json.dumps(DAY1_OBJECTS))
    (folder / "2026-03-02_events.jsonl").write_text(
        "\n".join(json.dumps(e) for e in DAY2_EVENTS) + "\n{not json\n"
    )
    return folder
