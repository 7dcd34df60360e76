-- The dates the delinquency score is computed at (docs/metrics.md "Early-warning delinquency
-- score"): every month end of the history, to train and evaluate on, and the as-of date, to act on.
-- scoring_at is the last instant a feature may read: the end of a month-end day, or the as-of
-- time itself. The target looks at the `risk_horizon_days` after the scoring date and is only
-- known (is_target_observed) once those days are all inside the data.
with as_of as (
    select * from {{ ref('int_as_of') }}
),

month_ends as (
    select last_day(month_start) as scoring_date
    from ({{ coverage_months() }}) as coverage
),

dates as (
    select
        month_ends.scoring_date,
        false as is_as_of_date,
        month_ends.scoring_date + interval 1 day - interval 1 microsecond as scoring_at
    from month_ends
    cross join as_of
    where month_ends.scoring_date < as_of.as_of_date
    union all
    select
        as_of_date as scoring_date,
        true as is_as_of_date,
        as_of_at as scoring_at
    from as_of
)

select
    dates.scoring_date,
    dates.scoring_at,
    dates.is_as_of_date,
    (dates.scoring_date + {{ var('risk_horizon_days') }})::date as horizon_end_date,
    (dates.scoring_date + {{ var('risk_horizon_days') }})::date <= as_of.as_of_date as is_target_observed
from dates
cross join as_of
