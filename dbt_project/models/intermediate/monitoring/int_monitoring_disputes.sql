-- Chargebacks and issuer fraud reports with the card brand of the payment they dispute and the
-- amount in the reporting currency. Inquiries (retrieval requests) are left out: no network
-- program counts them, and most never become a dispute.
{{ config(materialized='view') }}

select
    disputes.dispute_id,
    disputes.attempt_id,
    disputes.kind,
    disputes.reason,
    disputes.opened_at,
    date_trunc('day', disputes.opened_at) as day_start,
    date_trunc('month', disputes.opened_at) as month_start,
    attempts.card_brand,
    {{ to_reporting('disputes.amount', 'fx.rate_to_reporting') }} as amount_reporting
from {{ ref('stg_billing__disputes') }} as disputes
left join {{ ref('fct_payment_attempts') }} as attempts
    on disputes.attempt_id = attempts.attempt_id
left join {{ ref('int_fx_rates') }} as fx
    on disputes.currency = fx.currency
        and disputes.opened_at::date >= fx.valid_from
        and disputes.opened_at::date < fx.valid_to
where disputes.kind in ('chargeback', 'fraud_report')
