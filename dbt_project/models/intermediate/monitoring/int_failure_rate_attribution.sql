-- Attribution of the failure-rate detector (method: failure_rates.yml): for each elevated window
-- of int_failure_rate_scored that another segment explains, the root segment that explains it
-- (root_type, root_value), the chain of explanations followed to its end. Windows nothing
-- explains have no row. A table of its own: it reads the pairs of elevated windows many times,
-- which Spark would otherwise re-plan at every reference inside int_failure_rate_windows.
{%- set continue_score = var('failure_rate_continue_score') %}
{%- set attribution_margin = var('failure_rate_attribution_margin') %}
{%- set window_keys = ['window_grain', 'window_start', 'segment_type', 'segment_value'] %}
{%- set pair_keys = window_keys + ['root_type', 'root_value'] %}
{#- From a window explained by a root to the root's own window (itself perhaps explained). -#}
{%- set next_hop = [
    'window_grain', 'window_start', ['root_type', 'segment_type'], ['root_value', 'segment_value']
] %}

with windows_scored as (
    select * from {{ ref('int_failure_rate_scored') }}
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
)

select * from explained_by_root
