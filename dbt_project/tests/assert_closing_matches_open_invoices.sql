-- The as-of month's closing receivables equal the open amounts of fct_invoices, and the daily
-- mart agrees on every month end: three computations of the same balance.
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
        sum(open_receivables_reporting) as open_total,
        count(*) as segment_rows
    from {{ ref('receivables_daily') }}
    group by date_day
),

invoices as (
    select
        sum(amount_remaining * fx_rate_to_reporting) as open_total,
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
where abs(closing.closing - coalesce(daily.open_total, 0)) > 0.005 * coalesce(daily.segment_rows, 1) + 0.005
    or (closing.month_end = invoices.as_of_date and abs(closing.closing - invoices.open_total) > 0.005)
