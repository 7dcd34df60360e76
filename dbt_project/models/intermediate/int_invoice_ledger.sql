-- The receivables ledger: one row per money movement on a receivable invoice (billed, collected,
-- written off), dated, in the invoice currency and in the reporting currency. Every balance,
-- flow and ageing figure is derived from it, so they reconcile by construction:
-- billed - collected - written off = amount still open.
--
-- Collections come from successful attempts (capped at what the invoice says was paid); what the
-- invoice reports as paid beyond its attempts (a bank transfer outside the attempt feed) is booked
-- on its paid_at, or on its updated_at for a partly paid invoice. Payments after a write-off are
-- recoveries of written-off debt, not receivable collections: they are not booked here.
-- Draft and void invoices are never receivables. All events of an invoice use its issue-date
-- FX rate (historical rate: no revaluation), so the identity holds in both currencies.
with invoices as (
    select * from {{ ref('int_invoices_resolved') }}
    where is_receivable
),

attempt_payments as (
    select
        attempts.invoice_id,
        attempts.attempted_at as event_at,
        attempts.amount,
        sum(attempts.amount) over (
            partition by attempts.invoice_id
            order by attempts.attempted_at, attempts.attempt_id
            rows between unbounded preceding and 1 preceding
        ) as paid_before
    from {{ ref('fct_payment_attempts') }} as attempts
    where attempts.is_success and attempts.invoice_id is not null
),

capped_attempt_payments as (
    select
        attempt_payments.invoice_id,
        attempt_payments.event_at,
        least(
            attempt_payments.amount,
            greatest(invoices.amount_collected_total - coalesce(attempt_payments.paid_before, 0), 0)
        ) as amount
    from attempt_payments
    inner join invoices on attempt_payments.invoice_id = invoices.invoice_id
),

balancing_payments as (
    select
        invoices.invoice_id,
        coalesce(invoices.fully_paid_at, invoices.updated_at) as event_at,
        any_value(invoices.amount_collected_total) - coalesce(sum(capped.amount), 0) as amount
    from invoices
    left join capped_attempt_payments as capped on invoices.invoice_id = capped.invoice_id
    group by invoices.invoice_id, invoices.fully_paid_at, invoices.updated_at
),

collections as (
    select
        invoice_id,
        event_at,
        amount
    from capped_attempt_payments
    where amount > 0
    union all
    select
        invoice_id,
        event_at,
        amount
    from balancing_payments
    where amount > 0
),

booked_collections as (
    -- A payment before the issue date (prepayment) is booked on the issue date.
    select
        collections.invoice_id,
        'collected' as event_type,
        greatest(collections.event_at, invoices.issued_at) as event_at,
        collections.amount
    from collections
    inner join invoices on collections.invoice_id = invoices.invoice_id
    where invoices.written_off_at is null or collections.event_at < invoices.written_off_at
),

write_offs as (
    select
        invoices.invoice_id,
        'written_off' as event_type,
        invoices.written_off_at as event_at,
        any_value(invoices.amount_due) - coalesce(sum(booked.amount), 0) as amount
    from invoices
    left join booked_collections as booked on invoices.invoice_id = booked.invoice_id
    where invoices.written_off_at is not null
    group by invoices.invoice_id, invoices.written_off_at
),

events as (
    select
        invoice_id,
        'billed' as event_type,
        issued_at as event_at,
        amount_due as amount
    from invoices
    union all
    select
        invoice_id,
        event_type,
        event_at,
        amount
    from booked_collections
    union all
    select
        invoice_id,
        event_type,
        event_at,
        amount
    from write_offs
    where amount > 0
)

select
    events.invoice_id,
    events.event_type,
    events.event_at,
    events.event_at::date as event_date,
    events.amount::decimal(18, 2) as amount,
    invoices.currency,
    -- Unrounded, so reporting balances stay exactly proportional to the invoice-currency ones.
    (events.amount::decimal(38, 2) * invoices.fx_rate_to_reporting)::decimal(38, 12)
        as amount_reporting,
    -- Signed effect on the open balance.
    case when events.event_type = 'billed' then 1 else -1 end as balance_sign
from events
inner join invoices on events.invoice_id = invoices.invoice_id
