-- Retry success by attempt number × wait since the previous attempt: the grid of the Recovery
-- page's heatmap. Retries only (attempt 2+) on invoices; card verifications excluded.
with retries as (
    select
        attempt_number,
        is_success,
        {{ retry_hours_bucket('hours_since_previous_attempt') }} as hours_bucket
    from {{ ref('fct_payment_attempts') }}
    where invoice_id is not null and is_retry
)

select
    attempt_number::integer as attempt_number,
    substr(hours_bucket, 5) as hours_since_previous_attempt,
    substr(hours_bucket, 1, 2)::integer as hours_sort_order,
    count(*)::integer as attempts,
    count(*) filter (where is_success)::integer as successes,
    round(count(*) filter (where is_success) / count(*), 6)::decimal(9, 6) as success_rate
from retries
group by attempt_number, hours_bucket
