-- Failed vs recovered money per calendar month (docs/metrics.md "Recovery"), the view peers
-- (Baremetrics Recover, Churn Buster) lead with: what failed in a month beside what came back in
-- it, whatever month it had failed in. recovery_cohorts follows each failure month to its
-- outcome instead; the two add up to the same recovered total over all months.
-- Failed-payment population only (late payments of invoices never attempted are in
-- late_payment_cohorts). Amounts are fct_invoices' amount due, never rounded again.
with months as (
    select
        month_start,
        {{ is_complete_month('month_start') }} as is_complete_month
    from ({{ coverage_months() }}) as coverage
),

failed as (
    select
        invoice_id,
        amount_due_reporting,
        date_trunc('month', entered_recovery_at)::date as failed_month,
        date_trunc('month', recovered_at)::date as recovered_month
    from {{ ref('fct_invoices') }}
    where recovery_population = 'failed_payment'
)

select
    months.month_start,
    months.is_complete_month,
    '{{ var("reporting_currency") }}' as reporting_currency,
    count(failed.invoice_id) filter (
        where failed.failed_month = months.month_start
    )::integer as invoices_failed,
    coalesce(sum(failed.amount_due_reporting) filter (
        where failed.failed_month = months.month_start
    ), 0)::decimal(18, 2) as amount_failed_reporting,
    count(failed.invoice_id) filter (
        where failed.recovered_month = months.month_start
    )::integer as invoices_recovered,
    coalesce(sum(failed.amount_due_reporting) filter (
        where failed.recovered_month = months.month_start
    ), 0)::decimal(18, 2) as amount_recovered_reporting
from months
left join failed
    on months.month_start in (failed.failed_month, failed.recovered_month)
group by months.month_start, months.is_complete_month
