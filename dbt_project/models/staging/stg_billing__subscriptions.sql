with source as (
    {{ latest_versions(source('raw', 'subscriptions'), 'subscription_id') }}
),

-- The raw table keeps every version: a trial ends with the first version after a `trialing` one
-- whose status is something else (active, past_due, canceled...). Still null while in trial.
trials as (
    select
        subscription_id,
        min(updated_at) filter (where status != 'trialing' and updated_at > first_trialing_at)
            as trial_ended_at
    from (
        select
            subscription_id,
            status,
            updated_at,
            min(updated_at) filter (where status = 'trialing') over (partition by subscription_id)
                as first_trialing_at
        from {{ source('raw', 'subscriptions') }}
    ) as versions
    where first_trialing_at is not null
    group by subscription_id
)

select
    source.subscription_id,
    source.customer_id,
    source.plan,
    source.billing_interval,
    source.amount,
    upper(source.currency) as currency,
    source.status,
    source.started_at,
    {{ not_before('source.canceled_at', 'source.started_at') }} as canceled_at,
    source.cancel_reason,
    source.cancel_at_period_end,
    source.collection_paused_behavior,
    source.collection_resumes_at,
    source.cancellation_feedback,
    -- the comment is free text typed by the customer (PII): only whether there is one
    source.cancellation_comment is not null as has_cancellation_comment,
    trials.subscription_id is not null as had_trial,
    trials.trial_ended_at,
    source.updated_at,
    source._loaded_at as loaded_at
from source
left join trials on source.subscription_id = trials.subscription_id
