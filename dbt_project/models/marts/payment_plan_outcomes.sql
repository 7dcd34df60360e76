-- One row per payment plan with its outcome as of the latest event (DOMAIN.md "Payment plans"):
-- broken when any instalment was missed by more than var plan_grace_days (7) days — paid later
-- than that, or still unpaid past it — else completed when every instalment is paid, else
-- cancelled when the billing system says so, else active. A plan the billing system cancelled
-- is judged only up to its cancellation (the time of the version that reports it): an
-- instalment that falls due after it was never owed under the plan, so the plan is cancelled,
-- not broken; one missed before it still makes the plan broken. Amounts collected through the
-- plan are the paid instalments.
with plans as (
    select * from {{ ref('stg_billing__payment_plans') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

cancellations as (
    select
        payment_plan_id,
        updated_at as cancelled_at
    from plans
    where status = 'cancelled'
),

instalments as (
    select
        instalments.*,
        (
            instalments.paid_at > instalments.due_at + {{ days_interval(var('plan_grace_days')) }}
            or (
                instalments.paid_at is null
                and as_of.as_of_at > instalments.due_at + {{ days_interval(var('plan_grace_days')) }}
            )
        )
        and coalesce(
            instalments.due_at + {{ days_interval(var('plan_grace_days')) }}
            < cancellations.cancelled_at,
            true
        ) as is_missed
    from {{ ref('stg_billing__payment_plan_instalments') }} as instalments
    cross join as_of
    left join cancellations on instalments.payment_plan_id = cancellations.payment_plan_id
),

per_plan as (
    select
        payment_plan_id,
        count(*) as instalments_scheduled,
        count(*) filter (where paid_at is not null) as instalments_paid,
        count(*) filter (where is_missed) as instalments_missed,
        min(due_at + {{ days_interval(var('plan_grace_days')) }}) filter (where is_missed) as broken_at,
        max(paid_at) as last_paid_at,
        coalesce(sum(amount) filter (where paid_at is not null), 0) as amount_collected
    from instalments
    group by payment_plan_id
)

select
    plans.payment_plan_id,
    plans.customer_id,
    plans.invoice_id,
    plans.kind,
    plans.agreed_at,
    date_trunc('month', plans.agreed_at)::date as agreed_month,
    coalesce({{ is_complete_month("date_trunc('month', plans.agreed_at)::date") }}, false)
        as is_complete_month,
    plans.currency,
    plans.total_amount,
    fx.reporting_currency,
    {{ to_reporting('plans.total_amount', 'fx.rate_to_reporting') }} as total_amount_reporting,
    coalesce(plans.instalment_count, per_plan.instalments_scheduled)::integer as instalment_count,
    coalesce(per_plan.instalments_scheduled, 0)::integer as instalments_scheduled,
    coalesce(per_plan.instalments_paid, 0)::integer as instalments_paid,
    coalesce(per_plan.instalments_missed, 0)::integer as instalments_missed,
    plans.status as reported_status,
    case
        when per_plan.instalments_missed > 0 then 'broken'
        when per_plan.instalments_paid = per_plan.instalments_scheduled
            and per_plan.instalments_scheduled >= coalesce(plans.instalment_count, 1)
            then 'completed'
        when plans.status = 'cancelled' then 'cancelled'
        else 'active'
    end as outcome,
    per_plan.broken_at,
    case
        when per_plan.instalments_paid = per_plan.instalments_scheduled
            and per_plan.instalments_scheduled >= coalesce(plans.instalment_count, 1)
            then per_plan.last_paid_at
    end as completed_at,
    coalesce(per_plan.amount_collected, 0)::decimal(18, 2) as amount_collected,
    {{ to_reporting('coalesce(per_plan.amount_collected, 0)', 'fx.rate_to_reporting') }}
        as amount_collected_reporting
from plans
left join per_plan on plans.payment_plan_id = per_plan.payment_plan_id
left join {{ ref('int_fx_rates') }} as fx
    on plans.currency = fx.currency
        and plans.agreed_at::date >= fx.valid_from
        and plans.agreed_at::date < fx.valid_to
cross join {{ ref('int_data_coverage') }} as coverage
