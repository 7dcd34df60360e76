-- One row per subscription with its monthly recurring revenue (MRR) in its own currency and in the
-- reporting currency (at the rate valid on the as-of date), its segment and its first invoice.
with subscriptions as (
    select * from {{ ref('stg_billing__subscriptions') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

first_invoices as (
    select
        subscription_id,
        min_by(invoice_id, issued_at) as first_invoice_id
    from {{ ref('int_invoices_resolved') }}
    where is_receivable
    group by subscription_id
),

past_due as (
    select
        subscription_id,
        sum(amount_remaining_reporting) as past_due_amount_reporting
    from {{ ref('fct_invoices') }}
    where is_past_due
    group by subscription_id
)

select
    subscriptions.subscription_id,
    subscriptions.customer_id,
    subscriptions.plan,
    subscriptions.billing_interval,
    subscriptions.amount,
    subscriptions.currency,
    -- Monthly = amount x billing periods a year / 12, in that order: a truncated factor such as
    -- 0.0833333333 for a year is off by a cent wherever the exact value ends in a half cent.
    (subscriptions.amount * intervals.periods_per_year / 12)::decimal(18, 2) as mrr,
    fx.reporting_currency,
    round(subscriptions.amount * intervals.periods_per_year / 12 * fx.rate_to_reporting, 2)
    ::decimal(18, 2) as mrr_reporting,
    subscriptions.status,
    subscriptions.started_at,
    subscriptions.canceled_at,
    subscriptions.cancel_reason,
    -- Active (docs/metrics.md): started, out of any trial, not ended; past_due and unpaid count.
    case
        when subscriptions.had_trial then subscriptions.trial_ended_at else subscriptions.started_at
    end as active_from_at,
    subscriptions.trial_ended_at,
    coalesce(
        case
            when subscriptions.had_trial then subscriptions.trial_ended_at
            else subscriptions.started_at
        end <= as_of.as_of_at
        and (subscriptions.canceled_at is null or subscriptions.canceled_at > as_of.as_of_at),
        false
    ) as is_active,
    coalesce(subscriptions.cancel_reason = 'non_payment' and subscriptions.canceled_at is not null, false)
        as is_involuntary_churn,
    segments.country,
    segments.payment_method,
    first_invoices.first_invoice_id,
    past_due.subscription_id is not null as has_past_due_invoice,
    coalesce(past_due.past_due_amount_reporting, 0)::decimal(18, 2) as past_due_amount_reporting
from subscriptions
cross join as_of
-- Billing periods per month: 365.25 / 12 days, 52 / 12 weeks, 1 month, 1 / 12 year.
left join (
    values ('day', 365.25), ('week', 52), ('month', 12), ('year', 1)
) as intervals (billing_interval, periods_per_year)
    on subscriptions.billing_interval = intervals.billing_interval
left join {{ ref('int_subscription_segments') }} as segments
    on subscriptions.subscription_id = segments.subscription_id
left join first_invoices on subscriptions.subscription_id = first_invoices.subscription_id
left join past_due on subscriptions.subscription_id = past_due.subscription_id
left join {{ ref('int_fx_rates') }} as fx
    on subscriptions.currency = fx.currency
        and as_of.as_of_date >= fx.valid_from
        and as_of.as_of_date < fx.valid_to
