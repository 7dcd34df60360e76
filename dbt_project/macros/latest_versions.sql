{#- The current version of each record of a raw table, which keeps every version (contract.py). -#}
{#- Newest updated_at wins; ties go to the later load, then the later row of the file. -#}
{#- Only the key, the ordering columns and rowid are ranked; the winning rows are then fetched by
    rowid. Ranking whole rows sorts (and at scale spills) every wide row: twice as slow. -#}
{#- only_keys: a query of the keys wanted (an incremental model's scope). The other keys' versions
    are then not ranked at all: DuckDB does not push a semi join below the window. -#}
{% macro latest_versions(relation, key, only_keys=none) -%}
    {{ return(adapter.dispatch('latest_versions')(relation, key, only_keys)) }}
{%- endmacro %}

{% macro default__latest_versions(relation, key, only_keys) -%}
    select * from {{ relation }}
    where rowid in (
        select rowid from {{ relation }}
        {%- if only_keys %}
        where {{ key }} in ({{ only_keys }})
        {%- endif %}
        {{ newest_version_only(key) }}
    )
{%- endmacro %}


{#- Spark has no rowid: whole rows are ranked (its sort spills across the cluster instead). -#}
{% macro spark__latest_versions(relation, key, only_keys) -%}
    select * from {{ relation }}
    {%- if only_keys %}
    where {{ key }} in ({{ only_keys }})
    {%- endif %}
    {{ newest_version_only(key) }}
{%- endmacro %}


{% macro newest_version_only(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by updated_at desc, _loaded_at desc, _source_row desc
    ) = 1
{%- endmacro %}
