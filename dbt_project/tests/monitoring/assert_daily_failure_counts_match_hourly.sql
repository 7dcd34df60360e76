-- A day's attempts and failures are those of its hours: the two grains must tell one story.
{{ config(severity='warn') }}
with hours as (
    select
        segment_type,
        segment_value,
        date_trunc('day', window_start) as day_start,
        sum(attempts) as attempts,
        sum(failures) as failures
    from {{ ref('failure_rates_hourly') }}
    group by all
)

select
    hours.*,
    days.attempts as day_attempts,
    days.failures as day_failures
from hours
full outer join {{ ref('failure_rates_daily') }} as days
    on hours.segment_type = days.segment_type
        and hours.segment_value = days.segment_value
        and hours.day_start = days.window_start
where hours.attempts is distinct from days.attempts
    or hours.failures is distinct from days.failures
