{#- An amount in the reporting currency, to the cent. DuckDB multiplies two DECIMAL(18)s in 64
    bits at scale 2 + 10, so an amount worth more than ~9.2 million in the reporting currency
    overflowed and stopped the whole build: the amount is widened first. -#}
{% macro to_reporting(amount, rate) -%}
    round({{ amount }}::decimal(38, 2) * {{ rate }}, 2)::decimal(18, 2)
{%- endmacro %}
