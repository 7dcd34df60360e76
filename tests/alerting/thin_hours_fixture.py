"""An incident spread over thin hours, for the accumulating evidence (the hourly CUSUM).

Eight weeks (Mon 2026-01-05 → Sun 2026-03-01) of hourly card payments with constant failure rates,
so every expected rate, every CUSUM increment and the statistic itself can be worked out by hand:

- processor `busy`: 40 attempts an hour, 4 fail (10 %);
- processor `quiet`: 5 attempts an hour, 1 fails (20 %);
- attempt i of an hour: visa and FR and `starter` when i is even, else mastercard, DE, `growth`,
  so no segment but the processors sees `quiet` alone.

Injected: THIN_INCIDENT, `quiet` Thu 2026-02-26 21:00 → Fri 03:00 (six hours across midnight),
4 of 5 attempts failing each hour. No hour holds the 20 attempts a window needs, none is even
elevated alone (score 1.2 < 1.3), so no stretch forms, and neither day reaches the daily bar:
the old rule found nothing. Over its true window, 24 failures of 30 attempts against 20 % have
a binomial tail of 2.6e-12.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from orchestration.ingest import create_raw_schema
from tests.alerting.detection_fixture import insert_invoices_of_billing

START, END = datetime(2026, 1, 5), datetime(2026, 3, 2)
THIN_INCIDENT = ("quiet", datetime(2026, 2, 26, 21), datetime(2026, 2, 27, 3))

LINEAGE = "'fixture' as _source_file, 1 as _source_row, timestamp '2026-03-02 01:00' as _loaded_at"


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Create `raw.*` and fill it with the eight weeks."""
    create_raw_schema(con)
    con.execute(f"""
        insert into raw.customers by name
        select 'cus-' || i as customer_id, null as email, null as name, 'FR' as country,
               'verified' as verification_status, timestamp '2026-01-01' as created_at,
               timestamp '2026-01-01' as updated_at, {LINEAGE}
        from range(10) t(i)
    """)
    con.execute(f"""
        insert into raw.subscriptions by name
        select 'sub-' || i as subscription_id, 'cus-' || i as customer_id,
               case when i % 2 = 0 then 'starter' else 'growth' end as plan,
               'month' as billing_interval, 30.00 as amount, 'EUR' as currency, 'active' as status,
               timestamp '2026-01-01' as started_at, timestamp '2026-01-01' as updated_at, {LINEAGE}
        from range(10) t(i)
    """)
    con.execute(f"""
        create temp table billing as
        with hours as (
            select ts from range(timestamp '{START}', timestamp '{END}', interval 1 hour) t(ts)
        ),
        slots as (
            select 'busy' as processor, i from range(40) t(i)
            union all select 'quiet', i from range(5) t(i)
        )
        select
            slots.processor || '-' || strftime(hours.ts, '%Y%m%d%H') || '-' || slots.i as attempt_id,
            hours.ts + to_seconds(slots.i * 60) as attempted_at,
            slots.processor,
            slots.i,
            case
                when slots.processor = 'busy' then slots.i < 4
                when hours.ts >= timestamp '{THIN_INCIDENT[1]}'
                    and hours.ts < timestamp '{THIN_INCIDENT[2]}' then slots.i < 4
                else slots.i = 0
            end as failed
        from hours cross join slots
    """)
    insert_invoices_of_billing(con, customers=10, lineage=LINEAGE)
    con.execute(f"""
        insert into raw.payment_attempts by name
        select attempt_id, 'inv-' || attempt_id as invoice_id, 'cus-' || (i % 10) as customer_id,
               attempted_at, 30.00 as amount, 'EUR' as currency, 'card' as payment_method,
               case when i % 2 = 0 then 'visa' else 'mastercard' end as card_brand,
               case when i % 2 = 0 then 'FR' else 'DE' end as card_country,
               '4970' || lpad((i % 10)::varchar, 2, '0') as card_bin,
               'fp-cus-' || (i % 10) as card_fingerprint, processor,
               case when failed then 'failed' else 'succeeded' end as outcome,
               case when failed then 'processing_error' end as decline_code,
               1 as attempt_number, 'scheduled' as "trigger", false as used_3ds,
               attempted_at as updated_at, {LINEAGE}
        from billing
    """)
