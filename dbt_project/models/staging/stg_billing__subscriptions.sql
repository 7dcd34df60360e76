with source as (
    {{ latest_versions(source('raw', 'subscriptions'), 'subscription_id') }}
)

select
    subscription_id,
    customer_id,
    plan,
    billing_interval,
    amount,
    upper(currency) as currency,
    status,
    started_at,
    {{ not_before('canceled_at', 'started_at') }} as canceled_at,
    cancel_reason,
    updated_at,
    _loaded_at as loaded_at
from source
