with source as (
    {{ latest_versions(source('raw', 'payment_plan_instalments'), 'instalment_id') }}
)

select
    instalment_id,
    payment_plan_id,
    sequence as instalment_sequence,
    due_at,
    amount,
    upper(currency) as currency,
    paid_at,
    updated_at,
    _loaded_at as loaded_at
from source
