-- One row per invoice (drafts and voids included, flagged): balances as of the latest event in the
-- data, ageing, recovery and write-off, in the invoice currency and the reporting currency.
with invoices as (
    select * from {{ ref('int_invoices_resolved') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

ledger_totals as (
    -- Reporting amounts are the ledger's cents, summed: never converted or rounded again here.
    select
        invoice_id,
        sum(amount) filter (where event_type = 'collected') as amount_collected,
        sum(amount) filter (where event_type = 'written_off') as amount_written_off,
        sum(amount) filter (where event_type in ('refunded', 'charged_back')) as amount_returned,
        sum(amount_reporting) filter (where event_type = 'billed') as amount_due_reporting,
        sum(amount_reporting) filter (where event_type = 'collected') as amount_collected_reporting,
        sum(amount_reporting) filter (where event_type = 'written_off')
            as amount_written_off_reporting,
        sum(amount_reporting) filter (where event_type in ('refunded', 'charged_back'))
            as amount_returned_reporting,
        sum(balance_sign * amount_reporting) as amount_open_reporting
    from {{ ref('int_invoice_ledger') }}
    group by invoice_id
),

attempt_counts as (
    select
        invoice_id,
        count(*) as attempt_count,
        count(*) filter (where not is_success) as failed_attempt_count
    from {{ ref('fct_payment_attempts') }}
    where invoice_id is not null
    group by invoice_id
),

balances as (
    select
        invoices.*,
        as_of.as_of_date,
        coalesce(invoices.amount_collected_total, 0) as amount_paid_total,
        case
            when not invoices.is_receivable then 0
            else invoices.amount_due
                - coalesce(ledger_totals.amount_collected, 0)
                - coalesce(ledger_totals.amount_written_off, 0)
        end as amount_open,
        coalesce(ledger_totals.amount_written_off, 0) as amount_written_off,
        coalesce(ledger_totals.amount_returned, 0) as amount_returned,
        -- A receivable's reporting amounts come from the ledger; an invoice outside the ledger
        -- (draft, void, 0.00) is converted and rounded once here and is in no balance or flow.
        case
            when invoices.is_receivable then ledger_totals.amount_due_reporting
            else {{ to_reporting('invoices.amount_due', 'invoices.fx_rate_to_reporting') }}
        end as amount_due_reporting,
        coalesce(ledger_totals.amount_collected_reporting, 0) as amount_collected_reporting,
        coalesce(ledger_totals.amount_written_off_reporting, 0) as amount_written_off_reporting,
        coalesce(ledger_totals.amount_returned_reporting, 0) as amount_returned_reporting,
        coalesce(ledger_totals.amount_open_reporting, 0) as amount_open_reporting,
        -- Days late: to the as-of date while open, else to the day it was paid or written off.
        greatest(
            {{ days_past_due(
                'invoices.due_date',
                'coalesce(least(invoices.fully_paid_at, invoices.written_off_at)::date, as_of.as_of_date)'
            ) }},
            0
        ) as days_late
    from invoices
    cross join as_of
    left join ledger_totals on invoices.invoice_id = ledger_totals.invoice_id
)

select
    balances.invoice_id,
    balances.customer_id,
    balances.subscription_id,
    balances.currency,
    balances.amount_due,
    balances.amount_paid_total::decimal(18, 2) as amount_paid,
    balances.amount_open::decimal(18, 2) as amount_remaining,
    balances.amount_written_off::decimal(18, 2) as amount_written_off,
    balances.reporting_currency,
    balances.fx_rate_to_reporting,
    balances.amount_due_reporting::decimal(18, 2) as amount_due_reporting,
    -- What the invoice reports as paid, including any payment after a write-off (not a
    -- collection of the receivable): converted and rounded once, per invoice.
    {{ to_reporting('balances.amount_paid_total', 'balances.fx_rate_to_reporting') }}
        as amount_paid_reporting,
    balances.amount_collected_reporting::decimal(18, 2) as amount_collected_reporting,
    balances.amount_open_reporting::decimal(18, 2) as amount_remaining_reporting,
    -- The open balance revalued at the as-of date's rate (closing rate), rounded once per
    -- invoice; the revaluation is its difference to the historical (issue-date) cents, which no
    -- ledger flow or identity includes.
    closing_fx.rate_to_reporting as fx_rate_closing,
    {{ to_reporting('balances.amount_open', 'closing_fx.rate_to_reporting') }}
        as amount_remaining_reporting_at_closing_rate,
    (
        {{ to_reporting('balances.amount_open', 'closing_fx.rate_to_reporting') }}
        - balances.amount_open_reporting
    )::decimal(18, 2) as fx_revaluation_reporting,
    balances.amount_written_off_reporting::decimal(18, 2) as amount_written_off_reporting,
    balances.amount_returned::decimal(18, 2) as amount_returned,
    balances.amount_returned_reporting::decimal(18, 2) as amount_returned_reporting,
    balances.issued_at,
    balances.due_at,
    balances.fully_paid_at as paid_at,
    balances.status,
    balances.billing_reason,
    balances.is_receivable,
    case when balances.is_receivable then balances.days_late::integer end as days_past_due,
    case
        when balances.amount_open > 0
            then {{ ageing_bucket(days_past_due('balances.due_date', 'balances.as_of_date')) }}
    end as ageing_bucket,
    balances.amount_open > 0 and balances.as_of_date > balances.due_date as is_past_due,
    recovery.first_failed_attempt_at,
    recovery.recovery_population,
    recovery.entered_recovery_at,
    date_trunc('month', recovery.entered_recovery_at)::date as recovery_cohort_month,
    recovery.recovered_at,
    recovery.days_to_recovery::integer as days_to_recovery,
    recovery.recovery_channel,
    recovery.entered_recovery_at::date + {{ var('recovery_window_days') }} <= balances.as_of_date
        as is_recovery_window_elapsed,
    coalesce(recovery.days_to_recovery <= {{ var('recovery_window_days') }}, false)
        as is_recovered_within_window,
    balances.written_off_at,
    coalesce(attempt_counts.attempt_count, 0)::integer as attempt_count,
    coalesce(attempt_counts.failed_attempt_count, 0)::integer as failed_attempt_count,
    segments.plan,
    segments.country,
    segments.payment_method,
    balances.as_of_date
from balances
left join {{ ref('int_invoice_recovery') }} as recovery
    on balances.invoice_id = recovery.invoice_id
left join {{ ref('int_invoice_segments') }} as segments
    on balances.invoice_id = segments.invoice_id
left join {{ ref('int_fx_rates') }} as closing_fx
    on balances.currency = closing_fx.currency
        and balances.as_of_date >= closing_fx.valid_from
        and balances.as_of_date < closing_fx.valid_to
left join attempt_counts on balances.invoice_id = attempt_counts.invoice_id
