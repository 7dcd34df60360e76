-- How well attempts on invoices succeed, sliced one dimension at a time (long format: one row per
-- dimension and value): by attempt number (first attempts included, as the baseline), and for
-- retries (attempt 2+) by hours since the previous attempt, the previous attempt's decline code
-- and class, and the retry's weekday and hour (UTC). Card verifications are excluded.
with attempts as (
    select
        *,
        {{ retry_hours_bucket('hours_since_previous_attempt') }} as hours_bucket
    from {{ ref('fct_payment_attempts') }}
    where invoice_id is not null
),

sliced as (
    {%- set slices = [
        ('attempt_number', 'attempt_number::string', 'attempt_number', 'true'),
        ('hours_since_previous_attempt', 'substr(hours_bucket, 5)', 'substr(hours_bucket, 1, 2)::int', 'is_retry'),
        ('previous_decline_class', "coalesce(previous_decline_class, 'none')", '0', 'is_retry'),
        ('previous_decline_code', "coalesce(previous_decline_code, 'none')", '0', 'is_retry'),
        ('weekday', day_name('attempted_at'), iso_day_of_week('attempted_at'), 'is_retry'),
        ('hour_utc', "lpad(hour(attempted_at)::string, 2, '0')", 'hour(attempted_at)', 'is_retry'),
    ] %}
    {%- for name, value, sort, condition in slices %}
        select
            '{{ name }}' as dimension,
            {{ value }} as dimension_value,
            {{ sort }} as sort_order,
            is_success,
            amount_reporting,
            previous_decline_class
        from attempts
        where {{ condition }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    dimension,
    dimension_value,
    sort_order::integer as sort_order,
    '{{ var("reporting_currency") }}' as reporting_currency,
    count(*)::integer as attempts,
    count(*) filter (where is_success)::integer as successes,
    round(count(*) filter (where is_success) / count(*), 6)::decimal(9, 6) as success_rate,
    round(sum(amount_reporting), 2)::decimal(18, 2) as amount_attempted_reporting,
    round(coalesce(sum(amount_reporting) filter (where is_success), 0), 2)::decimal(18, 2)
        as amount_collected_reporting,
    -- Retries after a hard or fraud decline are wasted and breach Visa's rules (DOMAIN.md).
    count(*) filter (where previous_decline_class in ('hard', 'fraud'))::integer
        as retries_after_hard_decline
from sliced
group by dimension, dimension_value, sort_order
