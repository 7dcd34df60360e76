{#- One row per calendar month the data covers (int_data_coverage: from the month of its first
    day to the month of the as-of date), as `month_start` (a date) beside int_data_coverage's
    columns, aliased `coverage` so is_complete_month reads them. The one month spine of the
    monthly marts and the risk score's month ends: a month is in a mart exactly when it is here. -#}
{% macro coverage_months() %}
    select
        spine.month_start::date as month_start,
        coverage.coverage_start_date,
        coverage.coverage_end_date
    from {{ ref('int_data_coverage') }} as coverage
    cross join {{ series_table(
        "date_trunc('month', coverage.coverage_start_date)",
        "date_trunc('month', coverage.coverage_end_date)",
        'interval 1 month',
    ) }} as spine (month_start)
{%- endmacro %}
