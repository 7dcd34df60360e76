with source as (
    select * from {{ source('raw', 'payment_plans') }}
    {{ latest_version('payment_plan_id') }}
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
