with source as (
    {{ latest_versions(source('raw', 'customers'), 'customer_id') }}
)

select
    customer_id,
    email,
    name as customer_name,
    upper(country) as country,
    verification_status,
    created_at,
    delinquent as is_delinquent,
    balance,
    upper(balance_currency) as balance_currency,
    updated_at,
    _loaded_at as loaded_at
from source
