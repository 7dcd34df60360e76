{#- A FROM item of a few rows computed from the tables joined before it: `rows` is a list of rows,
    each a list of SQL expressions, named `columns`; the caller aliases it
    (`cross join {{ lateral_values([['a', '1'], ['b', '-1']], ['day', 'sign']) }} as x (day, sign)`).
    Spark evaluates no outer reference in a VALUES list: an inline() of structs instead. -#}
{% macro lateral_values(rows, columns) -%}
    {{ return(adapter.dispatch('lateral_values')(rows, columns)) }}
{%- endmacro %}

{% macro default__lateral_values(rows, columns) -%}
    lateral (
        values {% for row in rows %}({{ row | join(', ') }}){{ ", " if not loop.last }}{% endfor %}
    )
{%- endmacro %}

{% macro spark__lateral_values(rows, columns) -%}
    lateral (
        select inline(array(
            {%- for row in rows %}
            named_struct({% for value in row %}'{{ columns[loop.index0] }}', {{ value }}{{ ", " if not loop.last }}{% endfor %}){{ "," if not loop.last }}
            {%- endfor %}
        ))
    )
{%- endmacro %}
