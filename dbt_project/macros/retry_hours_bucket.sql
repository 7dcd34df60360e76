{#- Bucket of the wait before a retry, prefixed with its sort order ("03: 1-2d"): shared by
    retry_performance and retry_heatmap so both slice retries the same way. -#}
{% macro retry_hours_bucket(hours) -%}
    case
        when {{ hours }} < 1 then '00: <1h'
        when {{ hours }} < 6 then '01: 1-6h'
        when {{ hours }} < 24 then '02: 6-24h'
        when {{ hours }} < 48 then '03: 1-2d'
        when {{ hours }} < 72 then '04: 2-3d'
        when {{ hours }} < 120 then '05: 3-5d'
        when {{ hours }} < 168 then '06: 5-7d'
        else '07: 7d+'
    end
{%- endmacro %}
