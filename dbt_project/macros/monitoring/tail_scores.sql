{#- Significance scores of the detectors: -log10 of a Chernoff bound on an upper tail, so a score of
    6 means p-value <= 1e-6 and never understates it. Arguments are SQL expressions, written into
    the SQL as given: wrap one in parentheses if it holds an operator that binds looser than `/`. -#}

{#- P(X >= k) for X ~ Binomial(n, p): n * KL(k/n || p) / ln 10. The clamps keep an expected rate
    of exactly 0 or 1 from making one failure (or one success) infinite evidence. -#}
{% macro binomial_tail_score(k, n, p) -%}
    case
        when {{ n }} > 0 and {{ k }} / {{ n }} > {{ p }} then {{ n }} * (
            case when {{ k }} > 0 then ({{ k }} / {{ n }}) * ln(({{ k }} / {{ n }}) / greatest({{ p }}, 1e-6)) else 0 end
            + case when {{ k }} < {{ n }}
                then (1 - {{ k }} / {{ n }}) * ln((1 - {{ k }} / {{ n }}) / (1 - least({{ p }}, 1 - 1e-6))) else 0 end
        ) / ln(10)
        else 0
    end
{%- endmacro %}

{#- P(X >= k) for X ~ Poisson(expected): (k ln(k / expected) - k + expected) / ln 10. -#}
{% macro poisson_tail_score(k, expected) -%}
    case when {{ k }} > {{ expected }}
        then ({{ k }} * ln({{ k }} / greatest({{ expected }}, 1e-6)) - {{ k }} + {{ expected }}) / ln(10) else 0 end
{%- endmacro %}
