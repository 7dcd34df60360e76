-- One row per reminder or notice sent: the communication step of the collection cycle, at the
-- grain the customer timeline needs (dunning_funnel aggregates the same messages).
select
    message_id,
    customer_id,
    invoice_id,
    channel,
    template,
    sent_at,
    opened_at,
    clicked_at,
    opened_at is not null as is_opened,
    clicked_at is not null as is_clicked
from {{ ref('stg_billing__dunning_messages') }}
