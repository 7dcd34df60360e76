-- The receivables ledger: one row per money movement on a receivable invoice (billed, collected,
-- written off; refunded and charged back, which do not change what is owed), dated, in the
-- invoice currency and in the reporting currency. Every balance, flow and ageing figure is
-- derived from it, so they reconcile by construction: billed - collected - written off = open.
--
-- Collections come from successful attempts (capped at what the invoice says was paid); what the
-- invoice reports as paid beyond its attempts (a bank transfer outside the attempt feed) is booked
-- on its paid_at, or on its updated_at for a partly paid invoice. Payments after a write-off are
-- recoveries of written-off debt, not receivable collections: they are not booked here.
-- Draft and void invoices are never receivables. All events of an invoice use its issue-date
-- FX rate (historical rate: no revaluation).
--
-- Money is rounded to the cent once, here (DOMAIN.md "Money"): a movement's reporting amount is
-- the change of the invoice's open balance converted and rounded to the cent, so the movements'
-- cents always add up to round(open balance x rate) and a settled invoice is 0.00 in both
-- currencies. Every mart sums these cents and never rounds again.
--
-- Incremental (macros/incremental_invoices.sql): each run rebuilds the rows of the invoices that
-- what was loaded since its last run can change, and keeps the others.
{{ config(**invoice_increment_config()) }}
with
{{ touched_invoices_cte() }}
invoices as (
    select * from {{ ref('int_invoices_resolved') }}
    where is_receivable
    {{ only_touched_invoices('and') }}
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
    {{ only_touched_invoices('and', 'attempts.invoice_id') }}
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

attempt_returns as (
    -- Money given back on a booked payment: successful refunds (at refunded_at) and lost
    -- chargebacks (at their decision), each capped at the payment it returns. They reduce net
    -- collections, not the receivable: the invoice stays paid.
    select
        refunds.attempt_id,
        'refunded' as event_type,
        refunds.refunded_at as event_at,
        refunds.amount
    from {{ ref('stg_billing__refunds') }} as refunds
    where refunds.status = 'succeeded'
    union all
    select
        disputes.attempt_id,
        'charged_back' as event_type,
        coalesce(disputes.closed_at, disputes.updated_at) as event_at,
        disputes.amount
    from {{ ref('stg_billing__disputes') }} as disputes
    where disputes.kind = 'chargeback' and disputes.status = 'lost'
),

returns as (
    select
        attempts.invoice_id,
        attempt_returns.event_type,
        greatest(attempt_returns.event_at, attempts.attempted_at) as event_at,
        least(attempt_returns.amount, attempts.amount) as amount
    from attempt_returns
    inner join {{ ref('fct_payment_attempts') }} as attempts
        on attempt_returns.attempt_id = attempts.attempt_id
    inner join invoices on attempts.invoice_id = invoices.invoice_id
    where attempts.is_success
        and (invoices.written_off_at is null or attempts.attempted_at < invoices.written_off_at)
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
    union all
    select
        invoice_id,
        event_type,
        event_at,
        amount
    from returns
    where amount > 0
),

signed as (
    select
        events.invoice_id,
        events.event_type,
        events.event_at,
        events.amount::decimal(18, 2) as amount,
        invoices.currency,
        invoices.fx_rate_to_reporting,
        case events.event_type
            when 'billed' then 1
            when 'collected' then -1
            when 'written_off' then -1
            else 0
        end as balance_sign
    from events
    inner join invoices on events.invoice_id = invoices.invoice_id
),

running as (
    -- The open balance after each movement, in the invoice currency (billed first, then by time).
    select
        *,
        sum(balance_sign * amount) over (
            partition by invoice_id
            order by event_at asc, balance_sign desc, event_type asc, amount asc
            rows unbounded preceding
        ) as open_after
    from signed
)

select
    invoice_id,
    event_type,
    event_at,
    event_at::date as event_date,
    amount,
    currency,
    -- to_reporting widens the amount before multiplying (no overflow above ~9.2 million).
    case
        when balance_sign = 0
            then {{ to_reporting('amount', 'fx_rate_to_reporting') }}
        else
            balance_sign * (
                {{ to_reporting('open_after', 'fx_rate_to_reporting') }}
                - {{ to_reporting('(open_after - balance_sign * amount)', 'fx_rate_to_reporting') }}
            )
    end::decimal(18, 2) as amount_reporting,
    -- Signed effect on the open balance (0: refunds and chargebacks).
    balance_sign
from running
