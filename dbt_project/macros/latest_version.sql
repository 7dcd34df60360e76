{#- Keep only the current version of each record: raw tables hold every version (contract.py). -#}
{#- Newest updated_at wins; ties go to the later load, then the later row of the file. -#}
{% macro latest_version(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by updated_at desc, _loaded_at desc, _source_row desc
    ) = 1
{%- endmacro %}
