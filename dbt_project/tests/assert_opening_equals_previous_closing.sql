-- Each month opens with exactly what the previous month closed with (no month is skipped).
select month_start
from (
    select
        month_start,
        opening_receivables_reporting,
        lag(closing_receivables_reporting) over (order by month_start) as previous_closing,
        lag(month_start) over (order by month_start) as previous_month
    from {{ ref('collections_monthly') }}
)
where previous_month is not null
    and (
        opening_receivables_reporting != previous_closing
        or previous_month + interval 1 month != month_start
    )
