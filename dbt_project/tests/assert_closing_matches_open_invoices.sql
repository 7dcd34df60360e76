-- The same balance, three ways, to the cent: every month end's closing receivables equal the sum of
-- receivables_daily on that day, and the as-of month's closing equals the sum of fct_invoices'
-- amount_remaining_reporting. All three are sums of the ledger's cents, so no tolerance.
-- Shown in Dagster as a check on collections_monthly.
{{ config(meta={'dagster': {'ref': {'name': 'collections_monthly'}}}) }}

with closing as (
    select
        month_end,
        closing_receivables_reporting as closing
    from {{ ref('collections_monthly') }}
),

daily as (
    select
        date_day,
        sum(open_receivables_reporting) as open_total
    from {{ ref('receivables_daily') }}
    group by date_day
),

invoices as (
    select
        sum(amount_remaining_reporting) as open_total,
        any_value(as_of_date) as as_of_date
    from {{ ref('fct_invoices') }}
)

select
    closing.month_end,
    closing.closing,
    daily.open_total as daily_total,
    invoices.open_total
from closing
left join daily on closing.month_end = daily.date_day
cross join invoices
where closing.closing != coalesce(daily.open_total, 0)
    or (closing.month_end = invoices.as_of_date and closing.closing != invoices.open_total)
