{#- The keys and windows the monitoring models share (int_failure_rate_windows, anomalies,
    incidents): one spelling of "the same window of the same segment". -#}

{#- `left`.k = `right`.k for each key k of `keys`, joined by `and`; a key given as a pair
    [left column, right column] matches two different names (a segment against its root). -#}
{% macro same_keys(left, right, keys) -%}
    {%- for key in keys -%}
        {%- if key is string -%}
            {{ left }}.{{ key }} = {{ right }}.{{ key }}
        {%- else -%}
            {{ left }}.{{ key[0] }} = {{ right }}.{{ key[1] }}
        {%- endif -%}
        {{ "\n            and " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- A window over one segment's windows of one grain, oldest first, up to the current one: what
    cumulative evidence (the CUSUM, a stretch of elevated days) adds up over. `extra` partitions
    further (a run, a stretch); `relation` qualifies the columns when the select joins. -#}
{% macro segment_so_far(extra=[], relation=none) -%}
    {%- set prefix = relation ~ "." if relation else "" -%}
    partition by
        {%- for column in ['window_grain', 'segment_type', 'segment_value'] + extra %}
        {{ prefix }}{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    order by {{ prefix }}window_start
    rows unbounded preceding
{%- endmacro %}

{#- The card-testing burst an anomaly (or incident) row stands for: `start_column` of `relation`
    is the burst's start, its segment the burst's entity. -#}
{% macro is_card_testing_burst_of(relation, bursts, start_column='window_start') -%}
    {{ relation }}.detector = 'card_testing'
            and {{ same_keys(relation, bursts, [
                ['segment_type', 'entity_type'], ['segment_value', 'entity_value'],
                [start_column, 'started_at'],
            ]) }}
{%- endmacro %}
