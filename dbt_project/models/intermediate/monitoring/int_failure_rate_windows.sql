-- Every segment's failure rate per hour and per day against what its own history predicts for that
-- hour of the week (or weekday), with a volume-aware significance score. Method and parameters:
-- failure_rates.yml. Both grains share this model so the method exists once.
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
{%- set attribution_margin = var('failure_rate_attribution_margin') %}
{%- set cusum_odds_ratio = var('failure_rate_cusum_odds_ratio') %}
{%- set cusum_years = var('failure_rate_cusum_years_per_false_alarm') %}
{#- The CUSUM's alarm bar in nats, from its false-alarm target (dbt_project.yml, failure_rates.yml):
    at most one false alarm per segment per `cusum_years` years of hourly windows. -#}
{%- set cusum_alarm_bar = cusum_bar(8760, cusum_years) %}
{#- The scores and the anomaly rule are macros (macros/monitoring/), shared by windows and stretches. -#}
{#- The same hour of the week (or weekday) over the previous `baseline_weeks` weeks: what both
    passes of the baseline pool. -#}
{%- set same_slot_history -%}
    partition by window_grain, segment_type, segment_value, seasonal_slot
        order by window_start
        range between interval {{ baseline_weeks }} weeks preceding and interval 1 hour preceding
{%- endset %}
{%- set window_keys = ['window_grain', 'window_start', 'segment_type', 'segment_value'] %}
{%- set pair_keys = window_keys + ['root_type', 'root_value'] %}
{#- From a window explained by a root to the root's own window (itself perhaps explained). -#}
{%- set next_hop = [
    'window_grain', 'window_start', ['root_type', 'segment_type'], ['root_value', 'segment_value']
] %}
{%- set same_segment_day = ['segment_type', 'segment_value', 'window_start'] %}

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
),

-- Attribution. An outage at one processor also lifts the overall rate, its card brands, its
-- countries... Each elevated window is re-tested without the attempts of every elevated segment
-- of another dimension in the same window; the segment whose removal leaves it with no excess
-- explains it, and only the explaining segment can become an incident. The overall and
-- decline-class segments contain every attempt, so they can be explained but never explain.
candidates as (
    select * from windows_scored
    where is_elevated
),

pairs as (
    select
        t.window_grain,
        t.window_start,
        t.segment_type,
        t.segment_value,
        t.expected_rate,
        t.expected_rate_upper,
        t.attempts_d,
        t.failures_d,
        t.is_anomalous,
        r.is_anomalous as root_is_anomalous,
        r.segment_type as root_type,
        r.segment_value as root_value,
        r.attempts_d as root_attempts_d,
        r.failures_d as root_failures_d,
        -- The more concentrated segment ranks first: a higher lift, then a higher score.
        (r.lift, r.score, r.segment_type, r.segment_value)
        > (t.lift, t.score, t.segment_type, t.segment_value) as root_outranks,
        (r.lift, r.score, r.segment_type, r.segment_value) as root_rank
    from candidates as t
    inner join candidates as r
        on t.window_grain = r.window_grain
            and t.window_start = r.window_start
            and r.segment_type not in ('overall', 'decline_class')
            and t.segment_type <> r.segment_type
),

pair_windows as (
    select distinct
        window_grain,
        window_start
    from pairs
),

cube_in_pair_windows as {{ materialized_cte() }} (
    {%- for grain, window_of_hour in [
        ('hour', 'cube.hour_start'),
        ('day', "date_trunc('day', cube.hour_start)"),
    ] %}
        select
            pair_windows.window_grain,
            pair_windows.window_start,
            cube.*
        from pair_windows
        inner join {{ ref('int_failure_cube') }} as cube
            on pair_windows.window_start = {{ window_of_hour }}
        where pair_windows.window_grain = '{{ grain }}'
        {{- "\n    union all" if not loop.last }}
    {%- endfor %}
),

-- Attempts and failures in both segments of a pair (t ∩ r), counted once per pair of
-- dimensions: t without r is then t − (t ∩ r). For the overall segment t ∩ r is r itself; for
-- a decline class it is r's failures of that class.
{%- set root_dimensions = ['payment_method', 'processor', 'card_brand', 'card_country', 'plan'] %}
pair_overlaps as (
    {%- for a in root_dimensions %}
        {%- for b in root_dimensions if b > a %}
            select
                window_grain,
                window_start,
                '{{ a }}' as type_a,
                {{ a }} as value_a,
                '{{ b }}' as type_b,
                {{ b }} as value_b,
                sum(attempts)::double as attempts_d,
                sum(failures)::double as failures_d
            from cube_in_pair_windows
            group by all
            union all
        {%- endfor %}
    {%- endfor %}
    {%- for b in root_dimensions %}
        select
            window_grain,
            window_start,
            'decline_class' as type_a,
            decline_class as value_a,
            '{{ b }}' as type_b,
            {{ b }} as value_b,
            null as attempts_d,
            sum(failures)::double as failures_d
        from cube_in_pair_windows
        where decline_class is not null
        group by all
        {{- "\n    union all" if not loop.last }}
    {%- endfor %}
),

residuals as (
    select
        pairs.window_grain,
        pairs.window_start,
        pairs.segment_type,
        pairs.segment_value,
        pairs.expected_rate,
        pairs.expected_rate_upper,
        pairs.root_type,
        pairs.root_value,
        pairs.attempts_d - case pairs.segment_type
            when 'overall' then pairs.root_attempts_d
            when 'decline_class' then pairs.root_attempts_d
            else coalesce(both_ways.attempts_d, 0)
        end as attempts_d,
        pairs.failures_d - case pairs.segment_type
            when 'overall' then pairs.root_failures_d
            else coalesce(both_ways.failures_d, 0)
        end as failures_d
    from pairs
    left join (
        select * from pair_overlaps
        union all
        -- the same counts seen from the other segment of the pair
        select
            window_grain,
            window_start,
            type_b,
            value_b,
            type_a,
            value_a,
            attempts_d,
            failures_d
        from pair_overlaps
        where type_a <> 'decline_class'
    ) as both_ways
        on {{ same_keys('pairs', 'both_ways', [
            'window_grain', 'window_start',
            ['segment_type', 'type_a'], ['segment_value', 'value_a'],
            ['root_type', 'type_b'], ['root_value', 'value_b'],
        ]) }}
),

residuals_scored as (
    select
        *,
        {{ binomial_tail_score('failures_d', 'attempts_d', 'expected_rate_upper') }}
            as score
    from residuals
),

-- For each pair: does t keep an excess without r's attempts (still elevated — the lower bar,
-- since removing attempts removes power), and what share of t's excess failures lies in r.
pair_tests as (
    select
        pairs.*,
        coalesce(residuals.score >= {{ continue_score }}, false) as is_abnormal_without_root,
        (
            (pairs.failures_d - coalesce(residuals.failures_d, 0))
            - pairs.expected_rate * (pairs.attempts_d - coalesce(residuals.attempts_d, 0))
        ) / nullif(pairs.failures_d - pairs.expected_rate * pairs.attempts_d, 0) as excess_share_in_root
    from pairs
    left join residuals_scored as residuals
        on {{ same_keys('pairs', 'residuals', pair_keys) }}
),

-- r explains t when t keeps no excess without r's attempts (no attempt left counts too) and r
-- is the wider story: less of r's excess lies in t than of t's in r (a processor outage holds
-- the card brand's excess, and more), by a margin of {{ attribution_margin }}; when the shares are
-- that close, the more concentrated segment (higher lift, then score) is the root — an issuer
-- country explains the card payment method it lifts. The overall and decline-class segments
-- never explain, so any segment may explain them.
explained as (
    select
        tested.window_grain,
        tested.window_start,
        tested.segment_type,
        tested.segment_value,
        tested.root_type,
        tested.root_value
    from pair_tests as tested
    left join pair_tests as reverse
        on {{ same_keys('tested', 'reverse', [
            'window_grain', 'window_start',
            ['segment_type', 'root_type'], ['segment_value', 'root_value'],
            ['root_type', 'segment_type'], ['root_value', 'segment_value'],
        ]) }}
    where not tested.is_abnormal_without_root
        -- an anomalous window is only explained by an anomalous one: an anomaly never vanishes
        and (tested.root_is_anomalous or not tested.is_anomalous)
        and (
            tested.segment_type in ('overall', 'decline_class')
            or coalesce(reverse.excess_share_in_root, 0) + {{ attribution_margin }}
            < coalesce(tested.excess_share_in_root, 1)
            or (
                abs(coalesce(reverse.excess_share_in_root, 0) - coalesce(tested.excess_share_in_root, 1))
                <= {{ attribution_margin }}
                and tested.root_outranks
            )
        )
    qualify row_number() over (
            partition by tested.window_grain, tested.window_start, tested.segment_type, tested.segment_value
            order by tested.root_rank desc
        ) = 1
),

-- When the explaining segment is itself explained by a third, follow the chain (two more hops)
-- so that every collateral window points at a root.
explained_by_root as (
    select
        first_hop.window_grain,
        first_hop.window_start,
        first_hop.segment_type,
        first_hop.segment_value,
        coalesce(third_hop.root_type, second_hop.root_type, first_hop.root_type) as root_type,
        coalesce(third_hop.root_value, second_hop.root_value, first_hop.root_value) as root_value
    from explained as first_hop
    left join explained as second_hop
        on {{ same_keys('first_hop', 'second_hop', next_hop) }}
    left join explained as third_hop
        on {{ same_keys('second_hop', 'third_hop', next_hop) }}
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
