-- One row per subscription active at a scoring date (int_risk_scoring_dates): the point-in-time
-- features of the early-warning delinquency score and its target (docs/metrics.md "Early-warning
-- delinquency score"). Every feature reads only events dated at or before scoring_at, so a month
-- end's row is what was knowable that evening; the target reads only the horizon after it.
-- Current attributes that a record keeps only in its latest version (plan, country, verification
-- status) are used as they are now: they are set at sign-up and not behaviour.
{%- set window = var('risk_feature_window_days') %}
with scoring_dates as (
    select * from {{ ref('int_risk_scoring_dates') }}
),

subscriptions as (
    select * from {{ ref('dim_subscriptions') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

invoices as (
    select
        invoice_id,
        subscription_id,
        issued_at,
        due_at,
        due_at::date as due_date,
        paid_at,
        written_off_at,
        -- Settled: fully paid or written off, whichever came first (ageing stops there).
        least(paid_at, written_off_at) as settled_at,
        amount_due_reporting
    from {{ ref('fct_invoices') }}
    where is_receivable and subscription_id is not null
),

attempts as (
    select
        attempts.customer_id,
        invoices.subscription_id,
        attempts.attempted_at,
        attempts.payment_method,
        attempts.is_success,
        attempts.decline_class,
        attempts.decline_code,
        attempts.used_3ds,
        attempts.card_expires_on
    from {{ ref('fct_payment_attempts') }} as attempts
    left join invoices on attempts.invoice_id = invoices.invoice_id
),

method_updates as (
    select * from {{ ref('stg_billing__payment_method_updates') }}
),

-- Active at the scoring time (docs/metrics.md): started, out of any trial, not yet ended.
population as (
    select
        scoring_dates.scoring_date,
        scoring_dates.scoring_at,
        scoring_dates.is_as_of_date,
        scoring_dates.horizon_end_date,
        scoring_dates.is_target_observed,
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.plan,
        subscriptions.billing_interval,
        subscriptions.active_from_at
    from scoring_dates
    inner join subscriptions
        on scoring_dates.scoring_at >= subscriptions.active_from_at
            and (subscriptions.canceled_at is null or scoring_dates.scoring_at < subscriptions.canceled_at)
),

population_customers as (
    select distinct
        customer_id,
        scoring_date,
        scoring_at
    from population
),

invoice_history as (
    select
        population.subscription_id,
        population.scoring_date,
        count(*) filter (where invoices.due_at <= population.scoring_at) as invoices_due,
        count(*) filter (
            where invoices.paid_at <= population.scoring_at and invoices.paid_at::date > invoices.due_date
        ) as invoices_paid_late,
        -- Days late as known then: to the settlement if it had happened, else to the scoring date.
        avg(invoices.days_late) filter (where invoices.due_at <= population.scoring_at) as mean_days_late,
        max(invoices.days_late) filter (where invoices.due_at <= population.scoring_at) as max_days_late,
        count(*) filter (where invoices.is_open_past_due) as open_past_due_invoices,
        coalesce(max(invoices.days_late) filter (where invoices.is_open_past_due), 0) as days_past_due,
        count(*) filter (where invoices.written_off_at <= population.scoring_at) as invoices_written_off,
        {{ top_n_by('invoices.amount_due_reporting', 'invoices.issued_at', 2) }} as last_two_amounts
    from population
    inner join lateral (
        select
            invoices.*,
            greatest(
                {{ date_diff(
                    'day',
                    'invoices.due_date',
                    'case when invoices.settled_at <= population.scoring_at then invoices.settled_at::date'
                    ~ ' else population.scoring_date end',
                ) }},
                0
            ) as days_late,
            (
                invoices.due_date < population.scoring_date
                and (invoices.settled_at is null or invoices.settled_at > population.scoring_at)
            ) as is_open_past_due
        from invoices
        where
            invoices.subscription_id = population.subscription_id
            and invoices.issued_at <= population.scoring_at
    ) as invoices on true
    group by population.subscription_id, population.scoring_date
),

attempt_history as (
    select
        population.subscription_id,
        population.scoring_date,
        count(*) filter (where attempts.is_recent) as attempts_90d,
        count(*) filter (where attempts.is_recent and not attempts.is_success) as failed_attempts_90d,
        count(*) filter (where attempts.is_recent and attempts.decline_class = 'soft') as soft_declines_90d,
        count(*) filter (where attempts.is_recent and attempts.decline_class = 'hard') as hard_declines_90d,
        count(*) filter (where attempts.is_recent and attempts.decline_class = 'fraud') as fraud_declines_90d,
        count(*) filter (
            where attempts.is_recent and attempts.decline_code = 'expired_card'
        ) as expired_card_declines_90d,
        count(*) filter (where not attempts.is_success) as failed_attempts_total,
        {{ date_diff(
            'day', 'max(attempts.attempted_at) filter (where not attempts.is_success)', 'population.scoring_at'
        ) }} as days_since_last_failure,
        avg(attempts.used_3ds::integer) filter (where attempts.is_recent) as share_3ds_90d
    from population
    inner join lateral (
        select
            attempts.*,
            attempts.attempted_at > population.scoring_at - interval {{ window }} day as is_recent
        from attempts
        where
            attempts.subscription_id = population.subscription_id
            and attempts.attempted_at <= population.scoring_at
    ) as attempts on true
    group by population.subscription_id, population.scoring_date, population.scoring_at
),

reminder_history as (
    select
        population_customers.customer_id,
        population_customers.scoring_date,
        count(*) as reminders_sent_90d,
        count(*) filter (where messages.opened_at <= population_customers.scoring_at) as reminders_opened_90d
    from population_customers
    inner join {{ ref('fct_dunning_messages') }} as messages
        on population_customers.customer_id = messages.customer_id
            and population_customers.scoring_at >= messages.sent_at
            and population_customers.scoring_at - interval {{ window }} day < messages.sent_at
    group by population_customers.customer_id, population_customers.scoring_date
),

method_history as (
    select
        population_customers.customer_id,
        population_customers.scoring_date,
        max(method_updates.occurred_at) as last_method_update_at,
        count(*) filter (
            where method_updates.occurred_at > population_customers.scoring_at - interval {{ window }} day
        ) as method_updates_90d,
        count(*) filter (
            where method_updates.occurred_at > population_customers.scoring_at - interval {{ window }} day
            and method_updates.reason = 'expired_card'
        ) as expired_card_updates_90d
    from population_customers
    inner join method_updates
        on population_customers.customer_id = method_updates.customer_id
            and population_customers.scoring_at >= method_updates.occurred_at
    group by population_customers.customer_id, population_customers.scoring_date
),

-- The method in use then: the latest of the customer's method changes and attempts until then,
-- and the card's expiry when that latest observation is a charge that states it (a change of
-- method names no expiry: the new card's is unknown until it is charged).
method_observations as (
    select
        customer_id,
        occurred_at as observed_at,
        new_method as payment_method,
        null::date as card_expires_on
    from method_updates
    union all
    select
        customer_id,
        attempted_at as observed_at,
        payment_method,
        card_expires_on
    from attempts
),

method_at_scoring as (
    select
        population_customers.customer_id,
        population_customers.scoring_date,
        max_by(method_observations.payment_method, method_observations.observed_at) as payment_method,
        -- A latest observation without an expiry leaves it unknown, not an older card's.
        {{ value_at_max('method_observations.card_expires_on', 'method_observations.observed_at') }}
            as card_expires_on
    from population_customers
    inner join method_observations
        on population_customers.customer_id = method_observations.customer_id
            and population_customers.scoring_at >= method_observations.observed_at
    group by population_customers.customer_id, population_customers.scoring_date
),

dispute_history as (
    select
        population_customers.customer_id,
        population_customers.scoring_date,
        count(*) as disputes_total,
        count(*) filter (
            where disputes.opened_at > population_customers.scoring_at - interval {{ window }} day
        ) as disputes_90d
    from population_customers
    inner join {{ ref('stg_billing__disputes') }} as disputes
        on population_customers.customer_id = disputes.customer_id
            and population_customers.scoring_at >= disputes.opened_at
    group by population_customers.customer_id, population_customers.scoring_date
),

-- When each invoice became delinquent: the day it reached the days-past-due limit unsettled,
-- and the day it was written off (either may be missing).
delinquency_events as (
    select
        subscription_id,
        due_date + {{ var('risk_days_past_due') }} as event_date
    from invoices
    where coalesce(settled_at::date >= due_date + {{ var('risk_days_past_due') }}, true)
    union all
    select
        subscription_id,
        written_off_at::date as event_date
    from invoices
    where written_off_at is not null
),

targets as (
    select distinct
        population.subscription_id,
        population.scoring_date
    from population
    inner join delinquency_events
        on population.subscription_id = delinquency_events.subscription_id
            and population.scoring_date < delinquency_events.event_date
            and population.horizon_end_date >= delinquency_events.event_date
)

select
    population.subscription_id,
    population.scoring_date,
    population.customer_id,
    population.scoring_at,
    population.is_as_of_date,
    population.horizon_end_date,
    population.is_target_observed,
    case
        when population.is_target_observed then targets.subscription_id is not null
    end as is_delinquent_next_horizon,
    population.plan,
    population.billing_interval,
    coalesce(customers.country, 'unknown') as country,
    coalesce(customers.verification_status, 'unknown') as verification_status,
    coalesce(method_at_scoring.payment_method, 'unknown') as payment_method,
    {{ date_diff('day', "population.active_from_at", "population.scoring_at") }} as tenure_days,
    {{ list_element('invoice_history.last_two_amounts', 1) }}::decimal(18, 2)
        as last_invoice_amount_reporting,
    (
        {{ list_element('invoice_history.last_two_amounts', 1) }}
        - {{ list_element('invoice_history.last_two_amounts', 2) }}
    )::decimal(18, 2)
        as invoice_amount_change_reporting,
    coalesce(invoice_history.invoices_due, 0) as invoices_due,
    coalesce(invoice_history.invoices_paid_late, 0) as invoices_paid_late,
    invoice_history.mean_days_late::decimal(9, 2) as mean_days_late,
    invoice_history.max_days_late,
    coalesce(invoice_history.open_past_due_invoices, 0) as open_past_due_invoices,
    coalesce(invoice_history.days_past_due, 0) as days_past_due,
    coalesce(invoice_history.invoices_written_off, 0) as invoices_written_off,
    coalesce(attempt_history.attempts_90d, 0) as attempts_90d,
    coalesce(attempt_history.failed_attempts_90d, 0) as failed_attempts_90d,
    coalesce(attempt_history.soft_declines_90d, 0) as soft_declines_90d,
    coalesce(attempt_history.hard_declines_90d, 0) as hard_declines_90d,
    coalesce(attempt_history.fraud_declines_90d, 0) as fraud_declines_90d,
    coalesce(attempt_history.expired_card_declines_90d, 0) as expired_card_declines_90d,
    coalesce(attempt_history.failed_attempts_total, 0) as failed_attempts_total,
    attempt_history.days_since_last_failure,
    attempt_history.share_3ds_90d::decimal(9, 6) as share_3ds_90d,
    coalesce(reminder_history.reminders_sent_90d, 0) as reminders_sent_90d,
    coalesce(reminder_history.reminders_opened_90d, 0) as reminders_opened_90d,
    coalesce(reminder_history.reminders_sent_90d - reminder_history.reminders_opened_90d, 0)
        as reminders_ignored_90d,
    {{ date_diff(
        'day', 'coalesce(method_history.last_method_update_at, customers.created_at)', 'population.scoring_at'
    ) }} as payment_method_age_days,
    coalesce(method_history.method_updates_90d, 0) as method_updates_90d,
    coalesce(method_history.expired_card_updates_90d, 0) as expired_card_updates_90d,
    -- A charge 30 days after the scoring date would find the card expired (null: no known card).
    method_at_scoring.card_expires_on < population.scoring_date + 30 as card_expires_within_30_days,
    coalesce(dispute_history.disputes_total, 0) as disputes_total,
    coalesce(dispute_history.disputes_90d, 0) as disputes_90d
from population
left join customers on population.customer_id = customers.customer_id
left join targets
    on population.subscription_id = targets.subscription_id
        and population.scoring_date = targets.scoring_date
left join invoice_history
    on population.subscription_id = invoice_history.subscription_id
        and population.scoring_date = invoice_history.scoring_date
left join attempt_history
    on population.subscription_id = attempt_history.subscription_id
        and population.scoring_date = attempt_history.scoring_date
left join reminder_history
    on population.customer_id = reminder_history.customer_id
        and population.scoring_date = reminder_history.scoring_date
left join method_history
    on population.customer_id = method_history.customer_id
        and population.scoring_date = method_history.scoring_date
left join method_at_scoring
    on population.customer_id = method_at_scoring.customer_id
        and population.scoring_date = method_at_scoring.scoring_date
left join dispute_history
    on population.customer_id = dispute_history.customer_id
        and population.scoring_date = dispute_history.scoring_date
