-- The segment each invoice is reported under: its subscription's plan (`one_off` for an invoice
-- without a subscription), the customer's billing country and current payment method, and the
-- invoice currency. Current attributes, applied to all of history.
select
    invoices.invoice_id,
    coalesce(subscriptions.plan, 'one_off') as plan,
    coalesce(customers.country, 'unknown') as country,
    coalesce(methods.payment_method, 'unknown') as payment_method,
    invoices.currency
from {{ ref('int_invoices_resolved') }} as invoices
left join {{ ref('stg_billing__subscriptions') }} as subscriptions
    on invoices.subscription_id = subscriptions.subscription_id
left join {{ ref('stg_billing__customers') }} as customers
    on invoices.customer_id = customers.customer_id
left join {{ ref('int_customer_payment_methods') }} as methods
    on invoices.customer_id = methods.customer_id
