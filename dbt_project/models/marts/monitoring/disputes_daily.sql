-- Disputes opened per day against a robust baseline of the previous weeks, with a Poisson
-- significance score: the daily dispute-spike detector. Method and parameters: disputes_daily.yml.
{%- set history_days = var('dispute_baseline_days') %}
{%- set min_history_days = var('dispute_min_history_days') %}
{%- set screening_score = var('dispute_screening_score') %}
{%- set baseline_z = var('dispute_baseline_z') %}
{%- set min_disputes = var('dispute_spike_min_disputes') %}
{%- set min_lift = var('dispute_spike_min_lift') %}
{%- set min_score = var('dispute_spike_min_score') %}
{%- set continue_score = var('dispute_continue_score') %}
{%- set continue_lift = var('dispute_continue_lift') %}
{%- set cusum_ratio = var('dispute_cusum_rate_ratio') %}
{%- set cusum_lag = var('dispute_cusum_baseline_lag_days') %}
{%- set cusum_alarm_bar = cusum_bar(365, var('dispute_cusum_years_per_false_alarm')) %}

with disputes as (
    select * from {{ ref('int_monitoring_disputes') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

calendar as (
    select {{ series(
        '(select min(day_start) from disputes)', "(select date_trunc('day', as_of_at) from as_of)",
        'interval 1 day',
    ) }} as day_start
),

daily as (
    select
        calendar.day_start,
        count(disputes.dispute_id)::double as disputes,
        count(disputes.dispute_id) filter (where disputes.kind = 'chargeback') as chargebacks,
        count(disputes.dispute_id) filter (where disputes.kind = 'fraud_report') as fraud_reports,
        coalesce(sum(disputes.amount_reporting), 0) as amount_disputed
    from calendar
    left join disputes on calendar.day_start = disputes.day_start
    group by calendar.day_start
),

-- Pass 1: days far above the median of the previous weeks are set aside... (a floor of one
-- dispute a day, also on the first day, whose median is NULL: a screening prior only — the
-- published expected count needs `dispute_min_history_days` of history)
screening as (
    select
        *,
        greatest({{ window_median('disputes') }} over history, 1) as screening_lambda
    from daily
    window history as (order by day_start rows between {{ history_days }} preceding and 1 preceding)
),

screened as (
    select
        *,
        {{ poisson_tail_score('disputes', 'screening_lambda') }}
        >= {{ screening_score }}
        and disputes >= 2 * screening_lambda as is_screened_out
    from screening
),

-- ... pass 2: the expected count is the mean of the days that were not — over the previous
-- weeks, or over the last week when that is higher: disputes follow payments by weeks, so a
-- growing business (or a young history) sees them rise, and a lagging mean would call that a
-- spike.
baseline as (
    select
        *,
        greatest(
            avg(disputes) filter (where not is_screened_out) over history,
            avg(disputes) filter (where not is_screened_out) over last_week
        ) as expected_disputes,
        count(*) filter (where not is_screened_out) over history as history_days,
        -- The CUSUM's baseline: the same days, ending `dispute_cusum_baseline_lag_days` earlier;
        -- judged only once that window is complete.
        avg(disputes) filter (where not is_screened_out) over lagged_history as lagged_expected_disputes,
        count(*) over lagged_history = {{ history_days }} as is_lagged_history_complete
    from screened
    window
        history as (order by day_start rows between {{ history_days }} preceding and 1 preceding),
        lagged_history as (
            order by day_start
            rows between {{ history_days + cusum_lag }} preceding and {{ cusum_lag + 1 }} preceding
        ),
        last_week as (order by day_start rows between 7 preceding and 1 preceding)
),

scored as (
    select
        *,
        case
            when history_days >= {{ min_history_days }}
                then greatest(expected_disputes + {{ baseline_z }} * standard_error, 0.5)
        end as expected_disputes_upper
    from (
        select
            *,
            sqrt(expected_disputes / history_days) as standard_error
        from baseline
    ) as with_standard_error
),

final as (
    select
        day_start,
        day_start + interval 1 day as day_end,
        disputes::bigint as disputes,
        chargebacks,
        fraud_reports,
        amount_disputed::decimal(18, 2) as amount_disputed_reporting,
        history_days,
        case when history_days >= {{ min_history_days }} then expected_disputes end as expected_disputes,
        expected_disputes_upper,
        disputes / nullif(expected_disputes, 0) as lift,
        coalesce(
            {{ poisson_tail_score('disputes', 'expected_disputes_upper') }},
            0
        ) as score,
        case when disputes > 0
                then amount_disputed * greatest(disputes - coalesce(expected_disputes, 0), 0) / disputes
            else 0
        end::decimal(18, 2) as revenue_affected,
        is_screened_out,
        -- at least one dispute per window: a quiet month does not make each dispute free evidence
        -- (a double: Spark would divide the decimal 1.0 to 6 places, DuckDB divides doubles)
        case when is_lagged_history_complete
                then greatest(lagged_expected_disputes, 1::double / {{ history_days }})
        end as cusum_baseline_disputes,
        coalesce(
            expected_disputes_upper is not null
            and disputes >= {{ min_disputes }}
            and disputes >= {{ min_lift }} * expected_disputes
            and {{ poisson_tail_score('disputes', 'expected_disputes_upper') }}
            >= {{ min_score }},
            false
        ) as is_anomalous
    from scored
),

-- Evidence that accumulates across days: a Poisson CUSUM (disputes_daily.yml "Accumulated
-- evidence"), S_t = max(0, S_{t-1} + x_t), written as the walk minus its lowest point so far.
-- Days without a baseline add nothing.
cusum_walks as (
    select
        *,
        sum(cusum_increment) over by_day as cusum_walk
    from (
        select
            *,
            coalesce(
                {{ poisson_cusum_increment('disputes', 'cusum_baseline_disputes', cusum_ratio) }}, 0
            ) as cusum_increment
        from final
    ) as with_increments
    window by_day as (order by day_start rows unbounded preceding)
),

cusum_runs as (
    select
        *,
        -- a run starts after each day at which the statistic is back at 0
        count(*) filter (where cusum <= 0) over (order by day_start rows unbounded preceding) as cusum_run
    from (
        select
            *,
            cusum_walk - least(min(cusum_walk) over (order by day_start rows unbounded preceding), 0) as cusum
        from cusum_walks
    ) as with_statistic
),

-- The alarm: the first day of a run at which the statistic reaches the bar; the days of the run
-- up to it hold the evidence (the change point is the run's first day) and open the incident
-- from there. Known on the alarm day, so the incident's start never moves on later runs.
cusum_flagged as (
    select
        {{ star_except(['cusum_walk', 'cusum_run', 'cusum_alarm_day']) }},
        coalesce(day_start = cusum_alarm_day, false) as is_cusum_alarm,
        coalesce(cusum > 0 and day_start <= cusum_alarm_day, false) as is_cusum_member
    from (
        select
            *,
            min(day_start) filter (where cusum >= {{ cusum_alarm_bar }}) over (partition by cusum_run)
                as cusum_alarm_day
        from cusum_runs
    ) as with_alarm
),

-- Hysteresis: a spike stays one incident while the following days stay high — significantly
-- (the tail bound is loose on small counts, so also at twice the expected count).
elevated_days as (
    select
        *,
        coalesce(
            is_anomalous
            or is_cusum_member
            or score >= {{ continue_score }}
            or disputes >= {{ continue_lift }} * expected_disputes,
            false
        ) as is_elevated
    from cusum_flagged
),

elevated as (
    select
        *,
        count(*) filter (where not is_elevated) over (
            order by day_start rows unbounded preceding
        ) as elevation_run
    from elevated_days
),

-- A wave of several days, none high enough alone, is tested as one window: the disputes and
-- expected disputes of its elevated days so far added up (a CUSUM in spirit); days anomalous
-- alone are left out of the sums, their evidence has been used.
stretches as (
    select
        *,
        sum(disputes) filter (where is_elevated and not is_anomalous) over stretch_so_far as stretch_disputes,
        sum(expected_disputes) filter (where is_elevated and not is_anomalous) over stretch_so_far
            as stretch_expected_disputes,
        sum(expected_disputes_upper) filter (where is_elevated and not is_anomalous) over stretch_so_far
            as stretch_expected_upper
    from elevated
    window stretch_so_far as (partition by elevation_run order by day_start rows unbounded preceding)
)

select
    {{ star_except(
        ['is_anomalous', 'stretch_disputes', 'stretch_expected_disputes', 'stretch_expected_upper']
    ) }},
    {{ poisson_tail_score('stretch_disputes', 'stretch_expected_upper') }} as stretch_score,
    is_anomalous or is_cusum_alarm or coalesce(
        is_elevated
        and not is_anomalous
        and stretch_disputes >= {{ min_disputes }}
        and stretch_disputes >= {{ min_lift }} * stretch_expected_disputes
        and {{ poisson_tail_score('stretch_disputes', 'stretch_expected_upper') }} >= {{ min_score }},
        false
    ) as is_anomalous
from stretches
