{#- Every column of a FROM item but `columns` (a list of names): `relation` is the item's alias, or
    none for all of them. DuckDB spells it EXCLUDE, Spark EXCEPT. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except')(columns, relation)) }}
{%- endmacro %}

{% macro default__star_except(columns, relation) -%}
    {% if relation %}{{ relation }}.{% endif %}* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns, relation) -%}
    {% if relation %}{{ relation }}.{% endif %}* except ({{ columns | join(', ') }})
{%- endmacro %}
