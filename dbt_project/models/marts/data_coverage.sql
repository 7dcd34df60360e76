-- One row per billing feed: how many records are loaded and the span of their event times.
-- The dashboards take their date range from here (every fact, not only invoices: a charge in a
-- month without invoices must still be in range) and name the missing feed when a section has
-- nothing to show. A feed with no records keeps its row, with 0 and null times.
-- `receivable_invoices` is the part of `invoices` that is money owed: a section of receivables
-- that has invoices but none receivable (all 0.00 trials, drafts, voids) says so.
{%- set feeds = [
    ('customers', 'stg_billing__customers', 'created_at', false),
    ('subscriptions', 'stg_billing__subscriptions', 'started_at', false),
    ('invoices', 'int_invoices_resolved', 'issued_at', true),
    ('receivable_invoices', 'int_invoices_resolved', 'issued_at', false, 'is_receivable'),
    ('payment_attempts', 'fct_payment_attempts', 'attempted_at', true),
    ('refunds', 'stg_billing__refunds', 'refunded_at', true),
    ('disputes', 'stg_billing__disputes', 'opened_at', true),
    ('dunning_messages', 'stg_billing__dunning_messages', 'sent_at', true),
    ('payment_plans', 'stg_billing__payment_plans', 'agreed_at', true),
    ('escalations', 'stg_billing__escalations', 'escalated_at', true),
    ('payment_method_updates', 'stg_billing__payment_method_updates', 'occurred_at', true),
] %}
with feeds as (
    {%- for feed in feeds %}
        select
            '{{ feed[0] }}' as feed,
            {{ feed[3] }} as is_event_fact,
            count(*) as records,
            min({{ feed[2] }}) as first_event_at,
            max({{ feed[2] }}) as last_event_at
        from {{ ref(feed[1]) }}
        {%- if feed | length > 4 %}
            where {{ feed[4] }}
        {%- endif %}
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
