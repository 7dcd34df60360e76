{#- Scalar and aggregate functions spelled differently by DuckDB and Spark. The DuckDB spelling
    is the one the models had, so the DuckDB SQL is unchanged. -#}

{#- An interval of `days` days, to add to or subtract from a timestamp. -#}
{% macro days_interval(days) -%}
    {{ return(adapter.dispatch('days_interval')(days)) }}
{%- endmacro %}
{% macro default__days_interval(days) -%} to_days({{ days }}) {%- endmacro %}
{% macro spark__days_interval(days) -%} make_dt_interval({{ days }}) {%- endmacro %}

{#- SHA-256 of a string as 64 lowercase hex digits. -#}
{% macro sha256_hex(text) -%}
    {{ return(adapter.dispatch('sha256_hex')(text)) }}
{%- endmacro %}
{% macro default__sha256_hex(text) -%} sha256({{ text }}) {%- endmacro %}
{% macro spark__sha256_hex(text) -%} sha2({{ text }}, 256) {%- endmacro %}

{#- ISO day of the week: Monday 1 ... Sunday 7. -#}
{% macro iso_day_of_week(ts) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(ts)) }}
{%- endmacro %}
{% macro default__iso_day_of_week(ts) -%} isodow({{ ts }}) {%- endmacro %}
{% macro spark__iso_day_of_week(ts) -%} (weekday({{ ts }}) + 1) {%- endmacro %}

{#- The English day name in full ('Monday'): Spark's dayname() abbreviates it. -#}
{% macro day_name(ts) -%}
    {{ return(adapter.dispatch('day_name')(ts)) }}
{%- endmacro %}
{% macro default__day_name(ts) -%} dayname({{ ts }}) {%- endmacro %}
{% macro spark__day_name(ts) -%} date_format({{ ts }}, 'EEEE') {%- endmacro %}

{#- The median (interpolated between the two middle values), usable as a window function with a
    frame: Spark's median() refuses frames, its percentile() is the same statistic. -#}
{% macro window_median(expr) -%}
    {{ return(adapter.dispatch('window_median')(expr)) }}
{%- endmacro %}
{% macro default__window_median(expr) -%} median({{ expr }}) {%- endmacro %}
{% macro spark__window_median(expr) -%} percentile({{ expr }}, 0.5) {%- endmacro %}

{#- The n-th smallest value of `expr` in a group (1-based), null when the group has fewer. -#}
{% macro nth_smallest(expr, n) -%}
    {{ return(adapter.dispatch('nth_smallest')(expr, n)) }}
{%- endmacro %}
{% macro default__nth_smallest(expr, n) -%} list_sort(list({{ expr }}))[{{ n }}] {%- endmacro %}
{% macro spark__nth_smallest(expr, n) -%}
    try_element_at(sort_array(collect_list({{ expr }})), {{ n }})
{%- endmacro %}

{#- `with x as {{ materialized_cte() }} (...)`: DuckDB computes the CTE once for its several
    readers; Spark has no such hint (its optimiser decides). -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}
{% macro default__materialized_cte() -%} materialized {%- endmacro %}
{% macro spark__materialized_cte() -%} {%- endmacro %}

{#- An integer as text with a comma between thousands ("12,345"). -#}
{% macro thousands(n) -%}
    {{ return(adapter.dispatch('thousands')(n)) }}
{%- endmacro %}
{% macro default__thousands(n) -%} format('{:,}', {{ n }}) {%- endmacro %}
{% macro spark__thousands(n) -%} format_number({{ n }}, 0) {%- endmacro %}

{#- `value` of the row with the greatest `ordering`, null when that row's value is null: DuckDB's
    arg_max / max_by skip rows with a null value (an older row's would win), Spark's max_by
    does not. -#}
{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_max(value, ordering) -%} arg_max_null({{ value }}, {{ ordering }}) {%- endmacro %}
{% macro spark__value_at_max(value, ordering) -%} max_by({{ value }}, {{ ordering }}) {%- endmacro %}
