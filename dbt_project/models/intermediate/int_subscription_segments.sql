-- The segment each subscription (and so each of its invoices) is reported under: plan, billing
-- country, current payment method, currency. Current attributes, applied to all of history.
select
    subscriptions.subscription_id,
    subscriptions.customer_id,
    subscriptions.plan,
    coalesce(customers.country, 'unknown') as country,
    coalesce(methods.payment_method, 'unknown') as payment_method,
    subscriptions.currency
from {{ ref('stg_billing__subscriptions') }} as subscriptions
left join {{ ref('stg_billing__customers') }} as customers
    on subscriptions.customer_id = customers.customer_id
left join {{ ref('int_customer_payment_methods') }} as methods
    on subscriptions.customer_id = methods.customer_id
