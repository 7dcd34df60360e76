{#- On Spark, the `raw` source is the ingestion's Parquet export (orchestration/spark.py): each
    raw table is (re)registered over its folder at the start of every run, so a new export is
    read as it is. A no-op on DuckDB, where ingestion writes `raw` itself. -#}
{% macro register_spark_raw() -%}
    {%- if target.type == 'spark' and execute -%}
        {%- set folder = var('spark_raw_dir') -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for node in graph.sources.values() if node.source_name == 'raw' -%}
            {%- do run_query('drop table if exists raw.' ~ node.name) -%}
            {%- do run_query(
                'create table raw.' ~ node.name ~ " using parquet location '"
                ~ folder ~ '/' ~ node.name ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
