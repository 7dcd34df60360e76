{#- DOMAIN.md ageing buckets by days past due: current (not yet due, <= 0) · 1-30 · 31-60 · 61-90 · 91+. -#}
{% macro ageing_bucket(days_past_due) -%}
    case
        when {{ days_past_due }} <= 0 then 'current'
        when {{ days_past_due }} <= 30 then '1-30'
        when {{ days_past_due }} <= 60 then '31-60'
        when {{ days_past_due }} <= 90 then '61-90'
        else '91+'
    end
{%- endmacro %}

{#- Days past due between two dates, as in DOMAIN.md: whole days from the due date. -#}
{% macro days_past_due(due_date, as_of_date) -%}
    {{ date_diff('day', due_date, as_of_date) }}
{%- endmacro %}
