{#- anomalies.sql: the failure-rate windows of one grain that belong to an incident, as
    (segment_type, segment_value, window_start, incident_id) — the roots' own windows and the
    `collateral` ones that took the incident of the window explaining them. Hours and days are
    linked the same way, hours first (a day may take the incident of its hours). -#}
{% macro failure_rate_windows_with_incident(roots, collateral, grain) %}
    select
        segment_type,
        segment_value,
        window_start,
        incident_id
    from {{ roots }}
    where detector = 'failure_rate' and window_grain = '{{ grain }}'
    union all
    select
        segment_type,
        segment_value,
        window_start,
        incident_id
    from {{ collateral }}
{%- endmacro %}


{#- anomalies.sql: the collateral windows `where` selects from its `explained` CTE, each with the
    incident of the window that explains it (the explaining segment's window at the same start)
    in `explaining` (segment_type, segment_value, window_start, incident_id); null when that
    window belongs to no incident. -#}
{% macro collateral_with_incident(explaining, where) %}
    select
        explained.*,
        {{ explaining }}.incident_id
    from explained
    left join {{ explaining }}
        on {{ same_keys('explained', explaining, [
            ['explained_by_segment_type', 'segment_type'],
            ['explained_by_segment_value', 'segment_value'],
            'window_start',
        ]) }}
    where {{ where }}
{%- endmacro %}
