-- One row per incident: consecutive anomalous windows of one segment (one attack, for card
-- testing), with start, end (null while open), peak, size and severity. What alerts are made of.
{%- set card_testing_gap_minutes = var('card_testing_gap_minutes') %}
{%- set max_silence_windows = var('incident_max_silence_windows') %}
{%- set critical_rate_increase = var('incident_critical_rate_increase') %}
{%- set high_lift = var('incident_high_lift') %}
{%- set card_testing_critical_cards = var('incident_card_testing_critical_cards') %}
{%- set card_testing_critical_validated = var('incident_card_testing_critical_validated') %}
{%- set dispute_critical_lift = var('incident_dispute_critical_lift') %}

with roots as (
    select
        *,
        -- The window that defines the peak: the most significant one; for card testing the burst
        -- with the most cards (a device, then a customer, then a BIN on ties), for network
        -- ratios the highest ratio.
        (
            case when detector in ('card_testing', 'network_ratio') then observed_value else score end,
            case segment_type when 'device' then 3 when 'customer' then 2 else 1 end,
            window_start
        ) as peak_order
    from {{ ref('anomalies') }}
    where is_root
),

as_of as (
    select as_of_at from {{ ref('int_as_of') }}
),

normal_windows as (
    select
        'failure_rate' as detector,
        segment_type,
        segment_value,
        window_grain,
        window_end
    from {{ ref('int_failure_rate_windows') }}
    where not is_elevated
    union all
    select
        'dispute_spike' as detector,
        'overall' as segment_type,
        'all' as segment_value,
        'day' as window_grain,
        day_end as window_end
    from {{ ref('disputes_daily') }}
    where not is_elevated
),

incident_spans as (
    select
        incident_id,
        any_value(detector) as detector,
        any_value(segment_type) as segment_type,
        any_value(segment_value) as segment_value,
        any_value(window_grain) as window_grain,
        max(window_end) as last_window_end
    from roots
    group by incident_id
),

-- The first complete normal window after an incident's last elevated one, if any yet.
back_to_normal as (
    select
        incident_spans.incident_id,
        min(normal_windows.window_end) as first_normal_end
    from incident_spans
    cross join as_of
    inner join normal_windows
        on {{ same_keys(
                'incident_spans', 'normal_windows', ['detector', 'segment_type', 'segment_value', 'window_grain']
            ) }}
            and incident_spans.last_window_end < normal_windows.window_end
            and as_of.as_of_at >= normal_windows.window_end
    group by incident_spans.incident_id
),

grouped as (
    select
        incident_id,
        any_value(detector) as detector,
        any_value(metric) as metric,
        max_by(segment_type, peak_order) as segment_type,
        max_by(segment_value, peak_order) as segment_value,
        any_value(window_grain) as window_grain,
        any_value(value_unit) as value_unit,
        min(window_start) as started_at,
        max(window_end) as last_window_end,
        min(detected_at) filter (where is_trigger) as first_detected_at,
        count(*) as window_count,
        sum(attempts) as sum_attempts,
        sum(events) as sum_events,
        sum(expected_events) as sum_expected_events,
        sum(revenue_affected) as sum_revenue_affected,
        max(revenue_affected) as max_revenue_affected,
        max_by(window_start, peak_order) as peak_window_start,
        max_by(observed_value, peak_order) as peak_observed_value,
        max_by(expected_value, peak_order) as peak_expected_value,
        max_by(attempts, peak_order) as peak_attempts,
        max_by(events, peak_order) as peak_events,
        max_by(lift, peak_order) as peak_lift,
        max(score) as peak_score,
        any_value(reporting_currency) as reporting_currency
    from roots
    group by incident_id
),

sized as (
    select
        grouped.*,
        -- Bursts of one attack seen through a device and a BIN are the same attempts: the
        -- attack's size is its largest burst, not their sum.
        case when value_unit = 'cards' then peak_attempts else sum_attempts end as attempts,
        case when value_unit = 'cards' then peak_events else sum_events end as events,
        case value_unit
            when 'rate' then sum_events / nullif(sum_attempts, 0)
            when 'count' then sum_events
            else peak_observed_value
        end as observed_value,
        case value_unit
            when 'rate' then sum_expected_events / nullif(sum_attempts, 0)
            when 'count' then sum_expected_events
            else peak_expected_value
        end as expected_value,
        case when value_unit = 'cards' then max_revenue_affected else sum_revenue_affected end
            as revenue_affected,
        as_of.as_of_at,
        -- Over once a complete window of the segment is back to normal after the last elevated
        -- one, or after `incident_max_silence_windows` windows without data (card testing: the
        -- burst gap; network ratios: a month). One sum per branch: Spark's intervals of months
        -- and of hours or days are different types, which one case expression cannot return.
        not(
            back_to_normal.first_normal_end is not null
            or as_of.as_of_at >= case grouped.window_grain
                when 'hour' then grouped.last_window_end + interval {{ max_silence_windows }} hours
                when 'day' then grouped.last_window_end + interval {{ max_silence_windows }} days
                when 'month' then grouped.last_window_end + interval 1 month
                else grouped.last_window_end + interval {{ card_testing_gap_minutes }} minutes
            end
        ) as is_open
    from grouped
    cross join as_of
    left join back_to_normal on grouped.incident_id = back_to_normal.incident_id
),

with_bursts as (
    select
        sized.*,
        bursts.cards_validated,
        {{ date_diff('minute', "bursts.started_at", "bursts.ended_at") }} as burst_minutes
    from sized
    left join {{ ref('card_testing_bursts') }} as bursts
        on {{ is_card_testing_burst_of('sized', 'bursts', 'peak_window_start') }}
),

classified as (
    select
        *,
        case detector
            when 'failure_rate' then 'failure_rate_spike'
            when 'network_ratio' then 'network_ratio_breach'
            else detector
        end as incident_type,
        case detector
            when 'failure_rate'
                then case
                        when peak_observed_value - peak_expected_value >= {{ critical_rate_increase }}
                            then 'critical'
                        when peak_lift >= {{ high_lift }} then 'high'
                        else 'warning'
                    end
            when 'card_testing'
                then case
                        when peak_observed_value >= {{ card_testing_critical_cards }}
                            or cards_validated >= {{ card_testing_critical_validated }} then 'critical'
                        else 'high'
                    end
            when 'dispute_spike'
                then case
                        when peak_lift >= {{ dispute_critical_lift }} then 'critical' else 'high'
                    end
            -- network ratios: the score is the level reached (1 early warning ... 3 high excessive)
            else case peak_score when 3 then 'critical' when 2 then 'high' else 'warning' end
        end as severity
    from with_bursts
)

select
    classified.incident_id,
    detector,
    incident_type,
    metric,
    segment_type,
    segment_value,
    window_grain,
    started_at,
    case when not is_open then last_window_end end as ended_at,
    last_window_end,
    first_detected_at,
    is_open,
    window_count::integer as window_count,
    attempts::bigint as attempts,
    events::bigint as events,
    observed_value,
    expected_value,
    value_unit,
    peak_window_start,
    peak_observed_value,
    peak_expected_value,
    peak_score,
    peak_lift,
    revenue_affected::decimal(18, 2) as revenue_affected,
    reporting_currency,
    severity,
    -- printf, not DuckDB's format(): Spark has printf-style formatting only.
    case detector
        when 'failure_rate'
            then printf(
                    'Failure rate of %s = %s at %.1f%% vs %.1f%% expected over %d %s(s): '
                    || '%d of %d attempts failed.',
                    segment_type, segment_value, 100 * observed_value, 100 * expected_value,
                    window_count, window_grain, events, attempts
                )
        when 'card_testing'
            then printf(
                    'Card testing from %s %s: %d distinct cards tried in %d minutes, '
                    || '%d of %d attempts declined, %d card(s) validated.',
                    segment_type, segment_value, observed_value::bigint, burst_minutes, events, attempts,
                    cards_validated
                )
        when 'dispute_spike'
            then printf(
                    '%d disputes opened vs %.1f expected over %d day(s).',
                    events, expected_value, window_count
                )
        else printf(
                '%s ratio %.2f%% reached its %s level (%.2f%%): %d cases over %d transactions.',
                segment_value, 100 * peak_observed_value,
                case peak_score when 3 then 'high excessive' when 2 then 'excessive' else 'early warning' end,
                100 * peak_expected_value, peak_events, peak_attempts
            )
    end as summary,
    'select * from marts.anomalies where incident_id = ''' || classified.incident_id
    || ''' order by window_start' as drill_query,
    as_of_at as as_of,
    -- what to act on: example attempts and customers, where they concentrate (int_incident_examples)
    examples.example_attempt_ids,
    examples.example_customers,
    examples.top_decline_codes,
    examples.top_card_bins,
    examples.top_card_countries
from classified
left join {{ ref('int_incident_examples') }} as examples on classified.incident_id = examples.incident_id
