-- One row per anomalous window and segment, from every detector, each tied to the incident it
-- belongs to: its own (a root) or the one of the segment that explains it (collateral).
-- Method and parameters: anomalies.yml.
{%- set card_testing_gap_minutes = var('card_testing_gap_minutes') %}
{%- set max_silence_windows = var('incident_max_silence_windows') %}
{#- The detectors other than failure rates explain nothing and are explained by nothing. -#}
{%- set not_explained -%}
        null as explained_by,
        null as explained_by_grain,
        null as explained_by_segment_type,
        null as explained_by_segment_value,
        null as explained_by_window_start
{%- endset %}

with as_of as (
    select as_of_at from {{ ref('int_as_of') }}
),

-- Elevated windows: the anomalous ones, and the ones above normal at a lower bar that keep an
-- open incident going (hysteresis); `elevation_run` numbers each unbroken stretch of them.
failure_rate as (
    select
        'failure_rate' as detector,
        'failure_rate' as metric,
        segment_type,
        segment_value,
        window_grain,
        window_start,
        window_end,
        attempts,
        failures as events,
        failure_rate as observed_value,
        expected_rate as expected_value,
        expected_rate * attempts as expected_events,
        'rate' as value_unit,
        lift,
        score,
        revenue_affected,
        is_anomalous,
        elevation_run,
        explained_by,
        explained_by_grain,
        explained_by_segment_type,
        explained_by_segment_value,
        explained_by_window_start
    from {{ ref('int_failure_rate_windows') }}
    where is_elevated
),

card_testing as (
    select
        'card_testing' as detector,
        'distinct_cards_tried' as metric,
        entity_type as segment_type,
        entity_value as segment_value,
        'burst' as window_grain,
        started_at as window_start,
        ended_at as window_end,
        attempts,
        failures as events,
        distinct_cards as observed_value,
        null as expected_value,
        null as expected_events,
        'cards' as value_unit,
        null as lift,
        null as score,
        amount_attempted_reporting as revenue_affected,
        true as is_anomalous,
        null as elevation_run,
        {{ not_explained }}
    from {{ ref('card_testing_bursts') }}
    where is_card_testing
),

dispute_spike as (
    select
        'dispute_spike' as detector,
        'disputes_opened' as metric,
        'overall' as segment_type,
        'all' as segment_value,
        'day' as window_grain,
        day_start as window_start,
        day_end as window_end,
        null as attempts,
        disputes as events,
        disputes as observed_value,
        expected_disputes as expected_value,
        expected_disputes as expected_events,
        'count' as value_unit,
        lift,
        score,
        revenue_affected,
        is_anomalous,
        elevation_run,
        {{ not_explained }}
    from {{ ref('disputes_daily') }}
    where is_elevated
),

network_ratio as (
    -- The highest level reached by each program in each month.
    select
        'network_ratio' as detector,
        program || '_ratio' as metric,
        'network_program' as segment_type,
        program as segment_value,
        'month' as window_grain,
        month_start as window_start,
        month_end as window_end,
        transactions as attempts,
        cases as events,
        ratio as observed_value,
        ratio_threshold as expected_value,
        null as expected_events,
        'ratio' as value_unit,
        ratio / ratio_threshold as lift,
        level_rank as score,
        null as revenue_affected,
        true as is_anomalous,
        null as elevation_run,
        {{ not_explained }}
    from {{ ref('dispute_network_ratios') }}
    where is_reached
    qualify row_number() over (partition by program, month_start order by level_rank desc) = 1
),

detected as (
    select * from failure_rate
    union all
    select * from card_testing
    union all
    select * from dispute_spike
    union all
    select * from network_ratio
),

with_detection_time as (
    select
        detected.*,
        -- The earliest a run could have raised it: when the window closed (or now, if still
        -- open); for card testing, when the burst's N-th card was tried.
        case
            when detected.detector = 'card_testing' then bursts.detected_at
            else least(detected.window_end, as_of.as_of_at)
        end as detected_at
    from detected
    cross join as_of
    left join {{ ref('card_testing_bursts') }} as bursts
        on {{ is_card_testing_burst_of('detected', 'bursts') }}
),

-- Incidents. Root windows of one detector and segment form one incident while they follow each
-- other: the same unbroken elevated stretch with no more than `incident_max_silence_windows`
-- windows without data in between (card testing: bursts of any customer, device or BIN less than
-- `card_testing_gap_minutes` apart, one attack being seen through all of them; network ratios:
-- consecutive months). A stretch that never met the anomaly thresholds is no incident.
roots as (
    select
        *,
        case
            when detector = 'card_testing' then 'attack'
            else concat_ws('|', segment_type, segment_value, window_grain, elevation_run)
        end as stretch_key,
        case
            when detector = 'card_testing' then interval {{ card_testing_gap_minutes }} minutes
            when window_grain = 'hour' then interval {{ max_silence_windows }} hours
            when window_grain = 'day' then interval {{ max_silence_windows }} days
            else interval 0 seconds
        end as allowed_gap
    from with_detection_time
    where explained_by is null
),

incident_starts as (
    select
        *,
        coalesce(
            window_start > max(window_end) over (
                partition by detector, stretch_key
                order by window_start, segment_type, segment_value
                rows between unbounded preceding and 1 preceding
            ) + allowed_gap,
            true
        ) as starts_incident
    from roots
),

incident_numbers as (
    select
        *,
        sum(starts_incident::int) over (
            partition by detector, stretch_key
            order by window_start, segment_type, segment_value
            rows unbounded preceding
        ) as incident_number
    from incident_starts
),

root_incidents as (
    select
        {{ star_except(['stretch_key', 'allowed_gap', 'starts_incident', 'incident_number']) }},
        -- Stable across runs: detector, segment, grain and start (card testing: detector and
        -- start, the attack's leading entity may change as it unfolds).
        md5(concat_ws(
            '|', detector,
            case when detector = 'card_testing' then 'attack'
                else concat_ws('|', segment_type, segment_value, window_grain)
            end,
            min(window_start) over incident
        )) as incident_id,
        bool_or(is_anomalous) over incident as has_trigger
    from incident_numbers
    window incident as (partition by detector, stretch_key, incident_number)
    qualify has_trigger
),

explained as (
    select * from with_detection_time
    where explained_by is not null
),

-- The failure-rate hours that are roots of an incident: what a collateral hour is explained by.
root_hours as (
    select
        segment_type,
        segment_value,
        window_start,
        incident_id
    from root_incidents
    where detector = 'failure_rate' and window_grain = 'hour'
),

-- A collateral hour takes the incident of the segment that explains it in that hour.
explained_hours as (
    {{- collateral_with_incident('root_hours', "explained.window_grain = 'hour'") }}
),

hours_with_incident as (
    {{- failure_rate_windows_with_incident('root_incidents', 'explained_hours', 'hour') }}
),

-- A day told by anomalous hours of its segment takes the incident of the first such hour that
-- day, or of the last one the day before (retries the day after).
days_covered_by_hours as (
    select
        explained.*,
        case
            when explained.explained_by_window_start = explained.window_start
                then hours.first_incident_id
            else hours.last_incident_id
        end as incident_id
    from explained
    left join (
        select
            segment_type,
            segment_value,
            date_trunc('day', window_start) as day_start,
            min_by(incident_id, window_start) as first_incident_id,
            max_by(incident_id, window_start) as last_incident_id
        from hours_with_incident
        group by all
    ) as hours
        on explained.segment_type = hours.segment_type
            and explained.segment_value = hours.segment_value
            and explained.explained_by_window_start = hours.day_start
    where explained.window_grain = 'day'
        and explained.explained_by_grain = 'hour'
),

days_with_incident as (
    {{- failure_rate_windows_with_incident('root_incidents', 'days_covered_by_hours', 'day') }}
),

-- A collateral day takes the incident of the day that explains it, wherever that one went.
explained_days as (
    {{- collateral_with_incident(
        'days_with_incident',
        "explained.window_grain = 'day' and explained.explained_by_grain = 'day'",
    ) }}
),

all_anomalies as (
    select {{ star_except(['has_trigger']) }} from root_incidents
    union all
    select * from explained_hours
    union all
    select * from days_covered_by_hours
    union all
    select * from explained_days
)

select
    md5(concat_ws('|', detector, segment_type, segment_value, window_grain, window_start))
        as anomaly_id,
    incident_id,
    detector,
    metric,
    segment_type,
    segment_value,
    window_grain,
    window_start,
    window_end,
    detected_at,
    attempts::bigint as attempts,
    events::bigint as events,
    observed_value::double as observed_value,
    expected_value::double as expected_value,
    expected_events::double as expected_events,
    value_unit,
    lift::double as lift,
    score::double as score,
    revenue_affected::decimal(18, 2) as revenue_affected,
    '{{ var("reporting_currency") }}' as reporting_currency,
    explained_by is null as is_root,
    -- False for a window below the anomaly thresholds that keeps an open incident going.
    is_anomalous as is_trigger,
    explained_by
from all_anomalies
