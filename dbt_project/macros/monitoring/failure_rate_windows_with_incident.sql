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
