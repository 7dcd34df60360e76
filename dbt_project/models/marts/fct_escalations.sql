-- One row per hand-over to collections, legal action or write-off.
select
    escalation_id,
    invoice_id,
    customer_id,
    escalated_at,
    stage,
    agency
from {{ ref('stg_billing__escalations') }}
