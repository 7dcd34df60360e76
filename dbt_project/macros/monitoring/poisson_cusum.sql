{#- The daily Poisson CUSUM of disputes (disputes_daily.yml "Accumulated evidence").

    One period's log-likelihood ratio of `count` events under a rate `ratio` times the baseline
    against the baseline itself: count * ln(ratio) - baseline * (ratio - 1). -#}
{% macro poisson_cusum_increment(count, baseline, ratio) -%}
    ({{ count }} * ln({{ ratio }}) - {{ baseline }} * ({{ ratio }} - 1))
{%- endmacro %}

{#- The alarm bar in nats from a false-alarm target: at most one false alarm per `years` years
    of `periods_per_year` restarts. While the rate is at most the baseline a restart reaches h
    with probability <= e^-h (Wald's inequality for a likelihood ratio), so false alarms a year
    are <= periods_per_year * e^-h = 1 / years: h = ln(periods_per_year * years). -#}
{% macro cusum_bar(periods_per_year, years) -%}
    ln({{ periods_per_year }} * {{ years }})
{%- endmacro %}
