{#- A series of values from `start` to `stop` (inclusive) by `step` (a number, or an interval such
    as `interval 1 day`), one row each, cast to `cast` when given.
    series(): a select-list expression (`select {{ series(...) }} as day_start`).
    series_table(): a FROM item, aliased by the caller (`cross join {{ series_table(...) }} as s (d)`);
    its arguments may refer to the tables joined before it. -#}
{% macro series(start, stop, step=none, cast=none) -%}
    {{ return(adapter.dispatch('series')(start, stop, step, cast)) }}
{%- endmacro %}

{% macro default__series(start, stop, step, cast) -%}
    unnest(generate_series({{ start }}, {{ stop }}{% if step %}, {{ step }}{% endif %})){% if cast %}::{{ cast }}{% endif %}
{%- endmacro %}

{#- A Spark generator must stand alone in its select item, so the bounds are cast instead (a
    sequence keeps its bounds' type). -#}
{% macro spark__series(start, stop, step, cast) -%}
    {%- if cast -%}
    explode(sequence(cast({{ start }} as {{ cast }}), cast({{ stop }} as {{ cast }}){% if step %}, {{ step }}{% endif %}))
    {%- else -%}
    explode(sequence({{ start }}, {{ stop }}{% if step %}, {{ step }}{% endif %}))
    {%- endif -%}
{%- endmacro %}

{% macro series_table(start, stop, step=none) -%}
    {{ return(adapter.dispatch('series_table')(start, stop, step)) }}
{%- endmacro %}

{% macro default__series_table(start, stop, step) -%}
    {{ series(start, stop, step) }}
{%- endmacro %}

{#- A lateral subquery: Spark's generators may not stand in a FROM clause of their own. -#}
{% macro spark__series_table(start, stop, step) -%}
    lateral (select {{ series(start, stop, step) }})
{%- endmacro %}
