{#- Whether the data covers the whole month starting on `month_start`: the month starts on or
    after the data's first day and ended on or before the as-of date. `coverage` is the alias of
    int_data_coverage in the calling query. -#}
{% macro is_complete_month(month_start, coverage='coverage') -%}
    ({{ month_start }} >= {{ coverage }}.coverage_start_date
    and last_day({{ month_start }}) <= {{ coverage }}.coverage_end_date)
{%- endmacro %}
