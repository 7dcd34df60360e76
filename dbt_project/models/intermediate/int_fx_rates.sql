-- Rate from every currency to the reporting currency, as non-overlapping [valid_from, valid_to)
-- periods, so a conversion is one range join. Cross rates go through EUR.
with seed as (
    select
        currency,
        valid_from,
        rate_to_eur::double as rate_to_eur
    from {{ ref('fx_rates') }}
),

breaks as (
    select distinct valid_from from seed
),

grid as (
    select
        currencies.currency,
        breaks.valid_from
    from (select distinct currency from seed) as currencies
    cross join breaks
),

priced as (
    -- A currency's latest rate on or before each break (an equality join, then the last rate
    -- seen: portable where an ASOF join is not, and as quick on this seed's ~11k rows); before
    -- its first row, its first rate applies.
    select
        grid.currency,
        grid.valid_from,
        coalesce(
            {{ last_non_null('seed.rate_to_eur') }} over (
                partition by grid.currency order by grid.valid_from
                rows between unbounded preceding and current row
            ),
            (
                select first.rate_to_eur from seed as first
                where first.currency = grid.currency
                order by first.valid_from limit 1
            )
        ) as rate_to_eur
    from grid
    left join seed
        on grid.currency = seed.currency and grid.valid_from = seed.valid_from
),

reporting as (
    select
        valid_from,
        rate_to_eur as reporting_rate_to_eur
    from priced
    where currency = '{{ var("reporting_currency") }}'
)

select
    priced.currency,
    '{{ var("reporting_currency") }}' as reporting_currency,
    case
        when priced.valid_from = min(priced.valid_from) over () then date '1900-01-01'
        else priced.valid_from
    end as valid_from,
    coalesce(
        lead(priced.valid_from) over (partition by priced.currency order by priced.valid_from),
        date '9999-12-31'
    ) as valid_to,
    (priced.rate_to_eur / reporting.reporting_rate_to_eur)::decimal(18, 10) as rate_to_reporting
from priced
inner join reporting on priced.valid_from = reporting.valid_from
