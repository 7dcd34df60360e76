-- Every segment's failure rate per hour and per day against what its own history predicts for that
-- hour of the week (or weekday), with a volume-aware significance score: the first part of the
-- failure-rate detector (method and parameters: failure_rates.yml), before attribution
-- (int_failure_rate_attribution) and the evidence over hours and days (int_failure_rate_windows).
-- A table of its own because both later parts read it many times: Spark inlines a CTE at every
-- reference, and the detector as one query outgrew the driver's memory while being planned.
{% set baseline_weeks = var('failure_rate_baseline_weeks') %}
{%- set level_blocks = var('failure_rate_level_blocks') %}
{%- set min_block_attempts = var('failure_rate_min_block_attempts') %}
{%- set min_level_blocks = var('failure_rate_min_level_blocks') %}
{%- set prior_attempts = var('failure_rate_prior_attempts') %}
{%- set baseline_z = var('failure_rate_baseline_z') %}
{%- set dom_months = var('failure_rate_day_of_month_months') %}
{%- set dom_prior_failures = var('failure_rate_day_of_month_prior_failures') %}
{%- set dom_max_factor = var('failure_rate_day_of_month_max_factor') %}
{%- set screening_score = var('failure_rate_screening_score') %}
{%- set min_attempts = var('failure_rate_min_attempts') %}
{%- set min_lift = var('failure_rate_min_lift') %}
{%- set continue_score = var('failure_rate_continue_score') %}
{#- The scores and the anomaly rule are macros (macros/monitoring/), shared by windows and stretches. -#}
{#- The same hour of the week (or weekday) over the previous `baseline_weeks` weeks: what both
    passes of the baseline pool. Both bounds in hours: Spark requires a range frame's bounds to be
    of one interval type (weeks are days there), and on naive timestamps it is the same span. -#}
{%- set same_slot_history -%}
    partition by window_grain, segment_type, segment_value, seasonal_slot
        order by window_start
        range between interval {{ baseline_weeks * 7 * 24 }} hours preceding and interval 1 hour preceding
{%- endset %}

with counts as (
    select
        *,
        failures::double as failures_d,
        attempts::double as attempts_d
    from {{ ref('int_failure_counts') }}
),

daily as (
    select * from counts
    where window_grain = 'day'
),

calendar as (
    select {{ series('min(window_start)', 'max(window_start)', 'interval 1 day') }} as day_start
    from daily
),

segments as (
    select distinct
        segment_type,
        segment_value
    from daily
),

-- One row per segment and day, zero-volume days included, so that "7 days" is 7 rows.
dense_daily as (
    select
        segments.segment_type,
        segments.segment_value,
        calendar.day_start,
        coalesce(daily.attempts_d, 0) as attempts,
        coalesce(daily.failures_d, 0) as failures
    from segments
    cross join calendar
    left join daily
        on segments.segment_type = daily.segment_type
            and segments.segment_value = daily.segment_value
            and calendar.day_start = daily.window_start
),

week_blocks as (
    select
        segment_type,
        segment_value,
        day_start,
        sum(failures) over last_7_days / nullif(sum(attempts) over last_7_days, 0) as block_rate,
        sum(attempts) over last_7_days as block_attempts
    from dense_daily
    window last_7_days as (
        partition by segment_type, segment_value order by day_start
        rows between 6 preceding and current row
    )
),

-- The segment's level on a day: the median failure rate of the previous 7-day blocks. A median
-- of weeks ignores an incident week entirely, where a mean would carry it for a month.
levels as (
    select
        segment_type,
        segment_value,
        day_start,
        {%- set block_rates = [] %}
        {%- for i in range(level_blocks) %}
            {%- do block_rates.append(
                "case when lag(block_attempts, " ~ (1 + 7 * i) ~ ") over by_day >= " ~ min_block_attempts
                ~ " then lag(block_rate, " ~ (1 + 7 * i) ~ ") over by_day end"
            ) %}
        {%- endfor %}
        {{ list_of(block_rates) }} as block_rates
    from week_blocks
    window by_day as (partition by segment_type, segment_value order by day_start)
),

windows as (
    select
        counts.*,
        counts.failures_d / counts.attempts_d as failure_rate,
        case counts.window_grain
            when 'hour'
                then ({{ iso_day_of_week('counts.window_start') }} - 1) * 24 + hour(counts.window_start)
            else {{ iso_day_of_week('counts.window_start') }} - 1
        end as seasonal_slot,
        -- At least two weeks of history before the segment is judged.
        case when {{ list_count_non_null('levels.block_rates') }} >= {{ min_level_blocks }}
                then {{ list_median('levels.block_rates') }}
        end as level_rate
    from counts
    left join levels
        on counts.segment_type = levels.segment_type
            and counts.segment_value = levels.segment_value
            and date_trunc('day', counts.window_start) = levels.day_start
),

-- Pass 1 (screening): the same slot over the previous weeks, shrunk towards the level.
screening as (
    select
        *,
        (coalesce(sum(failures_d) over same_slot_history, 0) + {{ prior_attempts }} * level_rate)
        / (coalesce(sum(attempts_d) over same_slot_history, 0) + {{ prior_attempts }})
            as screening_rate
    from windows
    window same_slot_history as ({{ same_slot_history }})
),

screened as (
    select
        *,
        coalesce(
            {{ binomial_tail_score('failures_d', 'attempts_d', 'screening_rate') }}
            >= {{ screening_score }}
            and failure_rate >= screening_rate * {{ min_lift }},
            false
        ) as is_screened_out
    from screening
),

-- Pass 2 (baseline): the same pooling without the windows pass 1 found abnormal, so a past
-- incident does not inflate the expected rate of the weeks after it.
baseline as (
    select
        *,
        coalesce(sum(failures_d) filter (where not is_screened_out) over same_slot_history, 0)
            as history_failures,
        coalesce(sum(attempts_d) filter (where not is_screened_out) over same_slot_history, 0)
            as history_attempts
    from screened
    window same_slot_history as ({{ same_slot_history }})
),

weekly_expected as (
    select
        *,
        (history_failures + {{ prior_attempts }} * level_rate)
        / (history_attempts + {{ prior_attempts }}) as weekly_expected_rate,
        history_attempts + {{ prior_attempts }} as baseline_attempts
    from baseline
),

-- Pay cycles: failures (insufficient funds above all) rise towards month-end and drop after
-- payday, which a weekly pattern cannot know. Each past day's failures are compared with the
-- weekly expectation; the factor for a day of the month is the median of that ratio over the
-- same day of the previous months (shrunk towards 1 with pseudo-failures, so a thin segment
-- keeps a factor of about 1, and a median, so one incident month does not move it).
day_ratios as (
    select
        segment_type,
        segment_value,
        window_start as day_start,
        day(window_start) as day_of_month,
        (failures_d + {{ dom_prior_failures }})
        / (attempts_d * weekly_expected_rate + {{ dom_prior_failures }}) as day_ratio
    from weekly_expected
    where window_grain = 'day' and weekly_expected_rate is not null
),

day_of_month_history as (
    select
        segment_type,
        segment_value,
        day_start,
        {{ window_median('day_ratio') }} over same_day_history as median_ratio
    from day_ratios
    window same_day_history as (
        partition by segment_type, segment_value, day_of_month order by day_start
        rows between {{ dom_months }} preceding and 1 preceding
    )
),

day_of_month_factors as (
    select
        segment_type,
        segment_value,
        day_start,
        -- null without history (a median of no rows)
        case
            when median_ratio is not null
                then greatest(least(median_ratio, {{ dom_max_factor }}), 1 / {{ dom_max_factor }})
        end as own_factor
    from day_of_month_history
),

-- A segment without that day of the month in its history takes the overall one; without either
-- (the first month of the data) the window is not judged: its month-end would look abnormal.
expected as (
    select
        weekly_expected.*,
        coalesce(own.own_factor, overall.own_factor) as day_of_month_factor,
        -- DuckDB's least() skips NULL: without the case, no baseline would read 0.999.
        case
            when weekly_expected.weekly_expected_rate is not null
                and coalesce(own.own_factor, overall.own_factor) is not null
                then least(
                        weekly_expected.weekly_expected_rate * coalesce(own.own_factor, overall.own_factor),
                        0.999
                    )
        end as expected_rate
    from weekly_expected
    left join day_of_month_factors as own
        on weekly_expected.segment_type = own.segment_type
            and weekly_expected.segment_value = own.segment_value
            and date_trunc('day', weekly_expected.window_start) = own.day_start
    left join day_of_month_factors as overall
        on overall.segment_type = 'overall'
            and date_trunc('day', weekly_expected.window_start) = overall.day_start
),

scored as (
    select
        *,
        case
            when expected_rate is not null
                then least(
                        expected_rate
                        + {{ baseline_z }} * sqrt(expected_rate * (1 - expected_rate) / baseline_attempts),
                        1
                    )
        end as expected_rate_upper
    from expected
),

final as (
    select
        *,
        {{ binomial_tail_score('failures_d', 'attempts_d', 'expected_rate_upper') }}
            as score,
        failures_d - attempts_d * expected_rate as excess_failures
    from scored
),

windows_scored as (
    select
        *,
        coalesce(
            {{ is_failure_rate_anomaly('failures_d', 'attempts_d', 'expected_rate', 'score') }},
            false
        ) as is_anomalous,
        -- Hysteresis: once an incident is open, windows that stay significantly above normal
        -- (a lower bar) keep it open, so it resolves when the rate is back, not at its first dip.
        coalesce(score >= {{ continue_score }}, false) as is_elevated,
        coalesce(failure_rate / nullif(expected_rate, 0), 0) as lift
    from final
)

select * from windows_scored
