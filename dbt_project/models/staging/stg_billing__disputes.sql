with source as (
    {{ latest_versions(source('raw', 'disputes'), 'dispute_id') }}
)

select
    dispute_id,
    attempt_id,
    customer_id,
    amount,
    upper(currency) as currency,
    kind,
    reason,
    opened_at,
    status,
    {{ not_before('closed_at', 'opened_at') }} as closed_at,
    evidence_due_at,
    updated_at,
    _loaded_at as loaded_at
from source
