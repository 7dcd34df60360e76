{#- Recovery curves of one recovery population (fct_invoices.recovery_population): per cohort
    (month its invoices entered recovery) and day since entering, how many invoices and how much
    were recovered by then. Censoring-aware: at day d only invoices that entered at least d days
    before the as-of date are observed, so recent cohorts are not shown as worse than they are.
    Cohort-level columns repeat on every row of the cohort: recovery rate (within the window, over
    invoices whose window has fully elapsed), median days to recovery, and whether the data covers
    the whole cohort month. Amounts are sums of fct_invoices' cents, never rounded again. -#}
{% macro recovery_cohort_curves(population) -%}
with invoices as (
    select
        *,
        entered_recovery_at::date as entered_date
    from {{ ref('fct_invoices') }}
    where recovery_population = '{{ population }}'
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

cohorts as (
    select
        recovery_cohort_month as cohort_month,
        count(*) as invoices_entered,
        sum(amount_due_reporting) as amount_entered,
        count(*) filter (where is_recovery_window_elapsed) as invoices_window_elapsed,
        count(*) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as invoices_recovered_in_window,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed) as amount_window_elapsed,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as amount_recovered_in_window,
        median(days_to_recovery) filter (where is_recovered_within_window)
            as median_days_to_recovery,
        last_day(recovery_cohort_month) + {{ var('recovery_window_days') }}
        <= any_value(as_of.as_of_date) as is_window_elapsed,
        coalesce({{ is_complete_month('recovery_cohort_month') }}, false) as is_complete_month
    from invoices
    cross join as_of
    cross join {{ ref('int_data_coverage') }} as coverage
    group by recovery_cohort_month, coverage.coverage_start_date, coverage.coverage_end_date
),

days as (
    select {{ series(0, var('recovery_window_days'), cast='integer') }} as days_since_entered
),

curve as (
    select
        invoices.recovery_cohort_month as cohort_month,
        days.days_since_entered,
        count(*) filter (where invoices.entered_date + days.days_since_entered <= as_of.as_of_date)
            as invoices_observed,
        sum(invoices.amount_due_reporting) filter (
            where invoices.entered_date + days.days_since_entered <= as_of.as_of_date
        ) as amount_observed,
        count(*) filter (
            where invoices.entered_date + days.days_since_entered <= as_of.as_of_date
            and invoices.days_to_recovery <= days.days_since_entered
        ) as invoices_recovered,
        sum(invoices.amount_due_reporting) filter (
            where invoices.entered_date + days.days_since_entered <= as_of.as_of_date
            and invoices.days_to_recovery <= days.days_since_entered
        ) as amount_recovered
    from invoices
    cross join days
    cross join as_of
    group by 1, 2
)

select
    curve.cohort_month,
    curve.days_since_entered::integer as days_since_entered,
    '{{ var("reporting_currency") }}' as reporting_currency,
    cohorts.invoices_entered::integer as invoices_entered,
    cohorts.amount_entered::decimal(18, 2) as amount_entered_reporting,
    curve.invoices_observed::integer as invoices_observed,
    curve.invoices_recovered::integer as invoices_recovered,
    coalesce(curve.amount_recovered, 0)::decimal(18, 2) as amount_recovered_reporting,
    round(curve.invoices_recovered / nullif(curve.invoices_observed, 0), 6)::decimal(9, 6)
        as recovered_share,
    round(coalesce(curve.amount_recovered, 0) / nullif(curve.amount_observed, 0), 6)::decimal(9, 6)
        as recovered_amount_share,
    cohorts.is_complete_month,
    cohorts.is_window_elapsed,
    cohorts.invoices_window_elapsed::integer as cohort_invoices_window_elapsed,
    cohorts.invoices_recovered_in_window::integer as cohort_invoices_recovered,
    round(cohorts.invoices_recovered_in_window / nullif(cohorts.invoices_window_elapsed, 0), 6)
    ::decimal(9, 6) as cohort_recovery_rate,
    coalesce(cohorts.amount_recovered_in_window, 0)::decimal(18, 2)
        as cohort_recovered_revenue_reporting,
    round(coalesce(cohorts.amount_recovered_in_window, 0) / nullif(cohorts.amount_window_elapsed, 0), 6)
    ::decimal(9, 6) as cohort_recovered_revenue_rate,
    cohorts.median_days_to_recovery::decimal(8, 1) as cohort_median_days_to_recovery
from curve
inner join cohorts on curve.cohort_month = cohorts.cohort_month
{%- endmacro %}
