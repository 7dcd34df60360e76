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
    cancel_at_period_end,
    collection_paused_behavior,
    collection_resumes_at,
    cancellation_feedback,
    -- the comment is free text typed by the customer (PII): only whether there is one
    cancellation_comment is not null as has_cancellation_comment,
    updated_at,
    _loaded_at as loaded_at
from source
