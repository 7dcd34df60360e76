with source as (
    {{ latest_versions(source('raw', 'payment_method_updates'), 'update_id') }}
)

select
    update_id,
    customer_id,
    occurred_at,
    previous_method,
    new_method,
    reason,
    updated_at,
    _loaded_at as loaded_at
from source
