{#- The last non-null value of `expr` in a window frame, followed by the caller's `over (...)`.
    DuckDB takes IGNORE NULLS inside the call, Spark as the second argument of last(). -#}
{% macro last_non_null(expr) -%}
    {{ return(adapter.dispatch('last_non_null')(expr)) }}
{%- endmacro %}

{% macro default__last_non_null(expr) -%}
    last_value({{ expr }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(expr) -%}
    last({{ expr }}, true)
{%- endmacro %}
