"""A tiny, consistent billing history written straight into raw tables (no landing files).

Two customers, two subscriptions, three invoices (one paid, one open, one past due), four
payment attempts and one record of every other entity — enough for every raw check to have
something to look at, small enough to work out every expected number by hand.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from orchestration import ingest
from orchestration.contract import ENTITY_BY_NAME

# The reference "now" of the fixture: the newest record is 6 hours older.
NOW = dt.datetime(2026, 3, 31, 12, 0, 0)
LOADED_AT = dt.datetime(2026, 3, 31, 6, 0, 0)

ROWS: dict[str, list[dict]] = {
    "customers": [
        dict(customer_id="c1", email="a@x.io", name="Ann", country="DE",
             verification_status="verified", created_at="2026-01-01", updated_at="2026-01-01"),
        dict(customer_id="c2", email="b@x.io", name="Bob", country="FR",
             verification_status="unverified", created_at="2026-01-02", updated_at="2026-01-02"),
    ],
    "subscriptions": [
        dict(subscription_id="s1", customer_id="c1", plan="growth", billing_interval="month",
             amount=49, currency="EUR", status="active", started_at="2026-01-01",
             updated_at="2026-01-01"),
        dict(subscription_id="s2", customer_id="c2", plan="starter", billing_interval="month",
             amount=19, currency="EUR", status="past_due", started_at="2026-01-02",
             updated_at="2026-03-05"),
    ],
    "invoices": [
        # i1 arrives open, then a newer version says paid: the paid version is current.
        dict(invoice_id="i1", subscription_id="s1", customer_id="c1", currency="EUR",
             amount_due=49, amount_paid=0, issued_at="2026-02-01", due_at="2026-02-08",
             status="open", billing_reason="subscription_cycle", updated_at="2026-02-01"),
        dict(invoice_id="i1", subscription_id="s1", customer_id="c1", currency="EUR",
             amount_due=49, amount_paid=49, issued_at="2026-02-01", due_at="2026-02-08",
             paid_at="2026-02-03", status="paid", billing_reason="subscription_cycle",
             updated_at="2026-02-03"),
        dict(invoice_id="i2", subscription_id="s2", customer_id="c2", currency="EUR",
             amount_due=19, amount_paid=0, issued_at="2026-02-02", due_at="2026-02-09",
             status="open", billing_reason="subscription_cycle", updated_at="2026-02-02"),
        dict(invoice_id="i3", subscription_id="s1", customer_id="c1", currency="EUR",
             amount_due=49, amount_paid=0, issued_at="2026-03-01", due_at="2026-04-08",
             status="open", billing_reason="subscription_cycle", updated_at="2026-03-31 06:00"),
    ],
    "payment_attempts": [
        dict(attempt_id="a1", invoice_id="i1", customer_id="c1", attempted_at="2026-02-01 10:00",
             amount=49, currency="EUR", payment_method="card", card_brand="visa",
             processor="adyen", outcome="failed", decline_code="insufficient_funds",
             attempt_number=1, trigger="scheduled", used_3ds=False,
             updated_at="2026-02-01 10:00"),
        dict(attempt_id="a2", invoice_id="i1", customer_id="c1", attempted_at="2026-02-03 10:00",
             amount=49, currency="EUR", payment_method="card", card_brand="visa",
             processor="adyen", outcome="succeeded", attempt_number=2, trigger="automatic_retry",
             used_3ds=False, updated_at="2026-02-03 10:00"),
        dict(attempt_id="a3", invoice_id="i2", customer_id="c2", attempted_at="2026-02-02 10:00",
             amount=19, currency="EUR", payment_method="card", card_brand="mastercard",
             processor="adyen", outcome="failed", decline_code="expired_card",
             attempt_number=1, trigger="scheduled", used_3ds=True,
             updated_at="2026-02-02 10:00"),
        dict(attempt_id="a4", invoice_id="i2", customer_id="c2", attempted_at="2026-03-31 06:00",
             amount=19, currency="EUR", payment_method="card", card_brand="mastercard",
             processor="adyen", outcome="failed", decline_code="do_not_honor",
             attempt_number=2, trigger="automatic_retry", used_3ds=True,
             updated_at="2026-03-31 06:00"),
    ],
    "payment_method_updates": [
        dict(update_id="u1", customer_id="c2", occurred_at="2026-02-05", previous_method="card",
             new_method="sepa_debit", reason="after_decline", updated_at="2026-02-05"),
    ],
    "dunning_messages": [
        dict(message_id="m1", customer_id="c2", invoice_id="i2", channel="email",
             template="payment_failed", sent_at="2026-02-02 11:00", opened_at="2026-02-02 12:00",
             updated_at="2026-02-02 12:00"),
    ],
    "payment_plans": [
        dict(payment_plan_id="pp1", customer_id="c2", invoice_id="i2", kind="instalments",
             agreed_at="2026-02-10", total_amount=19, currency="EUR", instalment_count=2,
             status="active", updated_at="2026-02-10"),
    ],
    "payment_plan_instalments": [
        dict(instalment_id="in1", payment_plan_id="pp1", sequence=1, due_at="2026-02-20",
             amount=9.5, currency="EUR", updated_at="2026-02-10"),
        dict(instalment_id="in2", payment_plan_id="pp1", sequence=2, due_at="2026-03-20",
             amount=9.5, currency="EUR", updated_at="2026-02-10"),
    ],
    "escalations": [
        dict(escalation_id="e1", invoice_id="i2", customer_id="c2", escalated_at="2026-03-15",
             stage="collections_agency", agency="Acme", updated_at="2026-03-15"),
    ],
    "disputes": [
        dict(dispute_id="d1", attempt_id="a2", customer_id="c1", amount=49, currency="EUR",
             kind="chargeback", reason="fraudulent", opened_at="2026-02-20", status="won",
             closed_at="2026-03-01", updated_at="2026-03-01"),
    ],
    "refunds": [
        dict(refund_id="r1", attempt_id="a2", customer_id="c1", amount=10, currency="EUR",
             refunded_at="2026-02-10", reason="requested_by_customer", status="succeeded",
             updated_at="2026-02-10"),
    ],
}  # fmt: skip


def insert(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    rows: list[dict],
    source_file: str,
    loaded_at: dt.datetime = LOADED_AT,
) -> None:
    """Append rows (missing columns null) to raw.<entity> with lineage, and a manifest entry."""
    columns = ENTITY_BY_NAME[entity].column_names
    placeholders = ", ".join("?" for _ in range(len(columns) + 3))
    for i, row in enumerate(rows, start=1):
        con.execute(
            f"insert into raw.{entity} values ({placeholders})",
            [row.get(c) for c in columns] + [source_file, i, loaded_at],
        )
    con.execute(
        "insert into raw._load_manifest values (?, ?, ?, 0, ?, ?, 0, 0, 'loaded', null, ?)",
        [source_file, entity, f"sha-{source_file}", len(rows), len(rows), loaded_at],
    )


def build_clean_raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set TimeZone = 'UTC'")
    ingest.create_raw_schema(con)
    for entity, rows in ROWS.items():
        insert(con, entity, rows, f"{entity}/2026-03-31.csv")
