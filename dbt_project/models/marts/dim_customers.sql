-- One row per customer, without personal data: the email becomes a salted hash (stable, so the
-- same person can be matched across ids and rebuilds) and a masked form; the name is dropped.
-- The domain is masked too (`sharma-travel2176.co.uk` names the customer's company); only its
-- last label stays readable, and a salted hash of it lets analysts group customers by domain.
with customers as (
    select * from {{ ref('stg_billing__customers') }}
),

subscription_counts as (
    select
        customer_id,
        count(*) as subscription_count,
        count(*) filter (where canceled_at is null) as open_subscription_count
    from {{ ref('stg_billing__subscriptions') }}
    group by customer_id
)

select
    customers.customer_id,
    {{ sha256_hex("'" ~ var('pii_hash_salt') ~ "' || lower(trim(customers.email))") }} as customer_hash,
    case
        when customers.email like '%_@_%'
            then left(trim(customers.email), 1) || '***@***.'
                || split_part(split_part(trim(customers.email), '@', -1), '.', -1)
    end as email_masked,
    case
        when customers.email like '%_@_%'
            then {{ sha256_hex(
                "'" ~ var('pii_hash_salt') ~ "' || lower(split_part(trim(customers.email), '@', -1))"
            ) }}
    end as email_domain_hash,
    customers.country,
    customers.verification_status,
    customers.verification_status = 'verified' as is_verified,
    customers.created_at,
    methods.payment_method as current_payment_method,
    coalesce(subscription_counts.subscription_count, 0)::integer as subscription_count,
    coalesce(subscription_counts.open_subscription_count, 0)::integer as open_subscription_count
from customers
left join {{ ref('int_customer_payment_methods') }} as methods
    on customers.customer_id = methods.customer_id
left join subscription_counts on customers.customer_id = subscription_counts.customer_id
