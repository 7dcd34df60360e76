-- Each customer's current payment method: the latest of their method changes and their attempts.
with observations as (
    select
        customer_id,
        occurred_at as observed_at,
        new_method as payment_method
    from {{ ref('stg_billing__payment_method_updates') }}
    union all
    select
        customer_id,
        attempted_at as observed_at,
        payment_method
    from {{ ref('fct_payment_attempts') }}
)

select
    customer_id,
    max_by(payment_method, observed_at) as payment_method
from observations
group by customer_id
