-- Card-update rate (docs/metrics.md "Recovery"): of the invoices that entered recovery after a
-- failed payment in a month, the share whose customer changed payment method while the invoice
-- was in recovery (from entering until it was recovered, written off, or the as-of time), and
-- how many of those were then recovered. Peers (Churn Buster, Baremetrics Recover) report it
-- because a new card is what most hard declines need.
with as_of as (
    select * from {{ ref('int_as_of') }}
),

entered as (
    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.entered_recovery_at,
        invoices.recovered_at,
        invoices.recovery_cohort_month::date as cohort_month,
        coalesce(invoices.recovered_at, invoices.written_off_at, as_of.as_of_at) as left_recovery_at
    from {{ ref('fct_invoices') }} as invoices
    cross join as_of
    where invoices.recovery_population = 'failed_payment'
),

updated as (
    select
        entered.invoice_id,
        count(updates.update_id) > 0 as has_update
    from entered
    left join {{ ref('stg_billing__payment_method_updates') }} as updates
        on
            entered.customer_id = updates.customer_id
            and entered.entered_recovery_at <= updates.occurred_at
            and entered.left_recovery_at >= updates.occurred_at
    group by entered.invoice_id
)

select
    entered.cohort_month,
    count(*)::integer as invoices_entered,
    count(*) filter (where updated.has_update)::integer as invoices_with_card_update,
    round(
        count(*) filter (where updated.has_update) / count(*), 6
    )::decimal(9, 6) as card_update_rate,
    count(*) filter (
        where updated.has_update and entered.recovered_at is not null
    )::integer as invoices_recovered_after_update
from entered
inner join updated on entered.invoice_id = updated.invoice_id
group by entered.cohort_month
