-- Every failed-payment invoice is failed money of exactly one month of recovery_monthly and, once
-- recovered, recovered money of exactly one: no month of the data is left out, none counted twice.
with months as (
    select
        coalesce(sum(invoices_failed), 0) as invoices_failed,
        coalesce(sum(amount_failed_reporting), 0) as amount_failed,
        coalesce(sum(invoices_recovered), 0) as invoices_recovered,
        coalesce(sum(amount_recovered_reporting), 0) as amount_recovered
    from {{ ref('recovery_monthly') }}
),

invoices as (
    select
        count(*) as invoices_failed,
        coalesce(sum(amount_due_reporting), 0) as amount_failed,
        count(recovered_at) as invoices_recovered,
        coalesce(sum(amount_due_reporting) filter (where recovered_at is not null), 0)
            as amount_recovered
    from {{ ref('fct_invoices') }}
    where recovery_population = 'failed_payment'
)

select months.*
from months
cross join invoices
where
    months.invoices_failed != invoices.invoices_failed
    or months.amount_failed != invoices.amount_failed
    or months.invoices_recovered != invoices.invoices_recovered
    or months.amount_recovered != invoices.amount_recovered
