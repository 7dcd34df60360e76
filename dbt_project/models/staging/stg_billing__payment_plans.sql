with source as (
    {{ latest_versions(source('raw', 'payment_plans'), 'payment_plan_id') }}
)

select
    payment_plan_id,
    customer_id,
    invoice_id,
    kind,
    agreed_at,
    total_amount,
    upper(currency) as currency,
    instalment_count,
    status,
    updated_at,
    _loaded_at as loaded_at
from source
