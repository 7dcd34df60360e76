{#- The published failure-rate mart of one grain ('hour' or 'day'): one detector, two window
    lengths, so both marts are this one select. Only hours carry the CUSUM, which accumulates
    evidence across hours (failure_rates.yml). -#}
{% macro failure_rates_at_grain(grain) -%}
{%- if grain not in ('hour', 'day') %}
    {{ exceptions.raise_compiler_error("failure_rates_at_grain: grain is 'hour' or 'day', not " ~ grain) }}
{%- endif %}
select
    segment_type,
    segment_value,
    window_start,
    window_end,
    attempts,
    failures,
    failure_rate,
    amount_attempted as amount_attempted_reporting,
    amount_failed as amount_failed_reporting,
    seasonal_slot,
    level_rate,
    history_attempts,
    weekly_expected_rate,
    day_of_month_factor,
    expected_rate,
    expected_rate_upper,
    lift,
    excess_failures,
    score,
    revenue_affected,
    is_screened_out,
    evaluation_status,
    is_anomalous,
    anomaly_basis,
    stretch_score,
    {%- if grain == 'hour' %}
    cusum_increment,
    cusum,
    {%- endif %}
    is_elevated,
    elevation_run,
    explained_by
from {{ ref('int_failure_rate_windows') }}
where window_grain = '{{ grain }}'
{%- endmacro %}
