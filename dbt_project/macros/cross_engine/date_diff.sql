{#- The number of `part` boundaries ('second', 'minute', 'hour', 'day') crossed from `start` to
    `end`, DuckDB's date_diff: 10:00:59 -> 10:01:00 is one minute. Spark's timestampdiff counts
    whole units elapsed instead (zero there), so its bounds are truncated to the part first.
    A bigint, as DuckDB's (Spark's datediff is an int). -#}
{% macro date_diff(part, start, end) -%}
    {{ return(adapter.dispatch('date_diff')(part, start, end)) }}
{%- endmacro %}

{% macro default__date_diff(part, start, end) -%}
    date_diff('{{ part }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__date_diff(part, start, end) -%}
    {%- if part == 'day' -%}
    cast(datediff(cast({{ end }} as date), cast({{ start }} as date)) as bigint)
    {%- else -%}
    timestampdiff({{ part }}, date_trunc('{{ part }}', {{ start }}), date_trunc('{{ part }}', {{ end }}))
    {%- endif -%}
{%- endmacro %}
