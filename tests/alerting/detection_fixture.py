"""A crafted raw billing history whose anomalies are known exactly, for the detection models.

Fifteen weeks (Mon 2025-12-01 → Sun 2026-03-15) of hourly card payments with constant failure rates,
so every expected rate can be worked out by hand:

- processor `acme`: 40 attempts an hour, 4 fail (10 %) · `bolt`: 40 an hour, 2 fail (5 %)
- processor `tiny`: 5 an hour, one failure every other hour (10 %)
- attempts alternate visa / mastercard, cards from FR / DE / US, plans starter / growth.

Injected:
- OLD_OUTAGE: acme 2026-01-21 (Wed) 10:00–12:00, 32 of 40 fail.
- BIG_SPIKE: bolt 2026-02-26 (Thu) 15:00–17:00, 30 of 40 fail.
- OPEN_SPIKE: bolt 2026-03-15 22:00 → end of data, 30 of 40 fail (still open).
- LOW_VOLUME_SPIKE: tiny 2026-02-10 14:00, 3 of 5 fail (noise: no alert).
- CARD_TESTING: device `dev-attack`, 30 cards of BIN 411111 in 8 minutes on 2026-03-10 03:00,
  27 failing; and one customer trying two cards (normal: no alert).
- DISPUTE_SPIKE: one dispute a day, twelve on 2026-03-05.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.ingest import create_raw_schema

START, END = datetime(2025, 12, 1), datetime(2026, 3, 16)
OLD_OUTAGE = ("acme", datetime(2026, 1, 21, 10), datetime(2026, 1, 21, 12))
BIG_SPIKE = ("bolt", datetime(2026, 2, 26, 15), datetime(2026, 2, 26, 17))
OPEN_SPIKE = ("bolt", datetime(2026, 3, 15, 22), datetime(2026, 3, 16, 0))
LOW_VOLUME_SPIKE = ("tiny", datetime(2026, 2, 10, 14))
CARD_TESTING_START = datetime(2026, 3, 10, 3)
DISPUTE_SPIKE_DAY = datetime(2026, 3, 5)

LINEAGE = "'fixture' as _source_file, 1 as _source_row, timestamp '2026-03-16 01:00' as _loaded_at"


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw.*` and fill it with the crafted history."""
    create_raw_schema(con)
    con.execute(f"""
        insert into raw.customers by name
        select 'cus-' || i as customer_id, null as email, null as name, 'FR' as country,
               'verified' as verification_status, timestamp '2026-01-01' as created_at,
               timestamp '2026-01-01' as updated_at, {LINEAGE}
        from range(50) t(i)
        union all
        select 'cus-attacker', null, null, 'US', 'unverified', timestamp '2026-03-10 02:55',
               timestamp '2026-03-10 02:55', {LINEAGE}
    """)
    con.execute(f"""
        insert into raw.subscriptions by name
        select 'sub-' || i as subscription_id, 'cus-' || i as customer_id,
               case when i % 2 = 0 then 'starter' else 'growth' end as plan,
               'month' as billing_interval, 30.00 as amount, 'EUR' as currency, 'active' as status,
               timestamp '2026-01-01' as started_at, timestamp '2026-01-01' as updated_at, {LINEAGE}
        from range(10) t(i)
    """)
    # Billing attempts: one row per (hour, processor, i); failure rules as in the docstring.
    con.execute(f"""
        create temp table billing as
        with hours as (
            select ts from range(timestamp '{START}', timestamp '{END}', interval 1 hour) t(ts)
        ),
        slots as (
            select 'acme' as processor, i from range(40) t(i)
            union all select 'bolt', i from range(40) t(i)
            union all select 'tiny', i from range(5) t(i)
        )
        select
            slots.processor || '-' || strftime(hours.ts, '%Y%m%d%H') || '-' || slots.i as attempt_id,
            hours.ts + to_seconds(slots.i * 60) as attempted_at,
            slots.processor,
            slots.i,
            case
                when slots.processor = 'acme' and hours.ts >= timestamp '{OLD_OUTAGE[1]}'
                    and hours.ts < timestamp '{OLD_OUTAGE[2]}' then slots.i < 32
                when slots.processor = 'acme' then slots.i < 4
                when slots.processor = 'bolt' and (
                    (hours.ts >= timestamp '{BIG_SPIKE[1]}' and hours.ts < timestamp '{BIG_SPIKE[2]}')
                    or hours.ts >= timestamp '{OPEN_SPIKE[1]}') then slots.i < 30
                when slots.processor = 'bolt' then slots.i < 2
                when hours.ts = timestamp '{LOW_VOLUME_SPIKE[1]}' then slots.i < 3
                else slots.i = 0 and hour(hours.ts) % 2 = 0
            end as failed,
            -- The spike failures are processor errors; the everyday ones are the customer's.
            case
                when slots.processor = 'acme' and slots.i >= 4 then 'processing_error'
                when slots.processor = 'bolt' and slots.i >= 2 then 'processing_error'
                when slots.processor = 'bolt' then 'do_not_honor'
                else 'insufficient_funds'
            end as decline_code
        from hours cross join slots
    """)
    insert_invoices_of_billing(con, customers=10, lineage=LINEAGE)
    con.execute(f"""
        insert into raw.payment_attempts by name
        select attempt_id, 'inv-' || attempt_id as invoice_id, 'cus-' || (i % 10) as customer_id,
               attempted_at, 30.00 as amount, 'EUR' as currency, 'card' as payment_method,
               case when i % 2 = 0 then 'visa' else 'mastercard' end as card_brand,
               ['FR', 'DE', 'US'][i % 3 + 1] as card_country,
               '4970' || lpad((i % 10)::varchar, 2, '0') as card_bin,
               'fp-cus-' || (i % 10) as card_fingerprint, processor,
               case when failed then 'failed' else 'succeeded' end as outcome,
               case when failed then decline_code end as decline_code,
               1 as attempt_number, 'scheduled' as "trigger", false as used_3ds,
               attempted_at as updated_at, {LINEAGE}
        from billing
        union all
        -- Sign-up card checks: small, successful, one card each.
        select 'ver-' || i, null, 'cus-' || i, timestamp '2026-01-05 08:00' + to_hours(i * 30),
               1.00, 'EUR', 'card', 'visa', 'FR', '497000', 'fp-cus-' || i, 'acme', 'succeeded',
               null, 1, 'card_verification', false, attempted_at, {LINEAGE}
        from (select i, timestamp '2026-01-05 08:00' + to_hours(i * 30) as attempted_at
              from range(50) t(i))
        union all
        -- A customer whose first card fails and second works: two cards, not an attack.
        select 'ver-cus3-' || j, null, 'cus-3', timestamp '2026-02-02 09:00' + to_seconds(j * 60),
               1.00, 'EUR', 'card', 'visa', 'FR', '497003', 'fp-cus3-new-' || j, 'acme',
               case when j = 0 then 'failed' else 'succeeded' end,
               case when j = 0 then 'expired_card' end, 1, 'card_verification', false,
               timestamp '2026-02-02 09:00' + to_seconds(j * 60), {LINEAGE}
        from range(2) t(j)
        union all
        -- The attack: 30 cards of one BIN from one device in 8 minutes, 27 declined.
        select 'atk-' || j, null, 'cus-attacker', timestamp '{CARD_TESTING_START}' + to_seconds(j * 16),
               1.00, 'EUR', 'card', 'visa', 'US', '411111', 'fp-atk-' || j, 'acme',
               case when j < 3 then 'succeeded' else 'failed' end,
               case when j >= 3 then 'incorrect_number' end, 1, 'card_verification', false,
               timestamp '{CARD_TESTING_START}' + to_seconds(j * 16), {LINEAGE}
        from range(30) t(j)
    """)
    con.execute(
        "update raw.payment_attempts set device_id = 'dev-attack' where attempt_id like 'atk-%'"
    )
    con.execute(
        "update raw.payment_attempts set device_id = 'dev-cus3' where attempt_id like 'ver-cus3-%'"
    )
    # Disputes: the first successful acme attempts of 12:00 each day (i = 10, 12, ...), one a
    # day, twelve on the spike day.
    con.execute(f"""
        insert into raw.disputes by name
        select 'dp-' || attempt_id as dispute_id, attempt_id, 'cus-' || (i % 10) as customer_id,
               30.00 as amount, 'EUR' as currency,
               case when i % 4 = 0 then 'chargeback' else 'fraud_report' end as kind,
               'fraudulent' as reason,
               attempted_at + interval 3 hour as opened_at, 'needs_response' as status,
               attempted_at + interval 3 hour as updated_at, {LINEAGE}
        from billing
        where processor = 'acme' and hour(attempted_at) = 12 and not failed
          and (i = 10 or (attempted_at::date = date '{DISPUTE_SPIKE_DAY.date()}' and i between 10 and 21))
    """)


def insert_invoices_of_billing(
    con: duckdb.DuckDBPyConnection, customers: int, lineage: str
) -> None:
    """One 30.00 EUR invoice per row of the temp table `billing` (attempt_id, i, attempted_at,
    failed), issued a day before its attempt and due at it: paid by a successful attempt, open
    after a failed one. Shared by the monitoring fixtures, which differ in their attempts only."""
    con.execute(f"""
        insert into raw.invoices by name
        select 'inv-' || attempt_id as invoice_id, 'sub-' || (i % {customers}) as subscription_id,
               'cus-' || (i % {customers}) as customer_id, 'EUR' as currency, 30.00 as amount_due,
               case when failed then 0 else 30.00 end as amount_paid,
               attempted_at - interval 1 day as issued_at, attempted_at as due_at,
               case when failed then null else attempted_at end as paid_at,
               case when failed then 'open' else 'paid' end as status,
               'subscription_cycle' as billing_reason, attempted_at as updated_at, {lineage}
        from billing
    """)
