"""The `realistic` profile: shapes real billing exports have and a clean simulation does not.

Added on top of the simulated business, as records of their own (customers `cus_rw…`), so each
shape is countable by hand: $0 trial invoices, 100 %-off coupon invoices (one never closed by
the billing system), a one-second clock skew between `paid_at` and `issued_at`, guest customers
with one-off invoices and their payment attempts, one-off charges without an invoice, a
multi-year backfill, and two events further out of order than the contract's clock-skew
tolerance (a misread time zone), which ingestion quarantines. One *unit* of these per 100
customers (at least one). See docs/sample_data.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa

from orchestration.contract import ENTITY_BY_NAME
from orchestration.generator.columns import arrow_schema

_EPOCH = datetime(1970, 1, 1)

# What one unit adds: records per entity, and the shapes a test can count.
PER_UNIT = {
    "customers": 5,
    "subscriptions": 4,  # + one newer version of the trial subscription
    "invoices": 10,
    "payment_attempts": 8,
    "dunning_messages": 2,
}
SHAPES_PER_UNIT = {
    "zero_amount_invoices": 3,  # a trial, a paid coupon, an open coupon never closed
    "skewed_within_tolerance": 1,  # paid_at one second before issued_at: loads
    "guest_customers": 1,
    "one_off_invoices": 1,
    "one_off_invoice_attempts": 2,
    "charges_without_invoice": 1,
    "backfill_invoices": 3,  # yearly, 1 to 3 years before the window
    "quarantined_beyond_tolerance": 2,  # paid 2 h before issue; opened 1 h before sent
}


def units(customers: int) -> int:
    return max(1, customers // 100)


def add_realistic_shapes(writer, customers: int, t0: int, t1: int, rng) -> dict[str, int]:
    """Write the profile's records through the sample's writer; returns the shapes' counts."""
    rows: dict[str, list[dict]] = defaultdict(list)
    start = _EPOCH + timedelta(seconds=t0)
    span = (t1 - t0) // 86400
    n = units(customers)
    for u in range(n):
        # A day in the window leaving a month for the trial and the coupons to play out.
        day = int(rng.integers(10, max(11, span - 31)))
        minute = int(rng.integers(6 * 60, 20 * 60))
        _unit(rows, f"{u:04d}", start + timedelta(days=day, minutes=minute), start, rng)
    for entity, records in rows.items():
        assert len(records) == PER_UNIT[entity] * n + (n if entity == "subscriptions" else 0)
        table = pa.Table.from_pylist(records, schema=arrow_schema(ENTITY_BY_NAME[entity]))
        updated = np.array([int((r["updated_at"] - _EPOCH).total_seconds()) for r in records])
        writer.write(entity, table, updated)
    return {shape: count * n for shape, count in SHAPES_PER_UNIT.items()}


def _unit(rows, u: str, t: datetime, window_start: datetime, rng) -> None:
    customers, subs = rows["customers"], rows["subscriptions"]
    invoices, attempts, messages = rows["invoices"], rows["payment_attempts"], rows["dunning_messages"]  # fmt: skip
    s, day = timedelta(seconds=1), timedelta(days=1)

    def customer(name: str, created: datetime, country: str = "IE") -> str:
        cid = f"cus_rw{u}{name}"
        customers.append({"customer_id": cid, "email": f"{cid}@example.com",
                          "name": f"Realistic {name.title()} {u}", "country": country,
                          "verification_status": "verified", "created_at": created,
                          "updated_at": created})  # fmt: skip
        return cid

    def subscription(cid, name, plan, started, interval="month", amount="19.00", **extra):
        sid = f"sub_rw{u}{name}"
        subs.append({"subscription_id": sid, "customer_id": cid, "plan": plan,
                     "billing_interval": interval, "amount": Decimal(amount), "currency": "EUR",
                     "status": "active", "started_at": started, "updated_at": started,
                     **extra})  # fmt: skip
        return sid

    def invoice(iid, cid, sid, amount, issued, paid_at=None, *, reason="subscription_cycle",
                status=None, currency="EUR", due=None, updated=None):  # fmt: skip
        paid = paid_at is not None
        invoices.append({
            "invoice_id": f"in_rw{u}{iid}", "subscription_id": sid, "customer_id": cid,
            "currency": currency, "amount_due": Decimal(amount),
            "amount_paid": Decimal(amount) if paid else Decimal("0.00"), "issued_at": issued,
            "due_at": due or issued, "paid_at": paid_at, "status": status or ("paid" if paid else "open"),
            "billing_reason": reason, "updated_at": updated or max(issued, paid_at or issued),
        })  # fmt: skip
        return f"in_rw{u}{iid}"

    def attempt(aid, cid, iid, amount, at, outcome="succeeded", currency="EUR", **extra):
        attempts.append({
            "attempt_id": f"ch_rw{u}{aid}", "invoice_id": iid, "customer_id": cid,
            "attempted_at": at, "amount": Decimal(amount), "currency": currency,
            "payment_method": "card", "card_brand": "visa", "card_country": "IE",
            "processor": "stripe", "outcome": outcome, "attempt_number": 1 if iid else None,
            "trigger": "scheduled" if iid else "customer_initiated", "used_3ds": False,
            "updated_at": at, **extra,
        })  # fmt: skip

    # A 14-day free trial: a $0 invoice at sign-up, the first paid one when the trial ends.
    trial = customer("trial", t)
    sid = subscription(trial, "trial", "rw_trial", t, status="trialing")
    subs.append({**subs[-1], "status": "active", "updated_at": t + 14 * day})
    invoice("trial0", trial, sid, "0.00", t, t, reason="subscription_create")
    paid = t + 14 * day + 5 * s
    first = invoice("trial1", trial, sid, "19.00", t + 14 * day, paid)
    attempt("trial1", trial, first, "19.00", paid)

    # A 100 %-off coupon: $0 invoices; the billing system never closed the second one.
    coupon = customer("coupon", t + 2 * s)
    sid = subscription(coupon, "coupon", "rw_coupon", t + 2 * s)
    invoice("coupon1", coupon, sid, "0.00", t + 2 * s, t + 2 * s)
    invoice("coupon2", coupon, sid, "0.00", t + 2 * s + 30 * day, due=t + 2 * s + 30 * day)

    # The source's two clocks disagree by a second (Stripe's paid_at before finalized_at), and
    # once by two hours (a time zone misread): the first loads, the second is quarantined.
    skewed = customer("skew", t + 4 * s)
    sid = subscription(skewed, "skew", "rw_skew", t + 4 * s, amount="49.00")
    issued = t + 4 * s + 5 * day
    iid = invoice("skew1", skewed, sid, "49.00", issued, issued - s, updated=issued)
    attempt("skew1", skewed, iid, "49.00", issued - s)
    invoice("skew2", skewed, sid, "49.00", issued + 30 * day, issued + 30 * day - 2 * 3600 * s,
            updated=issued + 30 * day)  # fmt: skip

    # A guest: no subscription, a one-off invoice paid on the second attempt, a dunning e-mail
    # (and one whose open is stamped an hour before its send), and a charge without invoice.
    guest = customer("guest", t + 6 * s, country="US")
    failed, paid = t + 6 * s + day, t + 6 * s + 2 * day
    iid = invoice("guest1", guest, None, "120.00", t + 6 * s, paid, reason="manual",
                  currency="USD", due=t + 6 * s + day)  # fmt: skip
    attempt("guest1a", guest, iid, "120.00", failed, "failed", "USD",
            decline_code="insufficient_funds", outcome_type="issuer_declined")  # fmt: skip
    attempt("guest1b", guest, iid, "120.00", paid, currency="USD", attempt_number=2,
            trigger="customer_initiated")  # fmt: skip
    messages.append({"message_id": f"msg_rw{u}guest1", "customer_id": guest, "invoice_id": iid,
                     "channel": "email", "template": "payment_failed", "sent_at": failed + 60 * s,
                     "opened_at": failed + 3600 * s, "updated_at": failed + 3600 * s})  # fmt: skip
    messages.append({"message_id": f"msg_rw{u}guest2", "customer_id": guest, "invoice_id": iid,
                     "channel": "email", "template": "final_notice", "sent_at": failed + 7200 * s,
                     "opened_at": failed + 3600 * s, "updated_at": failed + 7200 * s})  # fmt: skip
    attempt("guest2", guest, None, "15.00", paid + 3 * day, currency="USD")

    # A customer since years before the window: yearly invoices back to three years earlier.
    since = window_start - timedelta(days=3 * 365 + int(rng.integers(1, 60)))
    old = customer("backfill", since)
    sid = subscription(old, "backfill", "rw_backfill", since, interval="year", amount="190.00")
    for year in range(3):
        issued = since + timedelta(days=365 * year)
        iid = invoice(f"backfill{year}", old, sid, "190.00", issued, issued + 60 * s)
        attempt(f"backfill{year}", old, iid, "190.00", issued + 60 * s)
