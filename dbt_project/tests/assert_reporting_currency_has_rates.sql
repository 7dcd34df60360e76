-- Every amount is converted through the reporting currency's rate: without one, all *_reporting
-- columns would be null. Also every currency in the data must have a rate.
-- Shown in Dagster as a check on fct_payment_attempts.
{{ config(meta={'dagster': {'ref': {'name': 'fct_payment_attempts'}}}) }}

select '{{ var("reporting_currency") }}' as missing_currency
where not exists (
        select 1 from {{ ref('fx_rates') }}
        where currency = '{{ var("reporting_currency") }}'
    )
union all
select distinct currency
from {{ ref('fct_payment_attempts') }}
where amount_reporting is null
