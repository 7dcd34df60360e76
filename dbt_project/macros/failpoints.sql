{#- Named crash points inside dbt's transactions, for the crash-safety tests
    (tests/reliability/test_crash_safety.py; the Python ones are in orchestration/failpoints.py).
    With ARREARS_FAILPOINT set to the name, the statement writes the file ARREARS_FAILPOINT_MARKER
    names and then runs until the test kills the whole build (SIGKILL) in the middle of the open
    transaction, as a power cut would. Unset, it renders nothing. -#}
{% macro failpoint(name) -%}
    {%- if env_var('ARREARS_FAILPOINT', '') == name %}
    copy (select '{{ name }}' as failpoint) to '{{ env_var("ARREARS_FAILPOINT_MARKER") }}' (format csv);
    select sum(range) from range(1000000000000000);
    {%- endif -%}
{%- endmacro %}

{#- dbt-duckdb's delete+insert with a crash point between its delete and its insert, where a
    model's touched rows are gone and their new versions not yet written. Every incremental model
    of the project uses this strategy. -#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set merge = dbt.duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set parts = merge.split('insert into', 1) -%}
    {{ parts[0] }}
    {{ failpoint('dbt.' ~ target.identifier ~ '.between_delete_and_insert') }}
    insert into{{ parts[1] }}
{%- endmacro %}
