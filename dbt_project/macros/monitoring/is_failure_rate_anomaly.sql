{#- The failure-rate anomaly rule (failure_rates.yml "Anomaly"), applied alike to one window and
    to a stretch of elevated windows: enough volume, an excess that is large in failures, in
    ratio and in points, and significant. Arguments as in tail_scores.sql. -#}
{% macro is_failure_rate_anomaly(failures, attempts, expected_rate, score) -%}
    (
        {{ expected_rate }} is not null
        and {{ attempts }} >= {{ var('failure_rate_min_attempts') }}
        and {{ failures }} - {{ attempts }} * {{ expected_rate }} >= {{ var('failure_rate_min_excess_failures') }}
        and {{ failures }} / {{ attempts }} >= {{ expected_rate }} * {{ var('failure_rate_min_lift') }}
        and {{ failures }} / {{ attempts }} - {{ expected_rate }} >= {{ var('failure_rate_min_increase') }}
        and {{ score }} >= {{ var('failure_rate_min_score') }}
    )
{%- endmacro %}
