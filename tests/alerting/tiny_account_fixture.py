"""A tiny billing account with no history, for what monitoring can and cannot judge.

One day (Mon 2026-03-02), five customers on the `starter` plan, every attempt a 30 EUR visa card
payment from FR through processor `stripe`:
- 09:00–09:40: five payments, one every 10 minutes, all succeed;
- BURST: 14:00:00–14:12:50, fifteen payments 55 s apart, all declined (`generic_decline`, soft) —
  the 13-minute burst of 15/15 declines that monitoring once showed as nothing.

Segments: overall, payment_method card, processor stripe, card_brand visa, card_country FR,
plan starter, decline_class soft: 7 segments × 2 hours (5 and 15 attempts, below the 20-attempt
floor) and 7 × 1 day (20 attempts, no history).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from orchestration.ingest import create_raw_schema
from tests.alerting.detection_fixture import insert_invoices_of_billing

DAY = datetime(2026, 3, 2)
NORMAL_START = datetime(2026, 3, 2, 9)
BURST_START = datetime(2026, 3, 2, 14)
BURST_END = BURST_START + timedelta(seconds=14 * 55)  # the 15th attempt: 14:12:50

LINEAGE = "'fixture' as _source_file, 1 as _source_row, timestamp '2026-03-02 15:00' as _loaded_at"


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw.*` and fill it with the tiny account's day."""
    create_raw_schema(con)
    con.execute(f"""
        insert into raw.customers by name
        select 'cus-' || i as customer_id, null as email, null as name, 'FR' as country,
               'verified' as verification_status, timestamp '2026-02-01' as created_at,
               timestamp '2026-02-01' as updated_at, {LINEAGE}
        from range(5) t(i)
    """)
    con.execute(f"""
        insert into raw.subscriptions by name
        select 'sub-' || i as subscription_id, 'cus-' || i as customer_id, 'starter' as plan,
               'month' as billing_interval, 30.00 as amount, 'EUR' as currency, 'active' as status,
               timestamp '2026-02-01' as started_at, timestamp '2026-02-01' as updated_at, {LINEAGE}
        from range(5) t(i)
    """)
    con.execute(f"""
        create temp table billing as
        select 'ok-' || i as attempt_id, i, timestamp '{NORMAL_START}' + to_minutes(i * 10)
               as attempted_at, false as failed
        from range(5) t(i)
        union all
        select 'burst-' || i, i, timestamp '{BURST_START}' + to_seconds(i * 55), true
        from range(15) t(i)
    """)
    insert_invoices_of_billing(con, customers=5, lineage=LINEAGE)
    con.execute(f"""
        insert into raw.payment_attempts by name
        select attempt_id, 'inv-' || attempt_id as invoice_id, 'cus-' || (i % 5) as customer_id,
               attempted_at, 30.00 as amount, 'EUR' as currency, 'card' as payment_method,
               'visa' as card_brand, 'FR' as card_country, '497010' as card_bin,
               'fp-cus-' || (i % 5) as card_fingerprint, 'stripe' as processor,
               case when failed then 'failed' else 'succeeded' end as outcome,
               case when failed then 'generic_decline' end as decline_code,
               1 as attempt_number, 'scheduled' as "trigger", false as used_3ds,
               attempted_at as updated_at, {LINEAGE}
        from billing
    """)
