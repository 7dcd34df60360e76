-- Attempts and failures per segment per hour and per day, added up from int_failure_cube: what
-- every failure-rate window, baseline and score is computed from.
with cube as (
    select * from {{ ref('int_failure_cube') }}
),

-- One row per hour and segment with attempts; attempts without a brand (debits) or a plan are
-- only part of the other segments.
hourly_segments as (
    select
        hour_start,
        'overall' as segment_type,
        'all' as segment_value,
        sum(attempts) as attempts,
        sum(failures) as failures,
        sum(amount_attempted) as amount_attempted,
        sum(amount_failed) as amount_failed
    from cube
    group by hour_start
    {%- for dimension in ['payment_method', 'processor', 'card_brand', 'card_country', 'plan'] %}
        union all
        select
            hour_start,
            '{{ dimension }}' as segment_type,
            {{ dimension }} as segment_value,
            sum(attempts) as attempts,
            sum(failures) as failures,
            sum(amount_attempted) as amount_attempted,
            sum(amount_failed) as amount_failed
        from cube
        where {{ dimension }} is not null
        group by hour_start, {{ dimension }}
    {%- endfor %}
),

overall as (
    select * from hourly_segments
    where segment_type = 'overall'
),

decline_classes as (
    select distinct decline_class from cube
    where decline_class is not null
),

failures_by_class as (
    select
        hour_start,
        decline_class,
        sum(failures) as failures,
        sum(amount_failed) as amount_failed
    from cube
    where decline_class is not null
    group by all
),

-- The rate of failures of one class among all attempts: every hour with attempts gets a row per
-- class, zero failures included, so that the baseline's denominator is complete.
by_decline_class as (
    select
        overall.hour_start,
        'decline_class' as segment_type,
        decline_classes.decline_class as segment_value,
        overall.attempts,
        coalesce(failures_by_class.failures, 0) as failures,
        overall.amount_attempted,
        coalesce(failures_by_class.amount_failed, 0) as amount_failed
    from overall
    cross join decline_classes
    left join failures_by_class
        on overall.hour_start = failures_by_class.hour_start
            and decline_classes.decline_class = failures_by_class.decline_class
),

hourly as (
    select * from hourly_segments
    union all
    select * from by_decline_class
)

select
    'hour' as window_grain,
    segment_type,
    segment_value,
    hour_start as window_start,
    hour_start + interval 1 hour as window_end,
    attempts,
    failures,
    amount_attempted,
    amount_failed
from hourly

union all

select
    'day' as window_grain,
    segment_type,
    segment_value,
    date_trunc('day', hour_start) as window_start,
    date_trunc('day', hour_start) + interval 1 day as window_end,
    sum(attempts) as attempts,
    sum(failures) as failures,
    sum(amount_attempted) as amount_attempted,
    sum(amount_failed) as amount_failed
from hourly
group by all
