with source as (
    {{ latest_versions(source('raw', 'refunds'), 'refund_id') }}
)

select
    refund_id,
    attempt_id,
    customer_id,
    amount,
    upper(currency) as currency,
    refunded_at,
    reason,
    status,
    updated_at,
    _loaded_at as loaded_at
from source
