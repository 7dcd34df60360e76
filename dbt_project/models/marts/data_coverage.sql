-- One row per billing feed: how many records are loaded and the span of their event times.
-- The dashboards take their date range from here (every fact, not only invoices: a charge in a
-- month without invoices must still be in range) and name the missing feed when a section has
-- nothing to show. A feed with no records keeps its row, with 0 and null times.
{%- set feeds = [
    ('customers', 'stg_billing__customers', 'created_at', false),
    ('subscriptions', 'stg_billing__subscriptions', 'started_at', false),
    ('invoices', 'int_invoices_resolved', 'issued_at', true),
    ('payment_attempts', 'fct_payment_attempts', 'attempted_at', true),
    ('refunds', 'stg_billing__refunds', 'refunded_at', true),
    ('disputes', 'stg_billing__disputes', 'opened_at', true),
    ('dunning_messages', 'stg_billing__dunning_messages', 'sent_at', true),
    ('payment_plans', 'stg_billing__payment_plans', 'agreed_at', true),
    ('escalations', 'stg_billing__escalations', 'escalated_at', true),
    ('payment_method_updates', 'stg_billing__payment_method_updates', 'occurred_at', true),
] %}
with feeds as (
    {%- for feed, relation, event_at, is_fact in feeds %}
        select
            '{{ feed }}' as feed,
            {{ is_fact }} as is_event_fact,
            count(*) as records,
            min({{ event_at }}) as first_event_at,
            max({{ event_at }}) as last_event_at
        from {{ ref(relation) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    feed,
    is_event_fact,
    records::bigint as records,
    first_event_at,
    last_event_at
from feeds
