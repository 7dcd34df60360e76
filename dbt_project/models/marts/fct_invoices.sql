-- One row per invoice (drafts and voids included, flagged): balances as of the latest event in the
-- data, ageing, recovery and write-off, in the invoice currency and the reporting currency.
--
-- Incremental (macros/incremental_invoices.sql): the touched invoices' facts are recomputed, the
-- others are kept. The columns that move with the as-of date (days past due, ageing, past due,
-- the closing rate, whether the recovery window elapsed) are computed last, from the facts alone:
-- when the as-of date moved, every kept row is re-projected from its stored facts, which reads
-- this table instead of the ledger and every attempt.
{{ config(**invoice_increment_config(on_schema_change='fail')) }}
with
{{ touched_invoices_cte() }}
invoices as (
    select * from {{ ref('int_invoices_resolved') }}
    {{ only_touched_invoices('where') }}
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
    {{ only_touched_invoices('where') }}
    group by invoice_id
),

attempt_counts as (
    select
        invoice_id,
        count(*) as attempt_count,
        count(*) filter (where not is_success) as failed_attempt_count
    from {{ ref('fct_payment_attempts') }}
    where invoice_id is not null
    {{ only_touched_invoices('and') }}
    group by invoice_id
),

balances as (
    select
        invoices.*,
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
        coalesce(ledger_totals.amount_open_reporting, 0) as amount_open_reporting
    from invoices
    left join ledger_totals on invoices.invoice_id = ledger_totals.invoice_id
),

-- Everything about an invoice that does not depend on the as-of date, named as published.
facts as (
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
        balances.amount_written_off_reporting::decimal(18, 2) as amount_written_off_reporting,
        balances.amount_returned::decimal(18, 2) as amount_returned,
        balances.amount_returned_reporting::decimal(18, 2) as amount_returned_reporting,
        balances.issued_at,
        balances.due_at,
        balances.due_date,
        balances.fully_paid_at as paid_at,
        balances.status,
        balances.billing_reason,
        balances.is_receivable,
        recovery.first_failed_attempt_at,
        recovery.recovery_population,
        recovery.entered_recovery_at,
        date_trunc('month', recovery.entered_recovery_at)::date as recovery_cohort_month,
        recovery.recovered_at,
        recovery.days_to_recovery::integer as days_to_recovery,
        recovery.recovery_channel,
        coalesce(recovery.days_to_recovery <= {{ var('recovery_window_days') }}, false)
            as is_recovered_within_window,
        balances.written_off_at,
        coalesce(attempt_counts.attempt_count, 0)::integer as attempt_count,
        coalesce(attempt_counts.failed_attempt_count, 0)::integer as failed_attempt_count,
        segments.plan,
        segments.country,
        segments.payment_method
    from balances
    left join {{ ref('int_invoice_recovery') }} as recovery
        on balances.invoice_id = recovery.invoice_id
    left join {{ ref('int_invoice_segments') }} as segments
        on balances.invoice_id = segments.invoice_id
    left join attempt_counts on balances.invoice_id = attempt_counts.invoice_id
    {% if is_incremental() %}
        -- The invoices nothing touched keep their facts; only when the as-of date moved are they
        -- rewritten, to re-project the columns below. (The pre-hook deleted the touched rows.)
        union all by name
        select
            * exclude (
                fx_rate_closing, amount_remaining_reporting_at_closing_rate, fx_revaluation_reporting,
                days_past_due, ageing_bucket, is_past_due, is_recovery_window_elapsed, as_of_date
            ),
            due_at::date as due_date
        from {{ this }}
        where invoice_id not in (select invoice_id from touched)
            and (select max(as_of_date) from {{ this }}) is distinct from (select as_of_date from as_of)
    {% endif %}
)

{#- Days late: to the as-of date while open, else to the day it was paid or written off. -#}
{%- set late_until = 'coalesce(least(facts.paid_at, facts.written_off_at)::date, as_of.as_of_date)' %}
select
    facts.invoice_id,
    facts.customer_id,
    facts.subscription_id,
    facts.currency,
    facts.amount_due,
    facts.amount_paid,
    facts.amount_remaining,
    facts.amount_written_off,
    facts.reporting_currency,
    facts.fx_rate_to_reporting,
    facts.amount_due_reporting,
    facts.amount_paid_reporting,
    facts.amount_collected_reporting,
    facts.amount_remaining_reporting,
    -- The open balance revalued at the as-of date's rate (closing rate), rounded once per
    -- invoice; the revaluation is its difference to the historical (issue-date) cents, which no
    -- ledger flow or identity includes.
    closing_fx.rate_to_reporting as fx_rate_closing,
    {{ to_reporting('facts.amount_remaining', 'closing_fx.rate_to_reporting') }}
        as amount_remaining_reporting_at_closing_rate,
    (
        {{ to_reporting('facts.amount_remaining', 'closing_fx.rate_to_reporting') }}
        - facts.amount_remaining_reporting
    )::decimal(18, 2) as fx_revaluation_reporting,
    facts.amount_written_off_reporting,
    facts.amount_returned,
    facts.amount_returned_reporting,
    facts.issued_at,
    facts.due_at,
    facts.paid_at,
    facts.status,
    facts.billing_reason,
    facts.is_receivable,
    case
        when facts.is_receivable
            then greatest({{ days_past_due('facts.due_date', late_until) }}, 0)::integer
    end as days_past_due,
    case
        when facts.amount_remaining > 0
            then {{ ageing_bucket(days_past_due('facts.due_date', 'as_of.as_of_date')) }}
    end as ageing_bucket,
    facts.amount_remaining > 0 and as_of.as_of_date > facts.due_date as is_past_due,
    facts.first_failed_attempt_at,
    facts.recovery_population,
    facts.entered_recovery_at,
    facts.recovery_cohort_month,
    facts.recovered_at,
    facts.days_to_recovery,
    facts.recovery_channel,
    facts.entered_recovery_at::date + {{ var('recovery_window_days') }} <= as_of.as_of_date
        as is_recovery_window_elapsed,
    facts.is_recovered_within_window,
    facts.written_off_at,
    facts.attempt_count,
    facts.failed_attempt_count,
    facts.plan,
    facts.country,
    facts.payment_method,
    as_of.as_of_date
from facts
cross join as_of
left join {{ ref('int_fx_rates') }} as closing_fx
    on facts.currency = closing_fx.currency
        and as_of.as_of_date >= closing_fx.valid_from
        and as_of.as_of_date < closing_fx.valid_to
