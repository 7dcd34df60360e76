-- Every segment's failure rate per hour and per day against what its own history predicts for that
-- hour of the week (or weekday), with a volume-aware significance score. Method and parameters:
-- failure_rates.yml. Both grains share this model so the method exists once.
-- The windows come scored (int_failure_rate_scored) and attributed (int_failure_rate_attribution);
-- this part adds the evidence that accumulates over hours (CUSUM) and days (stretches).
{%- set min_attempts = var('failure_rate_min_attempts') %}
{%- set cusum_odds_ratio = var('failure_rate_cusum_odds_ratio') %}
{%- set cusum_years = var('failure_rate_cusum_years_per_false_alarm') %}
{#- The CUSUM's alarm bar in nats, from its false-alarm target (dbt_project.yml, failure_rates.yml):
    at most one false alarm per segment per `cusum_years` years of hourly windows. -#}
{%- set cusum_alarm_bar = cusum_bar(8760, cusum_years) %}
{#- The scores and the anomaly rule are macros (macros/monitoring/), shared by windows and stretches. -#}
{%- set window_keys = ['window_grain', 'window_start', 'segment_type', 'segment_value'] %}
{%- set same_segment_day = ['segment_type', 'segment_value', 'window_start'] %}

with windows_scored as (
    select * from {{ ref('int_failure_rate_scored') }}
),

explained_by_root as (
    select * from {{ ref('int_failure_rate_attribution') }}
),

attributed as (
    select
        windows_scored.*,
        explained.root_type,
        explained.root_value,
        windows_scored.is_elevated and explained.root_type is null as is_root_elevated
    from windows_scored
    left join explained_by_root as explained
        on {{ same_keys('windows_scored', 'explained', window_keys) }}
),

-- Evidence that accumulates across hours: a Bernoulli CUSUM per segment over its hourly windows
-- (failures_rates.yml "Accumulated evidence"). Each hour adds the log-likelihood ratio of its
-- k failures of n attempts under a shifted rate p1 (the odds of the upper expected rate p0
-- multiplied by `failure_rate_cusum_odds_ratio`) against p0 itself; thin hours add what they
-- hold, so an incident spread over quiet hours adds up where no clock hour alone reaches the
-- bar. Hours explained by another segment, or without a baseline, add nothing.
cusum_increments as (
    select
        *,
        case
            when window_grain = 'hour' and root_type is null and expected_rate_upper is not null
                then failures_d * ln(cusum_p1 / cusum_p0)
                    + (attempts_d - failures_d) * ln((1 - cusum_p1) / (1 - cusum_p0))
            else 0
        end as cusum_increment
    from (
        select
            *,
            {{ cusum_odds_ratio }} * cusum_p0 / (1 - cusum_p0 + {{ cusum_odds_ratio }} * cusum_p0) as cusum_p1
        from (
            select
                *,
                -- as the tail score: an expected rate of exactly 0 would make one failure infinite
                -- evidence (and 0/0 a NaN, which compares above every bar)
                greatest(least(expected_rate_upper, 0.999), 1e-6) as cusum_p0
            from attributed
        ) as with_p0
    ) as with_rates
),

cusum_walks as (
    select
        *,
        sum(cusum_increment) over by_hour as cusum_walk
    from cusum_increments
    window by_hour as ({{ segment_so_far() }})
),

-- S_t = max(0, S_{t-1} + x_t) is the walk minus its lowest point so far (the empty start, 0,
-- included): the same recursion, written with window functions. `cusum_run` numbers the runs:
-- a run starts after each hour at which the statistic is back at 0.
cusum_statistics as (
    select
        *,
        cusum_walk - least(min(cusum_walk) over by_hour, 0) as cusum
    from cusum_walks
    window by_hour as ({{ segment_so_far() }})
),

cusum_runs as (
    select
        *,
        count(*) filter (where cusum <= 0) over ({{ segment_so_far() }}) as cusum_run
    from cusum_statistics
),

-- The alarm: the first hour of a run at which the statistic reaches the bar. The hours of the
-- run up to it hold the evidence (the CUSUM's change-point estimate is the run's first hour):
-- they belong to the incident, whatever their volume. Known when the alarm is raised, so an
-- incident's start never moves on later runs.
cusum_alarms as (
    select
        *,
        min(window_start) filter (where cusum >= {{ cusum_alarm_bar }}) over (
            partition by window_grain, segment_type, segment_value, cusum_run
        ) as cusum_alarm_start
    from cusum_runs
),

cusum_flagged as (
    select
        *,
        coalesce(window_start = cusum_alarm_start, false) as is_cusum_anomalous,
        coalesce(cusum > 0 and window_start <= cusum_alarm_start, false)
        and expected_rate is not null
        and root_type is null as is_cusum_member
    from cusum_alarms
),

cusum_elevated as (
    select
        {{ star_except(['is_root_elevated']) }},
        is_root_elevated or is_cusum_member as is_root_elevated
    from cusum_flagged
),

-- Days already told by single anomalous hours of their segment: no fresh evidence in them.
days_with_anomalous_hours as (
    select distinct
        segment_type,
        segment_value,
        date_trunc('day', window_start) as window_start
    from cusum_elevated
    where window_grain = 'hour' and (is_anomalous or is_cusum_member)
),

-- Sustained shifts over days: a stretch of consecutive elevated days of a segment, none of them
-- anomalous alone, is tested as one window — its failures, attempts and expected failures added
-- up. Days already anomalous alone (or covered by anomalous hours) are left out of the sums:
-- their evidence has been used. Hours accumulate evidence in the CUSUM above instead.
-- `elevation_run` numbers the stretches: it counts the windows that are not (root-)elevated.
stretches as (
    select
        cusum_elevated.*,
        count(*) filter (where not cusum_elevated.is_root_elevated) over (
            {{ segment_so_far(relation='cusum_elevated') }}
        ) as elevation_run,
        cusum_elevated.window_grain = 'day'
        and cusum_elevated.is_root_elevated
        and not cusum_elevated.is_anomalous
        and covered.window_start is null as is_stretch_member
    from cusum_elevated
    left join days_with_anomalous_hours as covered
        on cusum_elevated.window_grain = 'day'
            and {{ same_keys('cusum_elevated', 'covered', same_segment_day) }}
),

stretch_totals as (
    select
        *,
        sum(failures_d) filter (where is_stretch_member) over stretch_so_far as stretch_failures,
        sum(attempts_d) filter (where is_stretch_member) over stretch_so_far as stretch_attempts,
        sum(attempts_d * expected_rate) filter (where is_stretch_member) over stretch_so_far
            as stretch_expected_failures,
        sum(attempts_d * expected_rate_upper) filter (where is_stretch_member) over stretch_so_far
            as stretch_expected_upper
    from stretches
    window stretch_so_far as ({{ segment_so_far(['elevation_run']) }})
),

stretch_scored as (
    select
        *,
        {{ binomial_tail_score(
            'stretch_failures', 'stretch_attempts', 'stretch_expected_upper / stretch_attempts'
        ) }} as stretch_score
    from stretch_totals
),

triggered as (
    select
        *,
        coalesce(
            is_stretch_member
            and {{ is_failure_rate_anomaly(
                'stretch_failures', 'stretch_attempts',
                'stretch_expected_failures / stretch_attempts', 'stretch_score'
            ) }},
            false
        ) as is_stretch_anomalous
    from stretch_scored
),

any_trigger as (
    select
        *,
        is_anomalous or is_stretch_anomalous or is_cusum_anomalous as is_any_anomalous
    from triggered
),

-- A day whose segment had anomalous hours (alone or as a stretch: days_with_anomalous_hours) is
-- the same story told at a coarser grain; so is the day after, when the payments that failed are
-- retried (and fail more, or are a larger share of the day).
days_told_by_hours as (
    select
        triggered.segment_type,
        triggered.segment_value,
        triggered.window_start,
        max(hours.window_start) as hours_day
    from triggered
    inner join days_with_anomalous_hours as hours
        on {{ same_keys('triggered', 'hours', ['segment_type', 'segment_value']) }}
            and triggered.window_start in (hours.window_start, hours.window_start + interval 1 day)
    where triggered.window_grain = 'day'
    group by all
)

select
    triggered.window_grain,
    triggered.segment_type,
    triggered.segment_value,
    triggered.window_start,
    triggered.window_end,
    triggered.seasonal_slot,
    triggered.attempts,
    triggered.failures,
    triggered.failure_rate,
    triggered.amount_attempted,
    triggered.amount_failed,
    triggered.level_rate,
    triggered.history_attempts::bigint as history_attempts,
    triggered.weekly_expected_rate,
    triggered.day_of_month_factor,
    triggered.expected_rate,
    triggered.expected_rate_upper,
    triggered.failure_rate / nullif(triggered.expected_rate, 0) as lift,
    triggered.excess_failures,
    -- No baseline, no score: the tail test needs an expected rate.
    case when triggered.expected_rate is not null then coalesce(triggered.score, 0) end as score,
    case
        when triggered.expected_rate is not null
            then greatest(triggered.amount_failed - triggered.expected_rate * triggered.amount_attempted, 0)
    end::decimal(18, 2) as revenue_affected,
    triggered.is_screened_out,
    -- What monitoring could judge (failure_rates.yml). A window too thin to be anomalous alone
    -- was still judged when it completed an anomalous stretch.
    case
        when triggered.is_stretch_anomalous or triggered.is_cusum_member then 'evaluated'
        when triggered.attempts < {{ min_attempts }} then 'insufficient_volume'
        when triggered.expected_rate is null then 'no_baseline'
        else 'evaluated'
    end as evaluation_status,
    triggered.is_any_anomalous as is_anomalous,
    case
        when triggered.is_anomalous then 'window'
        when triggered.is_stretch_anomalous then 'stretch'
        when triggered.is_cusum_anomalous then 'cusum'
    end as anomaly_basis,
    triggered.stretch_score,
    case when triggered.window_grain = 'hour' then triggered.cusum_increment end as cusum_increment,
    case when triggered.window_grain = 'hour' then triggered.cusum end as cusum,
    triggered.is_cusum_member,
    triggered.is_root_elevated or triggered.is_anomalous as is_elevated,
    triggered.elevation_run,
    case
        when not triggered.is_any_anomalous then null
        when triggered.root_type is not null
            then triggered.root_type || ' = ' || triggered.root_value
        when days_told_by_hours.hours_day = triggered.window_start
            then 'anomalous hours of this segment'
        when days_told_by_hours.hours_day is not null
            then 'retries after anomalous hours of this segment the day before'
    end as explained_by,
    -- The window that explains it, to link it to that window's incident: the root's window, or
    -- for a day told by hours, the hours of its segment on the day of those hours.
    {%- for column, of_root, of_hours in [
        ('grain', 'triggered.window_grain', "'hour'"),
        ('segment_type', 'triggered.root_type', 'triggered.segment_type'),
        ('segment_value', 'triggered.root_value', 'triggered.segment_value'),
        ('window_start', 'triggered.window_start', 'days_told_by_hours.hours_day'),
    ] %}
    case
        when not triggered.is_any_anomalous then null
        when triggered.root_type is not null then {{ of_root }}
        when days_told_by_hours.hours_day is not null then {{ of_hours }}
    end as explained_by_{{ column }}{{ "," if not loop.last }}  -- noqa: LT02
    {%- endfor %}
from any_trigger as triggered
left join days_told_by_hours
    on triggered.window_grain = 'day'
        and {{ same_keys('triggered', 'days_told_by_hours', same_segment_day) }}
