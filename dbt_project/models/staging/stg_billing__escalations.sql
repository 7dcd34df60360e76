with source as (
    {{ latest_versions(source('raw', 'escalations'), 'escalation_id') }}
)

select
    escalation_id,
    invoice_id,
    customer_id,
    escalated_at,
    stage,
    agency,
    updated_at,
    _loaded_at as loaded_at
from source
