-- When each receivable invoice entered recovery, whether and when it was recovered, and through
-- which channel (DOMAIN.md "Recovery"). Two populations, never mixed:
--   failed_payment: entered at the first failed attempt (a failure after the invoice was paid or
--            written off does not count) - the headline recovery rate;
--   late_payment: no attempt at all before it was paid (bank transfer, invoice payers, never
--            attempted) and not paid by the end of its due date: entered at the start of the next
--            day. An invoice whose first attempt succeeded is in neither, whatever the time of day
--            of that attempt (a scheduled charge a few minutes after a late-evening due date);
--   recovered: fully paid after entering, before any write-off;
--   channel: what the payment followed, first match wins:
--     collections (paid through / after a hand-over to collections or legal) >
--     payment_plan (paid through / after an agreed plan) >
--     new_payment_method (method changed since entering, or paid with another method or card) >
--     automatic_retry (a scheduled charge or retry succeeded) >
--     reminder (customer paid within N days of a dunning message) >
--     customer_initiated (customer paid, no reminder in the window) > unattributed (no attempt).
--
-- Incremental on the touched invoices, as the ledger (macros/incremental_invoices.sql); they include
-- the invoices whose due date the as-of date passed since the last run (late_payment).
{{ config(**invoice_increment_config()) }}
with
{{ touched_invoices_cte() }}
invoices as (
    select * from {{ ref('int_invoices_resolved') }}
    where is_receivable
    {{ only_touched_invoices('and') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

attempts as (
    select * from {{ ref('fct_payment_attempts') }}
    where invoice_id is not null
    {{ only_touched_invoices('and') }}
),

first_failures as (
    select
        attempts.invoice_id,
        min(attempts.attempted_at) as first_attempt_at,
        min(attempts.attempted_at) filter (where not attempts.is_success) as first_failed_attempt_at,
        min_by(attempts.payment_method, attempts.attempted_at) filter (where not attempts.is_success)
            as first_failed_method,
        min_by(attempts.card_fingerprint, attempts.attempted_at) filter (where not attempts.is_success)
            as first_failed_card
    from attempts
    inner join invoices on attempts.invoice_id = invoices.invoice_id
    where (invoices.fully_paid_at is null or attempts.attempted_at <= invoices.fully_paid_at)
        and (invoices.written_off_at is null or attempts.attempted_at < invoices.written_off_at)
    group by attempts.invoice_id
),

entered as (
    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.fully_paid_at,
        invoices.written_off_at,
        first_failures.first_attempt_at,
        first_failures.first_failed_attempt_at,
        first_failures.first_failed_method,
        first_failures.first_failed_card,
        case
            when as_of.as_of_date > invoices.due_date
                and (invoices.fully_paid_at is null or invoices.fully_paid_at::date > invoices.due_date)
                and (invoices.written_off_at is null or invoices.written_off_at::date > invoices.due_date)
                then (invoices.due_date + 1)::timestamp
        end as became_past_due_at
    from invoices
    cross join as_of
    left join first_failures on invoices.invoice_id = first_failures.invoice_id
),

populations as (
    select
        *,
        case
            when first_failed_attempt_at is not null then 'failed_payment'
            when first_attempt_at is null and became_past_due_at is not null then 'late_payment'
        end as recovery_population,
        case
            when first_failed_attempt_at is not null then first_failed_attempt_at
            when first_attempt_at is null then became_past_due_at
        end as entered_recovery_at
    from entered
),

recovery as (
    select
        *,
        case
            when fully_paid_at >= entered_recovery_at
                and (written_off_at is null or fully_paid_at < written_off_at)
                then fully_paid_at
        end as recovered_at
    from populations
),

paying_attempts as (
    select
        recovery.invoice_id,
        max_by(attempts.attempt_trigger, attempts.attempted_at) as paying_trigger,
        max_by(attempts.payment_method, attempts.attempted_at) as paying_method,
        max_by(attempts.card_fingerprint, attempts.attempted_at) as paying_card
    from recovery
    inner join attempts on recovery.invoice_id = attempts.invoice_id
    where attempts.is_success and attempts.attempted_at <= recovery.recovered_at
    group by recovery.invoice_id
),

escalated as (
    select distinct recovery.invoice_id
    from recovery
    inner join {{ ref('stg_billing__escalations') }} as escalations
        on recovery.invoice_id = escalations.invoice_id
    where escalations.stage in ('collections_agency', 'legal')
        and escalations.escalated_at <= recovery.recovered_at
),

planned as (
    select distinct recovery.invoice_id
    from recovery
    inner join {{ ref('stg_billing__payment_plans') }} as plans
        on recovery.invoice_id = plans.invoice_id
    where plans.agreed_at <= recovery.recovered_at
),

method_changed as (
    select distinct recovery.invoice_id
    from recovery
    inner join {{ ref('stg_billing__payment_method_updates') }} as updates
        on recovery.customer_id = updates.customer_id
    where updates.occurred_at between recovery.entered_recovery_at and recovery.recovered_at
),

reminded as (
    -- A message about the invoice, or an invoice-less one to the customer.
    select distinct recovery.invoice_id
    from recovery
    inner join {{ ref('stg_billing__dunning_messages') }} as messages
        on recovery.customer_id = messages.customer_id
    where (messages.invoice_id = recovery.invoice_id or messages.invoice_id is null)
        and messages.sent_at <= recovery.recovered_at
        and messages.sent_at
        >= recovery.recovered_at - {{ days_interval(var('dunning_attribution_days')) }}
)

select
    recovery.invoice_id,
    recovery.first_failed_attempt_at,
    recovery.became_past_due_at,
    recovery.recovery_population,
    recovery.entered_recovery_at,
    recovery.recovered_at,
    {{ date_diff('day', "recovery.entered_recovery_at::date", "recovery.recovered_at::date") }}
        as days_to_recovery,
    case
        when recovery.recovered_at is null then null
        when paying_attempts.paying_trigger = 'collections' or escalated.invoice_id is not null
            then 'collections'
        when paying_attempts.paying_trigger = 'payment_plan' or planned.invoice_id is not null
            then 'payment_plan'
        -- A comparison with an unknown method or card is null, i.e. not a change.
        when method_changed.invoice_id is not null
            or paying_attempts.paying_method != recovery.first_failed_method
            or paying_attempts.paying_card != recovery.first_failed_card
            then 'new_payment_method'
        when paying_attempts.paying_trigger in ('scheduled', 'automatic_retry')
            then 'automatic_retry'
        when reminded.invoice_id is not null then 'reminder'
        when paying_attempts.paying_trigger is not null then 'customer_initiated'
        else 'unattributed'
    end as recovery_channel
from recovery
left join paying_attempts on recovery.invoice_id = paying_attempts.invoice_id
left join escalated on recovery.invoice_id = escalated.invoice_id
left join planned on recovery.invoice_id = planned.invoice_id
left join method_changed on recovery.invoice_id = method_changed.invoice_id
left join reminded on recovery.invoice_id = reminded.invoice_id
