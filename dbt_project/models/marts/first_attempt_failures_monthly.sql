-- First-attempt failure rate (DOMAIN.md) per month and segment: of the recurring invoices first
-- attempted in the month, the share (count, and amount) whose first attempt failed. Recurring =
-- receivable invoices billed by a subscription (billing_reason subscription_create or
-- subscription_cycle). Month = the month of the first attempt; segment = the invoice's segment
-- (plan, country, current payment method, currency), as in receivables_daily. Amounts are
-- fct_invoices' cents, summed. Rates per row: to combine rows, sum numerators and denominators.
with first_attempts as (
    select
        invoice_id,
        attempted_at,
        is_success
    from {{ ref('fct_payment_attempts') }}
    where attempt_number = 1 and invoice_id is not null
),

invoices as (
    select
        invoices.invoice_id,
        invoices.amount_due_reporting,
        date_trunc('month', first_attempts.attempted_at)::date as month_start,
        not first_attempts.is_success as is_first_attempt_failed,
        segments.plan,
        segments.country,
        segments.payment_method,
        segments.currency
    from {{ ref('fct_invoices') }} as invoices
    inner join first_attempts on invoices.invoice_id = first_attempts.invoice_id
    inner join {{ ref('int_invoice_segments') }} as segments
        on invoices.invoice_id = segments.invoice_id
    where invoices.is_receivable
        and invoices.billing_reason in ('subscription_create', 'subscription_cycle')
)

select
    invoices.month_start,
    invoices.plan,
    invoices.country,
    invoices.payment_method,
    invoices.currency,
    '{{ var("reporting_currency") }}' as reporting_currency,
    coalesce({{ is_complete_month('invoices.month_start') }}, false) as is_complete_month,
    count(*)::integer as invoices_first_attempted,
    count(*) filter (where invoices.is_first_attempt_failed)::integer as first_attempts_failed,
    round(count(*) filter (where invoices.is_first_attempt_failed) / count(*), 6)::decimal(9, 6)
        as first_attempt_failure_rate,
    sum(invoices.amount_due_reporting)::decimal(18, 2) as amount_first_attempted_reporting,
    coalesce(sum(invoices.amount_due_reporting) filter (where invoices.is_first_attempt_failed), 0)
    ::decimal(18, 2) as amount_first_attempt_failed_reporting,
    round(
        coalesce(sum(invoices.amount_due_reporting) filter (where invoices.is_first_attempt_failed), 0)
        / nullif(sum(invoices.amount_due_reporting), 0),
        6
    )::decimal(9, 6) as first_attempt_amount_failure_rate
from invoices
cross join {{ ref('int_data_coverage') }} as coverage
group by all
