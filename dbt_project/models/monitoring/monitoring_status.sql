-- One row: the data time the monitoring marts were computed at, and what they hold. The alerting
-- asset takes its clock ("watermark") from here, never from the wall clock.
with as_of as (
    select as_of_at from {{ ref('int_as_of') }}
)

select
    as_of.as_of_at as as_of,
    (select count(*) from {{ ref('anomalies') }}) as anomalies,
    (select count(*) from {{ ref('incidents') }}) as incidents,
    (
        select count(*) from {{ ref('incidents') }}
        where is_open
    ) as open_incidents,
    (select max(window_end) from {{ ref('failure_rates_hourly') }}) as evaluated_through
from as_of
