-- Billing attempts counted per hour and per combination of every attribute failure rates are
-- segmented by: the one pass over the attempts. Segment counts (int_failure_counts) and the
-- cross-segment attribution (int_failure_rate_windows) add these rows up instead of scanning
-- millions of attempts again. Card verifications at sign-up are left out: they are not recurring
-- revenue, and the card-testing detector watches them.
with attempts as (
    select * from {{ ref('fct_payment_attempts') }}
    where attempt_trigger is distinct from 'card_verification'
),

invoice_plans as (
    select
        invoices.invoice_id,
        subscriptions.plan
    from {{ ref('stg_billing__invoices') }} as invoices
    inner join {{ ref('stg_billing__subscriptions') }} as subscriptions
        on invoices.subscription_id = subscriptions.subscription_id
)

select
    date_trunc('hour', attempts.attempted_at) as hour_start,
    attempts.payment_method,
    attempts.processor,
    attempts.card_brand,
    attempts.card_country,
    invoice_plans.plan,
    attempts.decline_class,  -- null for successful attempts
    count(*) as attempts,
    count(*) filter (where not attempts.is_success) as failures,
    sum(attempts.amount_reporting) as amount_attempted,
    coalesce(sum(attempts.amount_reporting) filter (where not attempts.is_success), 0)
        as amount_failed
from attempts
left join invoice_plans on attempts.invoice_id = invoice_plans.invoice_id
group by all
