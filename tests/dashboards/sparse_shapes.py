"""Tiny landing files for the sparse-warehouse matrix: the shapes a real first load can have.

Each shape is a few hand-written records per entity (contract columns only, optional ones left
out where a real export would lack them), written as one CSV per entity into a landing folder and
built by the real pipeline (tests/dashboards/conftest.py `sparse`). The numbers the tests expect
are derived by hand from these rows, in the comments next to them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    name: str
    rows: dict[str, list[dict[str, object]]]
    # Feeds left empty on purpose (an empty state must name them).
    missing: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _customers(*ids: str, at: datetime) -> list[dict[str, object]]:
    return [
        {"customer_id": c, "email": f"{c}@example.com", "name": c.upper(), "country": "DE",
         "created_at": _ts(at), "updated_at": _ts(at)}
        for c in ids
    ]  # fmt: skip


def _attempt(attempt_id, customer_id, at, amount, *, currency="EUR", invoice_id=None,
             decline_code=None, trigger="scheduled") -> dict[str, object]:  # fmt: skip
    return {
        "attempt_id": attempt_id, "invoice_id": invoice_id or "", "customer_id": customer_id,
        "attempted_at": _ts(at), "amount": f"{amount:.2f}", "currency": currency,
        "payment_method": "card", "card_brand": "visa", "card_country": "DE",
        "processor": "stripe", "outcome": "failed" if decline_code else "succeeded",
        "decline_code": decline_code or "", "trigger": trigger, "updated_at": _ts(at),
    }  # fmt: skip


def customers_only() -> Shape:
    """A CRM export and nothing else: 2 customers, no billing at all."""
    return Shape(
        "customers_only",
        {"customers": _customers("cus_a", "cus_b", at=datetime(2026, 3, 1, 10))},
        missing=("subscriptions", "invoices", "payment_attempts"),
    )


# invoices_without_subscriptions: one-off invoices (a billing feed without its subscriptions),
# and no charges yet. As of 2026-06-20 12:00 (the newest updated_at):
#   inv_1 cus_a 100.00, due 2026-05-18, open  -> 33 days past due
#   inv_2 cus_b  50.00, due 2026-05-24, paid 2026-05-12
#   inv_3 cus_a  30.00, due 2026-06-15, open  ->  5 days past due
# Past due 130.00 of 130.00 open -> delinquency rate 100.0 %, past-due amount €130.
def invoices_without_subscriptions() -> Shape:
    def invoice(invoice_id, customer_id, amount, issued, due, paid=None, updated=None):
        return {
            "invoice_id": invoice_id, "customer_id": customer_id, "currency": "EUR",
            "amount_due": f"{amount:.2f}", "amount_paid": f"{amount if paid else 0:.2f}",
            "issued_at": _ts(issued), "due_at": _ts(due), "paid_at": _ts(paid) if paid else "",
            "status": "paid" if paid else "open", "billing_reason": "manual",
            "updated_at": _ts(updated or paid or issued),
        }  # fmt: skip

    return Shape(
        "invoices_without_subscriptions",
        {
            "customers": _customers("cus_a", "cus_b", at=datetime(2026, 5, 1, 9)),
            "invoices": [
                invoice("inv_1", "cus_a", 100, datetime(2026, 5, 4, 9), datetime(2026, 5, 18, 9)),
                invoice(
                    "inv_2",
                    "cus_b",
                    50,
                    datetime(2026, 5, 10, 9),
                    datetime(2026, 5, 24, 9),
                    paid=datetime(2026, 5, 12, 9),
                ),  # fmt: skip
                invoice(
                    "inv_3",
                    "cus_a",
                    30,
                    datetime(2026, 6, 1, 9),
                    datetime(2026, 6, 15, 9),
                    updated=datetime(2026, 6, 20, 12),
                ),  # fmt: skip
            ],
        },
        missing=("subscriptions", "payment_attempts"),
    )


# attempts_without_invoices: charges with no invoice at all (one-off charges, a payments-only
# export) on 2026-04-10, and one dispute. 6 attempts, 4 declined -> the failure chart's day
# window holds 6 attempts and 4 failures; the daily disputes chart 1 chargeback.
def attempts_without_invoices() -> Shape:
    day = datetime(2026, 4, 10, 10)
    declines = ["insufficient_funds", None, "do_not_honor", "insufficient_funds", None,
                "expired_card"]  # fmt: skip
    attempts = [
        _attempt(
            f"ch_{i}",
            "cus_a" if i % 2 else "cus_b",
            day + timedelta(minutes=5 * i),
            20,
            decline_code=code,
            trigger="customer_initiated",
        )  # fmt: skip
        for i, code in enumerate(declines, start=1)
    ]
    dispute = {
        "dispute_id": "dp_1", "attempt_id": "ch_2", "customer_id": "cus_b", "amount": "20.00",
        "currency": "EUR", "kind": "chargeback", "reason": "fraudulent",
        "opened_at": _ts(datetime(2026, 4, 20, 8)), "status": "needs_response",
        "updated_at": _ts(datetime(2026, 4, 20, 8)),
    }  # fmt: skip
    return Shape(
        "attempts_without_invoices",
        {
            "customers": _customers("cus_a", "cus_b", at=datetime(2026, 4, 1, 9)),
            "payment_attempts": attempts,
            "disputes": [dispute],
        },
        missing=("subscriptions", "invoices"),
    )


# one_day_usd: a new US account's first day, everything on 2026-07-15 and in USD (the only
# currency; amounts are reported in EUR). 3 monthly subscriptions of $20, 3 invoices, 4 attempts
# of which 3 declined (one retry).
def one_day_usd() -> Shape:
    day = datetime(2026, 7, 15)
    subscriptions, invoices = [], []
    for n, paid in ((1, True), (2, False), (3, False)):
        subscriptions.append({
            "subscription_id": f"sub_{n}", "customer_id": f"cus_{n}", "plan": "starter",
            "billing_interval": "month", "amount": "20.00", "currency": "USD",
            "status": "active" if paid else "past_due", "started_at": _ts(day.replace(hour=9)),
            "updated_at": _ts(day.replace(hour=15, minute=30)),
        })  # fmt: skip
        invoices.append({
            "invoice_id": f"inv_{n}", "subscription_id": f"sub_{n}", "customer_id": f"cus_{n}",
            "currency": "USD", "amount_due": "20.00", "amount_paid": "20.00" if paid else "0.00",
            "issued_at": _ts(day.replace(hour=9)), "due_at": _ts(day.replace(hour=9)),
            "paid_at": _ts(day.replace(hour=9, minute=1)) if paid else "",
            "status": "paid" if paid else "open", "billing_reason": "subscription_create",
            "updated_at": _ts(day.replace(hour=15, minute=30)),
        })  # fmt: skip
    attempts = [
        _attempt("pa_1", "cus_1", day.replace(hour=9, minute=1), 20, currency="USD",
                 invoice_id="inv_1"),
        _attempt("pa_2", "cus_2", day.replace(hour=9, minute=1), 20, currency="USD",
                 invoice_id="inv_2", decline_code="insufficient_funds"),
        _attempt("pa_3", "cus_3", day.replace(hour=9, minute=2), 20, currency="USD",
                 invoice_id="inv_3", decline_code="do_not_honor"),
        _attempt("pa_4", "cus_2", day.replace(hour=15), 20, currency="USD", invoice_id="inv_2",
                 decline_code="insufficient_funds", trigger="automatic_retry"),
    ]  # fmt: skip
    return Shape(
        "one_day_usd",
        {
            "customers": _customers("cus_1", "cus_2", "cus_3", at=day.replace(hour=8)),
            "subscriptions": subscriptions,
            "invoices": invoices,
            "payment_attempts": attempts,
        },
        missing=("disputes",),
    )


def _month_starts(first: date, count: int) -> list[date]:
    months, year, month = [], first.year, first.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# three_years: two €10 monthly subscriptions since 2023-10-01, 36 monthly invoices each
# (2023-10 .. 2026-09), charged and paid on the issue day, except sub_b's last two (Aug and Sep
# 2026), which stay open; sub_b is cancelled for non-payment on 2026-10-15. Card checks of
# cus_a ran on 2023-08-20, before any invoice (the date range must reach them). As of
# 2026-11-10 (the last updated_at): October 2026 had 2 active subscriptions at its start and 1
# involuntary cancellation -> involuntary churn 50.00 %; past due €20 (both open invoices).
def three_years() -> Shape:
    subscriptions = [
        {"subscription_id": sub, "customer_id": cus, "plan": "basic", "billing_interval": "month",
         "amount": "10.00", "currency": "EUR", "status": "canceled" if sub == "sub_b" else "active",
         "started_at": "2023-10-01T00:00:00Z",
         "canceled_at": "2026-10-15T00:00:00Z" if sub == "sub_b" else "",
         "cancel_reason": "non_payment" if sub == "sub_b" else "",
         "updated_at": "2026-11-10T00:00:00Z"}
        for sub, cus in (("sub_a", "cus_a"), ("sub_b", "cus_b"))
    ]  # fmt: skip
    invoices, attempts = [], []
    for month in _month_starts(date(2023, 10, 1), 36):
        issued = datetime(month.year, month.month, 1, 6)
        for sub, cus in (("sub_a", "cus_a"), ("sub_b", "cus_b")):
            paid = not (sub == "sub_b" and month >= date(2026, 8, 1))
            invoice_id = f"inv_{sub}_{month:%Y%m}"
            invoices.append({
                "invoice_id": invoice_id, "subscription_id": sub, "customer_id": cus,
                "currency": "EUR", "amount_due": "10.00",
                "amount_paid": "10.00" if paid else "0.00", "issued_at": _ts(issued),
                "due_at": _ts(issued + timedelta(days=14)),
                "paid_at": _ts(issued + timedelta(hours=1)) if paid else "",
                "status": "paid" if paid else "open", "billing_reason": "subscription_cycle",
                "updated_at": _ts(issued + timedelta(hours=1)),
            })  # fmt: skip
            if paid:
                attempts.append(_attempt(f"pa_{sub}_{month:%Y%m}", cus,
                                         issued + timedelta(hours=1), 10, invoice_id=invoice_id))  # fmt: skip
    early = datetime(2023, 8, 20, 12)
    attempts += [
        _attempt("ch_check_1", "cus_a", early, 1, decline_code="incorrect_cvc",
                 trigger="card_verification"),
        _attempt("ch_check_2", "cus_a", early + timedelta(minutes=2), 1,
                 trigger="card_verification"),
    ]  # fmt: skip
    return Shape(
        "three_years",
        {
            "customers": _customers("cus_a", "cus_b", at=datetime(2023, 8, 20, 11)),
            "subscriptions": subscriptions,
            "invoices": invoices,
            "payment_attempts": attempts,
        },
        missing=("disputes",),
    )


# all_invoices_zero: a trial-only account. Two trialing subscriptions whose invoices are 0.00
# (paid at issue; Stripe makes no charge). 0.00 invoices are not receivables: nothing open, no
# past due, no charges.
def all_invoices_zero() -> Shape:
    subscriptions, invoices = [], []
    for n in (1, 2):
        issued = datetime(2026, 2, n, 10)
        subscriptions.append({
            "subscription_id": f"sub_{n}", "customer_id": f"cus_{n}", "plan": "pro",
            "billing_interval": "month", "amount": "49.00", "currency": "EUR",
            "status": "trialing", "started_at": _ts(issued), "updated_at": _ts(issued),
        })  # fmt: skip
        invoices.append({
            "invoice_id": f"inv_{n}", "subscription_id": f"sub_{n}", "customer_id": f"cus_{n}",
            "currency": "EUR", "amount_due": "0.00", "amount_paid": "0.00",
            "issued_at": _ts(issued), "due_at": _ts(issued), "paid_at": _ts(issued),
            "status": "paid", "billing_reason": "subscription_create", "updated_at": _ts(issued),
        })  # fmt: skip
    return Shape(
        "all_invoices_zero",
        {
            "customers": _customers("cus_1", "cus_2", at=datetime(2026, 2, 1, 9)),
            "subscriptions": subscriptions,
            "invoices": invoices,
        },
        missing=("payment_attempts",),
    )


SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        customers_only(), invoices_without_subscriptions(), attempts_without_invoices(),
        one_day_usd(), three_years(), all_invoices_zero(),
    )
}  # fmt: skip


def write_landing(shape: Shape, landing_dir: Path) -> None:
    """One CSV per entity, header = the columns the shape's rows use."""
    for entity, rows in shape.rows.items():
        folder = landing_dir / entity
        folder.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(name for row in rows for name in row))
        with (folder / f"{shape.name}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
