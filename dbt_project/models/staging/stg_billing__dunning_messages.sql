with source as (
    {{ latest_versions(source('raw', 'dunning_messages'), 'message_id') }}
)

select
    message_id,
    customer_id,
    invoice_id,
    channel,
    template,
    sent_at,
    {{ not_before('opened_at', 'sent_at') }} as opened_at,
    {{ not_before('clicked_at', 'sent_at') }} as clicked_at,
    updated_at,
    _loaded_at as loaded_at
from source
