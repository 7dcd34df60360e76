-- What recovered invoices' payments followed (DOMAIN.md recovery channel), per recovery cohort.
-- Counts every recovery (any time before write-off) and, for rates, those within the recovery
-- window among invoices whose window has fully elapsed. The headline population only (failed
-- payments, as recovery_cohorts); late payments of invoices never attempted are not in it.
with invoices as (
    select * from {{ ref('fct_invoices') }}
    where recovery_population = 'failed_payment'
),

cohorts as (
    select
        recovery_cohort_month,
        count(*) as invoices_entered,
        count(*) filter (where is_recovery_window_elapsed) as invoices_window_elapsed,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed) as amount_window_elapsed
    from invoices
    group by recovery_cohort_month
),

channels as (
    select
        recovery_cohort_month,
        recovery_channel,
        count(*) as invoices_recovered,
        sum(amount_due_reporting) as amount_recovered,
        count(*) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as invoices_recovered_in_window,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as amount_recovered_in_window,
        median(days_to_recovery) as median_days_to_recovery
    from invoices
    where recovered_at is not null
    group by all
)

select
    channels.recovery_cohort_month as cohort_month,
    channels.recovery_channel,
    coalesce({{ is_complete_month('channels.recovery_cohort_month') }}, false) as is_complete_month,
    '{{ var("reporting_currency") }}' as reporting_currency,
    channels.invoices_recovered::integer as invoices_recovered,
    channels.amount_recovered::decimal(18, 2) as amount_recovered_reporting,
    round(
        channels.invoices_recovered
        / sum(channels.invoices_recovered) over (partition by channels.recovery_cohort_month),
        6
    )::decimal(9, 6) as share_of_recovered,
    channels.median_days_to_recovery::decimal(8, 1) as median_days_to_recovery,
    cohorts.invoices_entered::integer as cohort_invoices_entered,
    cohorts.invoices_window_elapsed::integer as cohort_invoices_window_elapsed,
    channels.invoices_recovered_in_window::integer as invoices_recovered_in_window,
    round(channels.invoices_recovered_in_window / nullif(cohorts.invoices_window_elapsed, 0), 6)
    ::decimal(9, 6) as channel_recovery_rate,
    round(coalesce(channels.amount_recovered_in_window, 0) / nullif(cohorts.amount_window_elapsed, 0), 6)
    ::decimal(9, 6) as channel_recovered_revenue_rate
from channels
inner join cohorts on channels.recovery_cohort_month = cohorts.recovery_cohort_month
cross join {{ ref('int_data_coverage') }} as coverage
