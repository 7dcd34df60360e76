{#- The later of two events of one record, moved to the earlier one's time when the source's
    clocks put it slightly before (ingestion quarantines anything beyond the contract's
    clock-skew tolerance). Not greatest(): DuckDB's greatest() skips NULL, and a missing
    event must stay missing. -#}
{% macro not_before(later, earlier) -%}
    case when {{ later }} < {{ earlier }} then {{ earlier }} else {{ later }} end
{%- endmacro %}
