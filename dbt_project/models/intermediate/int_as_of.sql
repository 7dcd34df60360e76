-- The warehouse's "now": the latest event time in the data, never the wall clock, so rebuilding
-- the same data gives the same numbers. Every record's updated_at is at or after its events.
-- The two big entities are read from their deduplicated tables, not re-deduplicated here.
with latest as (
    {%- for relation in ['int_invoices_resolved', 'fct_payment_attempts', 'stg_billing__customers',
        'stg_billing__subscriptions', 'stg_billing__payment_method_updates',
        'stg_billing__dunning_messages', 'stg_billing__payment_plans',
        'stg_billing__payment_plan_instalments', 'stg_billing__escalations',
        'stg_billing__disputes', 'stg_billing__refunds'] %}
        select max(updated_at) as latest_at from {{ ref(relation) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select
    max(latest_at) as as_of_at,
    max(latest_at)::date as as_of_date
from latest
