-- One row per invoice in recovery now, for collectors: it entered recovery (a failed payment, or
-- past due without any attempt), is neither recovered nor written off, and still has money owed.
-- What happened last (the latest attempt and its decline, the latest dunning message) and what
-- comes next, in this order of precedence: the next unpaid instalment of an active payment
-- plan (the plan governs collection while it runs), else the retry the billing system has
-- scheduled, else the collections agency it was handed to, else nothing scheduled.
with as_of as (
    select * from {{ ref('int_as_of') }}
),

in_recovery as (
    select *
    from {{ ref('fct_invoices') }}
    where
        entered_recovery_at is not null
        and recovered_at is null
        and written_off_at is null
        and amount_remaining > 0
),

last_attempts as (
    select
        invoice_id,
        count(*) as attempts,
        max(attempted_at) as last_attempt_at,
        max_by(decline_code, attempted_at) as last_decline_code,
        max_by(decline_class, attempted_at) as last_decline_class
    from {{ ref('fct_payment_attempts') }}
    where invoice_id in (select invoice_id from in_recovery)
    group by invoice_id
),

last_messages as (
    select
        invoice_id,
        max(sent_at) as last_message_at,
        max_by(template, sent_at) as last_message_template
    from {{ ref('fct_dunning_messages') }}
    where invoice_id in (select invoice_id from in_recovery)
    group by invoice_id
),

scheduled_retries as (
    select
        invoices.invoice_id,
        invoices.next_payment_attempt_at
    from {{ ref('stg_billing__invoices') }} as invoices
    cross join as_of
    where invoices.next_payment_attempt_at > as_of.as_of_at
),

plan_instalments as (
    select
        plans.invoice_id,
        min(instalments.due_at) as next_instalment_due_at
    from {{ ref('payment_plan_outcomes') }} as plans
    inner join {{ ref('stg_billing__payment_plan_instalments') }} as instalments
        on plans.payment_plan_id = instalments.payment_plan_id
    where plans.outcome = 'active' and instalments.paid_at is null
    group by plans.invoice_id
),

agency as (
    select
        invoice_id,
        min(escalated_at) as handed_to_agency_at
    from {{ ref('fct_escalations') }}
    where stage = 'collections_agency'
    group by invoice_id
)

select
    in_recovery.invoice_id,
    in_recovery.customer_id,
    customers.email_masked,
    in_recovery.recovery_population,
    in_recovery.currency,
    in_recovery.amount_remaining,
    in_recovery.reporting_currency,
    in_recovery.amount_remaining_reporting,
    in_recovery.due_at,
    in_recovery.days_past_due,
    in_recovery.entered_recovery_at,
    {{ date_diff('day', "in_recovery.entered_recovery_at::date", "as_of.as_of_date") }}::integer
        as days_in_recovery,
    coalesce(last_attempts.attempts, 0)::integer as attempts,
    last_attempts.last_attempt_at,
    last_attempts.last_decline_code,
    last_attempts.last_decline_class,
    last_messages.last_message_at,
    last_messages.last_message_template,
    case
        when plan_instalments.next_instalment_due_at is not null then 'plan_instalment'
        when scheduled_retries.next_payment_attempt_at is not null then 'scheduled_retry'
        when agency.handed_to_agency_at is not null then 'collections_agency'
        else 'none_scheduled'
    end as next_step,
    coalesce(
        plan_instalments.next_instalment_due_at, scheduled_retries.next_payment_attempt_at
    ) as next_step_at,
    in_recovery.plan,
    in_recovery.country,
    in_recovery.payment_method,
    as_of.as_of_date
from in_recovery
cross join as_of
left join {{ ref('dim_customers') }} as customers
    on in_recovery.customer_id = customers.customer_id
left join last_attempts on in_recovery.invoice_id = last_attempts.invoice_id
left join last_messages on in_recovery.invoice_id = last_messages.invoice_id
left join scheduled_retries on in_recovery.invoice_id = scheduled_retries.invoice_id
left join plan_instalments on in_recovery.invoice_id = plan_instalments.invoice_id
left join agency on in_recovery.invoice_id = agency.invoice_id
