{#- Lists (DuckDB) / arrays (Spark) of a few values per row. -#}

{#- A list of the SQL expressions `items`. -#}
{% macro list_of(items) -%}
    {{ return(adapter.dispatch('list_of')(items)) }}
{%- endmacro %}
{% macro default__list_of(items) -%} [{{ items | join(', ') }}] {%- endmacro %}
{% macro spark__list_of(items) -%} array({{ items | join(', ') }}) {%- endmacro %}

{#- How many elements of a list are not null. -#}
{% macro list_count_non_null(list) -%}
    {{ return(adapter.dispatch('list_count_non_null')(list)) }}
{%- endmacro %}
{% macro default__list_count_non_null(list) -%}
    len(list_filter({{ list }}, lambda x: x is not null))
{%- endmacro %}
{% macro spark__list_count_non_null(list) -%}
    size(filter({{ list }}, x -> x is not null))
{%- endmacro %}

{#- The median of a list's non-null elements (the mean of the middle two for an even count),
    null when there is none. Spark has no array median: the sorted non-null array is indexed. -#}
{% macro list_median(list) -%}
    {{ return(adapter.dispatch('list_median')(list)) }}
{%- endmacro %}
{% macro default__list_median(list) -%} list_median({{ list }}) {%- endmacro %}
{% macro spark__list_median(list) -%}
    {%- set sorted = "array_sort(filter(" ~ list ~ ", x -> x is not null))" -%}
    case
        when size({{ sorted }}) = 0 then null
        when size({{ sorted }}) % 2 = 1 then element_at({{ sorted }}, cast((size({{ sorted }}) + 1) / 2 as int))
        else (
            element_at({{ sorted }}, cast(size({{ sorted }}) / 2 as int))
            + element_at({{ sorted }}, cast(size({{ sorted }}) / 2 as int) + 1)
        ) / 2
    end
{%- endmacro %}

{#- The first `n` values of `value` in a group, in `order_by` order, joined with ', ' (null for no
    row). `order_by`: a list of [expression, 'asc'|'desc']; a Spark 'desc' key must be numeric (it
    sorts ascending on its negation). `where`: a filter on the group's rows; `distinct`: each value
    once. -#}
{% macro first_values_joined(value, order_by, n, where=none, distinct=false) -%}
    {{ return(adapter.dispatch('first_values_joined')(value, order_by, n, where, distinct)) }}
{%- endmacro %}

{% macro default__first_values_joined(value, order_by, n, where, distinct) -%}
    {%- set ordered -%}
        list({{ "distinct " if distinct }}{{ value }} order by {% for key, direction in order_by %}{{ key }} {{ direction }}{{ ", " if not loop.last }}{% endfor %})
    {%- endset -%}
    {%- if where -%}
    array_to_string(({{ ordered }} filter (where {{ where }}))[1:{{ n }}], ', ')
    {%- else -%}
    array_to_string({{ ordered }}[1:{{ n }}], ', ')
    {%- endif -%}
{%- endmacro %}

{#- collect_list has no ORDER BY: structs of the sort keys and the value are sorted instead. -#}
{% macro spark__first_values_joined(value, order_by, n, where, distinct) -%}
    {%- set fields = [] -%}
    {%- for key, direction in order_by -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ ("-(" ~ key ~ ")" if direction == 'desc' else key)) -%}
    {%- endfor -%}
    {%- set values -%}
        transform(
            array_sort(collect_list(named_struct({{ fields | join(', ') }}, 'v', {{ value }})){% if where %} filter (where {{ where }}){% endif %}),
            x -> x.v
        )
    {%- endset -%}
    nullif(array_join(slice({{ "array_distinct(" ~ values ~ ")" if distinct else values }}, 1, {{ n }}), ', '), '')
{%- endmacro %}

{#- The list of `value` at the `n` greatest `ordering` values of a group, greatest first. -#}
{% macro top_n_by(value, ordering, n) -%}
    {{ return(adapter.dispatch('top_n_by')(value, ordering, n)) }}
{%- endmacro %}
{% macro default__top_n_by(value, ordering, n) -%} max_by({{ value }}, {{ ordering }}, {{ n }}) {%- endmacro %}
{#- Spark's max_by(x, y, n) orders its result otherwise: sorted here, greatest ordering first. -#}
{% macro spark__top_n_by(value, ordering, n) -%}
    transform(slice(array_sort(
        collect_list(named_struct('o', {{ ordering }}, 'v', {{ value }})),
        (l, r) -> case when l.o > r.o then -1 when l.o < r.o then 1 else 0 end
    ), 1, {{ n }}), x -> x.v)
{%- endmacro %}

{#- The `i`-th element of a list, 1-based, null past its end (Spark's [] is 0-based). -#}
{% macro list_element(list, i) -%}
    {{ return(adapter.dispatch('list_element')(list, i)) }}
{%- endmacro %}
{% macro default__list_element(list, i) -%} {{ list }}[{{ i }}] {%- endmacro %}
{% macro spark__list_element(list, i) -%} try_element_at({{ list }}, {{ i }}) {%- endmacro %}
