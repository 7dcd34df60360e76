-- The lower bound: the four headline marts (fct_invoices, receivables_daily, recovery_cohorts,
-- failure_rates_hourly) computed by one DuckDB script straight from the landing Parquet files,
-- with the dbt models' definitions (dbt_project/models/**) but none of the machinery: no
-- orchestration, no row validation, no raw copy, no intermediate tables that the four marts do
-- not need, no tests. `make bench` runs it in a fresh DuckDB process and checks that its tables
-- equal the published marts row for row, then reports full build / this script.
--
-- Before running, set:  set variable landing = '<landing folder>';
--                       set variable seeds = '<repo>/dbt_project/seeds';
--                       set variable reporting_currency = 'EUR';
-- Latest version per key as in the macro latest_versions: newest updated_at wins (the generator
-- never gives two versions of a record the same updated_at, so load order never decides).

-- ---------------------------------------------------------------- latest versions (staging)

create temp table stg_invoices as
select
    invoice_id,
    subscription_id,
    customer_id,
    upper(currency) as currency,
    amount_due,
    coalesce(amount_paid, 0)::decimal(18, 2) as amount_paid,
    issued_at,
    due_at,
    paid_at,
    status,
    written_off_at,
    billing_reason,
    updated_at
from read_parquet(getvariable('landing') || '/invoices/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by invoice_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_attempts as
select
    attempt_id,
    invoice_id,
    customer_id,
    attempted_at,
    amount,
    upper(currency) as currency,
    payment_method,
    lower(card_brand) as card_brand,
    upper(card_country) as card_country,
    card_fingerprint,
    processor,
    outcome = 'succeeded' as is_success,
    decline_code,
    "trigger" as attempt_trigger,
    updated_at
from read_parquet(getvariable('landing') || '/payment_attempts/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by attempt_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_subscriptions as
with versions as (
    select *
    from read_parquet(getvariable('landing') || '/subscriptions/*.parquet', file_row_number = true)
),

-- A trial ends with the first version after a `trialing` one whose status is another.
trials as (
    select
        subscription_id,
        min(updated_at) filter (where status != 'trialing' and updated_at > first_trialing_at)
            as trial_ended_at
    from (
        select
            subscription_id, status, updated_at,
            min(updated_at) filter (where status = 'trialing') over (partition by subscription_id)
                as first_trialing_at
        from versions
    )
    where first_trialing_at is not null
    group by subscription_id
)

select
    versions.subscription_id,
    versions.customer_id,
    versions.plan,
    versions.billing_interval,
    versions.amount,
    upper(versions.currency) as currency,
    versions.started_at,
    versions.canceled_at,
    -- Active from the start, or from the end of a trial (null while still trialing).
    case when trials.subscription_id is not null then trials.trial_ended_at else versions.started_at end
        as active_from_at,
    versions.updated_at
from versions
left join trials on versions.subscription_id = trials.subscription_id
qualify row_number() over (
    partition by versions.subscription_id
    order by versions.updated_at desc, versions.file_row_number desc
) = 1;

create temp table stg_customers as
select customer_id, upper(country) as country, updated_at
from read_parquet(getvariable('landing') || '/customers/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by customer_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_method_updates as
select customer_id, occurred_at, new_method, updated_at
from read_parquet(getvariable('landing') || '/payment_method_updates/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by update_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_messages as
select customer_id, invoice_id, sent_at, updated_at
from read_parquet(getvariable('landing') || '/dunning_messages/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by message_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_plans as
select invoice_id, agreed_at, updated_at
from read_parquet(getvariable('landing') || '/payment_plans/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by payment_plan_id order by updated_at desc, file_row_number desc
) = 1;

create temp table stg_returns as
-- Money given back on a payment: successful refunds and lost chargebacks (int_invoice_ledger).
select attempt_id, 'refunded' as event_type, refunded_at as event_at, amount
from read_parquet(getvariable('landing') || '/refunds/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by refund_id order by updated_at desc, file_row_number desc
) = 1 and status = 'succeeded'
union all
select
    attempt_id,
    'charged_back' as event_type,
    coalesce(case when closed_at < opened_at then opened_at else closed_at end, updated_at),
    amount
from read_parquet(getvariable('landing') || '/disputes/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by dispute_id order by updated_at desc, file_row_number desc
) = 1 and kind = 'chargeback' and status = 'lost';

create temp table stg_escalations as
select invoice_id, escalated_at, stage, updated_at
from read_parquet(getvariable('landing') || '/escalations/*.parquet', file_row_number = true)
qualify row_number() over (
    partition by escalation_id order by updated_at desc, file_row_number desc
) = 1;

-- The data's own "now": the newest version of any record (the newest version of a key is its
-- latest, so the maximum over all versions is the maximum over the latest ones).
create temp table as_of as
with latest as (
    select max(updated_at) as latest_at from stg_invoices
    union all select max(updated_at) from stg_attempts
    union all select max(updated_at) from stg_subscriptions
    union all select max(updated_at) from stg_customers
    union all select max(updated_at) from stg_method_updates
    union all select max(updated_at) from stg_messages
    union all select max(updated_at) from stg_plans
    union all select max(updated_at) from stg_escalations
    union all
    select max(updated_at)
    from read_parquet(getvariable('landing') || '/payment_plan_instalments/*.parquet')
    union all
    select max(updated_at) from read_parquet(getvariable('landing') || '/disputes/*.parquet')
    union all
    select max(updated_at) from read_parquet(getvariable('landing') || '/refunds/*.parquet')
)

select
    max(latest_at) as as_of_at,
    max(latest_at)::date as as_of_date
from latest;

-- ---------------------------------------------------------------- reference data

create temp table decline_codes as
select decline_code, decline_class
from read_csv(
    getvariable('seeds') || '/decline_codes.csv',
    header = true, columns = {'decline_code': 'varchar', 'decline_class': 'varchar'}
);

create temp table fx as
with seed as (
    select currency, valid_from, rate_to_eur::double as rate_to_eur
    from read_csv(
        getvariable('seeds') || '/fx_rates.csv',
        header = true,
        columns = {
            'currency': 'varchar', 'valid_from': 'date', 'rate_to_eur': 'decimal(18, 10)',
            'ecb_date': 'date', 'ecb_units_per_eur': 'decimal(18, 6)'
        }
    )
),

breaks as (select distinct valid_from from seed),

grid as (
    select currencies.currency, breaks.valid_from
    from (select distinct currency from seed) as currencies
    cross join breaks
),

priced as (
    select
        grid.currency,
        grid.valid_from,
        coalesce(
            seed.rate_to_eur,
            (select first.rate_to_eur from seed as first
             where first.currency = grid.currency order by first.valid_from limit 1)
        ) as rate_to_eur
    from grid
    asof left join seed
        on grid.currency = seed.currency and grid.valid_from >= seed.valid_from
),

reporting as (
    select valid_from, rate_to_eur as reporting_rate_to_eur
    from priced
    where currency = getvariable('reporting_currency')
)

select
    priced.currency,
    getvariable('reporting_currency') as reporting_currency,
    case
        when priced.valid_from = min(priced.valid_from) over () then date '1900-01-01'
        else priced.valid_from
    end as valid_from,
    coalesce(
        lead(priced.valid_from) over (partition by priced.currency order by priced.valid_from),
        date '9999-12-31'
    ) as valid_to,
    (priced.rate_to_eur / reporting.reporting_rate_to_eur)::decimal(18, 10) as rate_to_reporting
from priced
inner join reporting on priced.valid_from = reporting.valid_from;

-- ---------------------------------------------------------------- invoices

create temp table invoices_resolved as
with write_off_escalations as (
    select invoice_id, min(escalated_at) as escalated_at
    from stg_escalations
    where stage = 'write_off'
    group by invoice_id
),

resolved as (
    select
        invoices.*,
        invoices.status not in ('draft', 'void') and invoices.amount_due > 0 as is_receivable,
        case
            when invoices.status = 'paid' or invoices.paid_at is not null
                then coalesce(invoices.paid_at, invoices.updated_at)
        end as fully_paid_at,
        case
            when invoices.status in ('draft', 'void') or invoices.amount_due = 0 then null
            when invoices.written_off_at is not null
                or write_off_escalations.escalated_at is not null
                or invoices.status = 'uncollectible'
                then greatest(
                    coalesce(
                        invoices.written_off_at,
                        write_off_escalations.escalated_at,
                        invoices.updated_at
                    ),
                    invoices.issued_at
                )
        end as resolved_written_off_at
    from stg_invoices as invoices
    left join write_off_escalations on invoices.invoice_id = write_off_escalations.invoice_id
)

select
    resolved.* exclude (written_off_at, resolved_written_off_at),
    resolved.resolved_written_off_at as written_off_at,
    resolved.issued_at::date as issue_date,
    resolved.due_at::date as due_date,
    case
        when resolved.fully_paid_at is not null then resolved.amount_due
        else least(resolved.amount_paid, resolved.amount_due)
    end as amount_collected_total,
    fx.rate_to_reporting as fx_rate_to_reporting,
    fx.reporting_currency
from resolved
left join fx
    on resolved.currency = fx.currency
    and resolved.issued_at::date >= fx.valid_from
    and resolved.issued_at::date < fx.valid_to;

-- The receivables ledger: billed, collected, written off (int_invoice_ledger).
create temp table ledger as
with receivables as (
    select * from invoices_resolved where is_receivable
),

attempt_payments as (
    select
        invoice_id,
        attempted_at as event_at,
        amount,
        sum(amount) over (
            partition by invoice_id
            order by attempted_at, attempt_id
            rows between unbounded preceding and 1 preceding
        ) as paid_before
    from stg_attempts
    where is_success and invoice_id is not null
),

capped_attempt_payments as (
    select
        attempt_payments.invoice_id,
        attempt_payments.event_at,
        least(
            attempt_payments.amount,
            greatest(receivables.amount_collected_total - coalesce(attempt_payments.paid_before, 0), 0)
        ) as amount
    from attempt_payments
    inner join receivables on attempt_payments.invoice_id = receivables.invoice_id
),

balancing_payments as (
    select
        receivables.invoice_id,
        coalesce(receivables.fully_paid_at, receivables.updated_at) as event_at,
        any_value(receivables.amount_collected_total) - coalesce(sum(capped.amount), 0) as amount
    from receivables
    left join capped_attempt_payments as capped on receivables.invoice_id = capped.invoice_id
    group by receivables.invoice_id, receivables.fully_paid_at, receivables.updated_at
),

collections as (
    select invoice_id, event_at, amount from capped_attempt_payments where amount > 0
    union all
    select invoice_id, event_at, amount from balancing_payments where amount > 0
),

booked_collections as (
    select
        collections.invoice_id,
        'collected' as event_type,
        greatest(collections.event_at, receivables.issued_at) as event_at,
        collections.amount
    from collections
    inner join receivables on collections.invoice_id = receivables.invoice_id
    where receivables.written_off_at is null or collections.event_at < receivables.written_off_at
),

write_offs as (
    select
        receivables.invoice_id,
        'written_off' as event_type,
        receivables.written_off_at as event_at,
        any_value(receivables.amount_due) - coalesce(sum(booked.amount), 0) as amount
    from receivables
    left join booked_collections as booked on receivables.invoice_id = booked.invoice_id
    where receivables.written_off_at is not null
    group by receivables.invoice_id, receivables.written_off_at
),

returns as (
    select
        attempts.invoice_id,
        stg_returns.event_type,
        greatest(stg_returns.event_at, attempts.attempted_at) as event_at,
        least(stg_returns.amount, attempts.amount) as amount
    from stg_returns
    inner join stg_attempts as attempts on stg_returns.attempt_id = attempts.attempt_id
    inner join receivables on attempts.invoice_id = receivables.invoice_id
    where attempts.is_success
        and (receivables.written_off_at is null or attempts.attempted_at < receivables.written_off_at)
),

events as (
    select invoice_id, 'billed' as event_type, issued_at as event_at, amount_due as amount
    from receivables
    union all
    select invoice_id, event_type, event_at, amount from booked_collections
    union all
    select invoice_id, event_type, event_at, amount from write_offs where amount > 0
    union all
    select invoice_id, event_type, event_at, amount from returns where amount > 0
),

signed as (
    select
        events.invoice_id,
        events.event_type,
        events.event_at,
        events.amount::decimal(18, 2) as amount,
        receivables.fx_rate_to_reporting as fx,
        case events.event_type
            when 'billed' then 1 when 'collected' then -1 when 'written_off' then -1 else 0
        end as balance_sign
    from events
    inner join receivables on events.invoice_id = receivables.invoice_id
),

running as (
    -- Cents once per movement: the change of round(open balance x rate, 2).
    select
        *,
        sum(balance_sign * amount) over (
            partition by invoice_id
            order by event_at, balance_sign desc, event_type, amount
            rows unbounded preceding
        ) as open_after
    from signed
)

select
    invoice_id,
    event_type,
    event_at::date as event_date,
    amount,
    case
        when balance_sign = 0 then round(amount * fx, 2)
        else balance_sign * (round(open_after * fx, 2) - round((open_after - balance_sign * amount) * fx, 2))
    end::decimal(18, 2) as amount_reporting,
    balance_sign
from running;

-- Recovery: entered, recovered, channel (int_invoice_recovery).
create temp table recovery as
with receivables as (
    select * from invoices_resolved where is_receivable
),

attempts as (
    select * from stg_attempts where invoice_id is not null
),

first_failures as (
    select
        attempts.invoice_id,
        min(attempts.attempted_at) as first_attempt_at,
        min(attempts.attempted_at) filter (where not attempts.is_success) as first_failed_attempt_at,
        arg_min(attempts.payment_method, attempts.attempted_at) filter (where not attempts.is_success)
            as first_failed_method,
        arg_min(attempts.card_fingerprint, attempts.attempted_at) filter (where not attempts.is_success)
            as first_failed_card
    from attempts
    inner join receivables on attempts.invoice_id = receivables.invoice_id
    where (receivables.fully_paid_at is null or attempts.attempted_at <= receivables.fully_paid_at)
        and (receivables.written_off_at is null or attempts.attempted_at < receivables.written_off_at)
    group by attempts.invoice_id
),

entered as (
    select
        receivables.invoice_id,
        receivables.customer_id,
        receivables.fully_paid_at,
        receivables.written_off_at,
        first_failures.first_attempt_at,
        first_failures.first_failed_attempt_at,
        first_failures.first_failed_method,
        first_failures.first_failed_card,
        case
            when as_of.as_of_date > receivables.due_date
                and (receivables.fully_paid_at is null
                    or receivables.fully_paid_at::date > receivables.due_date)
                and (receivables.written_off_at is null
                    or receivables.written_off_at::date > receivables.due_date)
                then (receivables.due_date + 1)::timestamp
        end as became_past_due_at
    from receivables
    cross join as_of
    left join first_failures on receivables.invoice_id = first_failures.invoice_id
),

populations as (
    -- failed_payment: first attempt failed; late_payment: never attempted before it was paid and
    -- not paid by the end of its due date; a first attempt that succeeded is in neither.
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

entered_recovery as (
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
        entered_recovery.invoice_id,
        arg_max(attempts.attempt_trigger, attempts.attempted_at) as paying_trigger,
        arg_max(attempts.payment_method, attempts.attempted_at) as paying_method,
        arg_max(attempts.card_fingerprint, attempts.attempted_at) as paying_card
    from entered_recovery
    inner join attempts
        on entered_recovery.invoice_id = attempts.invoice_id
        and attempts.is_success
        and attempts.attempted_at <= entered_recovery.recovered_at
    group by entered_recovery.invoice_id
),

escalated as (
    select distinct entered_recovery.invoice_id
    from entered_recovery
    inner join stg_escalations as escalations
        on entered_recovery.invoice_id = escalations.invoice_id
    where escalations.stage in ('collections_agency', 'legal')
        and escalations.escalated_at <= entered_recovery.recovered_at
),

planned as (
    select distinct entered_recovery.invoice_id
    from entered_recovery
    inner join stg_plans as plans on entered_recovery.invoice_id = plans.invoice_id
    where plans.agreed_at <= entered_recovery.recovered_at
),

method_changed as (
    select distinct entered_recovery.invoice_id
    from entered_recovery
    inner join stg_method_updates as updates
        on entered_recovery.customer_id = updates.customer_id
    where updates.occurred_at
        between entered_recovery.entered_recovery_at and entered_recovery.recovered_at
),

reminded as (
    -- A message about the invoice, or an invoice-less one to the customer: joined on the
    -- customer (an equality), never on an OR of keys, which DuckDB can only run as a range join.
    select distinct entered_recovery.invoice_id
    from entered_recovery
    inner join stg_messages as messages on entered_recovery.customer_id = messages.customer_id
    where (messages.invoice_id = entered_recovery.invoice_id or messages.invoice_id is null)
        and messages.sent_at <= entered_recovery.recovered_at
        and messages.sent_at >= entered_recovery.recovered_at - to_days(7)
)

select
    entered_recovery.invoice_id,
    entered_recovery.first_failed_attempt_at,
    entered_recovery.recovery_population,
    entered_recovery.entered_recovery_at,
    entered_recovery.recovered_at,
    date_diff('day', entered_recovery.entered_recovery_at::date, entered_recovery.recovered_at::date)
        as days_to_recovery,
    case
        when entered_recovery.recovered_at is null then null
        when paying_attempts.paying_trigger = 'collections' or escalated.invoice_id is not null
            then 'collections'
        when paying_attempts.paying_trigger = 'payment_plan' or planned.invoice_id is not null
            then 'payment_plan'
        -- A comparison with an unknown method or card is null, i.e. not a change.
        when method_changed.invoice_id is not null
            or paying_attempts.paying_method != entered_recovery.first_failed_method
            or paying_attempts.paying_card != entered_recovery.first_failed_card
            then 'new_payment_method'
        when paying_attempts.paying_trigger in ('scheduled', 'automatic_retry')
            then 'automatic_retry'
        when reminded.invoice_id is not null then 'reminder'
        when paying_attempts.paying_trigger is not null then 'customer_initiated'
        else 'unattributed'
    end as recovery_channel
from entered_recovery
left join paying_attempts on entered_recovery.invoice_id = paying_attempts.invoice_id
left join escalated on entered_recovery.invoice_id = escalated.invoice_id
left join planned on entered_recovery.invoice_id = planned.invoice_id
left join method_changed on entered_recovery.invoice_id = method_changed.invoice_id
left join reminded on entered_recovery.invoice_id = reminded.invoice_id;

-- Segments: plan, billing country, current payment method (int_subscription_segments).
create temp table segments as
with methods as (
    select customer_id, arg_max(payment_method, observed_at) as payment_method
    from (
        select customer_id, occurred_at as observed_at, new_method as payment_method
        from stg_method_updates
        union all
        select customer_id, attempted_at, payment_method from stg_attempts
    )
    group by customer_id
)

select
    subscriptions.subscription_id,
    subscriptions.plan,
    coalesce(customers.country, 'unknown') as country,
    coalesce(methods.payment_method, 'unknown') as payment_method
from stg_subscriptions as subscriptions
left join stg_customers as customers on subscriptions.customer_id = customers.customer_id
left join methods on subscriptions.customer_id = methods.customer_id;

-- ---------------------------------------------------------------- mart: fct_invoices

create table fct_invoices as
with ledger_totals as (
    select
        invoice_id,
        sum(amount) filter (where event_type = 'collected') as amount_collected,
        sum(amount) filter (where event_type = 'written_off') as amount_written_off,
        sum(amount) filter (where event_type in ('refunded', 'charged_back')) as amount_returned,
        sum(amount_reporting) filter (where event_type = 'billed') as amount_due_reporting,
        sum(amount_reporting) filter (where event_type = 'collected') as amount_collected_reporting,
        sum(amount_reporting) filter (where event_type = 'written_off') as amount_written_off_reporting,
        sum(amount_reporting) filter (where event_type in ('refunded', 'charged_back'))
            as amount_returned_reporting,
        sum(balance_sign * amount_reporting) as amount_open_reporting
    from ledger
    group by invoice_id
),

attempt_counts as (
    select
        invoice_id,
        count(*) as attempt_count,
        count(*) filter (where not is_success) as failed_attempt_count
    from stg_attempts
    where invoice_id is not null
    group by invoice_id
),

balances as (
    select
        invoices.*,
        as_of.as_of_date,
        coalesce(invoices.amount_collected_total, 0) as amount_paid_total,
        case
            when not invoices.is_receivable then 0
            else invoices.amount_due
                - coalesce(ledger_totals.amount_collected, 0)
                - coalesce(ledger_totals.amount_written_off, 0)
        end as amount_open,
        coalesce(ledger_totals.amount_written_off, 0) as amount_written_off,
        coalesce(ledger_totals.amount_returned, 0) as amount_returned,
        case
            when invoices.is_receivable then ledger_totals.amount_due_reporting
            else round(invoices.amount_due * invoices.fx_rate_to_reporting, 2)
        end as amount_due_reporting,
        coalesce(ledger_totals.amount_collected_reporting, 0) as amount_collected_reporting,
        coalesce(ledger_totals.amount_written_off_reporting, 0) as amount_written_off_reporting,
        coalesce(ledger_totals.amount_returned_reporting, 0) as amount_returned_reporting,
        coalesce(ledger_totals.amount_open_reporting, 0) as amount_open_reporting,
        greatest(
            date_diff(
                'day',
                invoices.due_date,
                coalesce(least(invoices.fully_paid_at, invoices.written_off_at)::date, as_of.as_of_date)
            ),
            0
        ) as days_late
    from invoices_resolved as invoices
    cross join as_of
    left join ledger_totals on invoices.invoice_id = ledger_totals.invoice_id
)

select
    balances.invoice_id,
    balances.customer_id,
    balances.subscription_id,
    balances.currency,
    balances.amount_due,
    balances.amount_paid_total::decimal(18, 2) as amount_paid,
    balances.amount_open::decimal(18, 2) as amount_remaining,
    balances.amount_written_off::decimal(18, 2) as amount_written_off,
    balances.reporting_currency,
    balances.fx_rate_to_reporting,
    balances.amount_due_reporting::decimal(18, 2) as amount_due_reporting,
    round(balances.amount_paid_total * balances.fx_rate_to_reporting, 2)::decimal(18, 2)
        as amount_paid_reporting,
    balances.amount_collected_reporting::decimal(18, 2) as amount_collected_reporting,
    balances.amount_open_reporting::decimal(18, 2) as amount_remaining_reporting,
    balances.amount_written_off_reporting::decimal(18, 2) as amount_written_off_reporting,
    balances.amount_returned::decimal(18, 2) as amount_returned,
    balances.amount_returned_reporting::decimal(18, 2) as amount_returned_reporting,
    balances.issued_at,
    balances.due_at,
    balances.fully_paid_at as paid_at,
    balances.status,
    balances.billing_reason,
    balances.is_receivable,
    case when balances.is_receivable then balances.days_late::integer end as days_past_due,
    case
        when balances.amount_open > 0 then
            case
                when date_diff('day', balances.due_date, balances.as_of_date) <= 0 then 'current'
                when date_diff('day', balances.due_date, balances.as_of_date) <= 30 then '1-30'
                when date_diff('day', balances.due_date, balances.as_of_date) <= 60 then '31-60'
                when date_diff('day', balances.due_date, balances.as_of_date) <= 90 then '61-90'
                else '91+'
            end
    end as ageing_bucket,
    balances.amount_open > 0 and balances.as_of_date > balances.due_date as is_past_due,
    recovery.first_failed_attempt_at,
    recovery.recovery_population,
    recovery.entered_recovery_at,
    date_trunc('month', recovery.entered_recovery_at)::date as recovery_cohort_month,
    recovery.recovered_at,
    recovery.days_to_recovery::integer as days_to_recovery,
    recovery.recovery_channel,
    recovery.entered_recovery_at::date + 60 <= balances.as_of_date as is_recovery_window_elapsed,
    coalesce(recovery.days_to_recovery <= 60, false) as is_recovered_within_window,
    balances.written_off_at,
    coalesce(attempt_counts.attempt_count, 0)::integer as attempt_count,
    coalesce(attempt_counts.failed_attempt_count, 0)::integer as failed_attempt_count,
    segments.plan,
    segments.country,
    segments.payment_method,
    balances.as_of_date
from balances
left join recovery on balances.invoice_id = recovery.invoice_id
left join segments on balances.subscription_id = segments.subscription_id
left join attempt_counts on balances.invoice_id = attempt_counts.invoice_id;

-- ---------------------------------------------------------------- mart: recovery_cohorts

create table recovery_cohorts as
with entered as (
    -- The headline population: failed payments (late payments: late_payment_cohorts).
    select *, entered_recovery_at::date as entered_date
    from fct_invoices
    where recovery_population = 'failed_payment'
),

data_start as (
    select min(event_date) as data_start_date from ledger
),

cohorts as (
    select
        recovery_cohort_month as cohort_month,
        count(*) as invoices_entered,
        sum(amount_due_reporting) as amount_entered,
        count(*) filter (where is_recovery_window_elapsed) as invoices_window_elapsed,
        count(*) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as invoices_recovered_in_window,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed) as amount_window_elapsed,
        sum(amount_due_reporting) filter (where is_recovery_window_elapsed and is_recovered_within_window)
            as amount_recovered_in_window,
        median(days_to_recovery) filter (where is_recovered_within_window)
            as median_days_to_recovery,
        last_day(recovery_cohort_month) + 60 <= any_value(as_of.as_of_date) as is_window_elapsed,
        recovery_cohort_month >= any_value(data_start.data_start_date)
        and last_day(recovery_cohort_month) <= any_value(as_of.as_of_date) as is_complete_month
    from entered
    cross join as_of
    cross join data_start
    group by recovery_cohort_month
),

days as (
    select unnest(generate_series(0, 60))::integer as days_since_entered
),

curve as (
    select
        entered.recovery_cohort_month as cohort_month,
        days.days_since_entered,
        count(*) filter (where entered.entered_date + days.days_since_entered <= as_of.as_of_date)
            as invoices_observed,
        sum(entered.amount_due_reporting) filter (
            where entered.entered_date + days.days_since_entered <= as_of.as_of_date
        ) as amount_observed,
        count(*) filter (
            where entered.entered_date + days.days_since_entered <= as_of.as_of_date
                and entered.days_to_recovery <= days.days_since_entered
        ) as invoices_recovered,
        sum(entered.amount_due_reporting) filter (
            where entered.entered_date + days.days_since_entered <= as_of.as_of_date
                and entered.days_to_recovery <= days.days_since_entered
        ) as amount_recovered
    from entered
    cross join days
    cross join as_of
    group by 1, 2
)

select
    curve.cohort_month,
    curve.days_since_entered::integer as days_since_entered,
    getvariable('reporting_currency') as reporting_currency,
    cohorts.invoices_entered::integer as invoices_entered,
    cohorts.amount_entered::decimal(18, 2) as amount_entered_reporting,
    curve.invoices_observed::integer as invoices_observed,
    curve.invoices_recovered::integer as invoices_recovered,
    coalesce(curve.amount_recovered, 0)::decimal(18, 2) as amount_recovered_reporting,
    round(curve.invoices_recovered / nullif(curve.invoices_observed, 0), 6)::decimal(9, 6)
        as recovered_share,
    round(coalesce(curve.amount_recovered, 0) / nullif(curve.amount_observed, 0), 6)::decimal(9, 6)
        as recovered_amount_share,
    cohorts.is_complete_month,
    cohorts.is_window_elapsed,
    cohorts.invoices_window_elapsed::integer as cohort_invoices_window_elapsed,
    cohorts.invoices_recovered_in_window::integer as cohort_invoices_recovered,
    round(cohorts.invoices_recovered_in_window / nullif(cohorts.invoices_window_elapsed, 0), 6)
        ::decimal(9, 6) as cohort_recovery_rate,
    coalesce(cohorts.amount_recovered_in_window, 0)::decimal(18, 2)
        as cohort_recovered_revenue_reporting,
    round(coalesce(cohorts.amount_recovered_in_window, 0) / nullif(cohorts.amount_window_elapsed, 0), 6)
        ::decimal(9, 6) as cohort_recovered_revenue_rate,
    cohorts.median_days_to_recovery::decimal(8, 1) as cohort_median_days_to_recovery
from curve
inner join cohorts on curve.cohort_month = cohorts.cohort_month;

-- ---------------------------------------------------------------- mart: receivables_daily

-- Open balance periods per receivable invoice (int_invoice_balance_periods).
create temp table balance_periods as
with receivables as (
    select invoice_id, due_date, issue_date from invoices_resolved where is_receivable
),

moves as (
    select
        invoice_id,
        event_date as start_date,
        balance_sign * amount as delta,
        balance_sign * amount_reporting as delta_reporting
    from ledger
    where balance_sign != 0
    union all
    select
        receivables.invoice_id,
        receivables.due_date + boundary.days as start_date,
        0 as delta,
        0 as delta_reporting
    from receivables
    cross join (values (1), (31), (61), (91)) as boundary (days)
    where receivables.due_date + boundary.days > receivables.issue_date
),

daily_moves as (
    select invoice_id, start_date, sum(delta) as delta, sum(delta_reporting) as delta_reporting
    from moves
    group by invoice_id, start_date
),

periods as (
    select
        invoice_id,
        start_date,
        sum(delta) over by_start as amount_open,
        sum(delta_reporting) over by_start as amount_open_reporting,
        coalesce(lead(start_date) over by_start, date '9999-12-31') as end_date
    from daily_moves
    window by_start as (partition by invoice_id order by start_date)
)

select
    periods.invoice_id,
    periods.start_date,
    periods.end_date,
    periods.amount_open,
    periods.amount_open_reporting,
    case
        when date_diff('day', receivables.due_date, periods.start_date) <= 0 then 'current'
        when date_diff('day', receivables.due_date, periods.start_date) <= 30 then '1-30'
        when date_diff('day', receivables.due_date, periods.start_date) <= 60 then '31-60'
        when date_diff('day', receivables.due_date, periods.start_date) <= 90 then '61-90'
        else '91+'
    end as ageing_bucket
from periods
inner join receivables on periods.invoice_id = receivables.invoice_id
where periods.amount_open > 0;

create table receivables_daily as
with invoice_periods as (
    select
        periods.*,
        coalesce(segments.plan, 'unknown') as plan,
        coalesce(segments.country, 'unknown') as country,
        coalesce(segments.payment_method, 'unknown') as payment_method,
        invoices.currency,
        invoices.subscription_id
    from balance_periods as periods
    inner join invoices_resolved as invoices on periods.invoice_id = invoices.invoice_id
    left join segments on invoices.subscription_id = segments.subscription_id
),

invoice_deltas as (
    select
        plan, country, payment_method, currency,
        boundary.date_day,
        boundary.sign as open_invoices,
        boundary.sign * amount_open as open_amount,
        boundary.sign * amount_open_reporting as open_amount_reporting,
        boundary.sign * amount_open_reporting * (ageing_bucket = 'current')::int as current_reporting,
        boundary.sign * amount_open_reporting * (ageing_bucket = '1-30')::int as past_due_1_30_reporting,
        boundary.sign * amount_open_reporting * (ageing_bucket = '31-60')::int as past_due_31_60_reporting,
        boundary.sign * amount_open_reporting * (ageing_bucket = '61-90')::int as past_due_61_90_reporting,
        boundary.sign * amount_open_reporting * (ageing_bucket = '91+')::int as past_due_91_plus_reporting,
        boundary.sign * (ageing_bucket != 'current')::int as past_due_invoices,
        boundary.sign * amount_open * (ageing_bucket != 'current')::int as past_due_amount,
        0 as active_subscriptions,
        0 as delinquent_subscriptions,
        0 as revenue_at_risk_reporting
    from invoice_periods
    cross join lateral (
        values (invoice_periods.start_date, 1), (invoice_periods.end_date, -1)
    ) as boundary (date_day, sign)
),

subscriptions as (
    -- dim_subscriptions: MRR in the reporting currency at the as-of date's rate.
    select
        subscriptions.subscription_id,
        subscriptions.active_from_at::date as active_from,
        coalesce(subscriptions.canceled_at::date, date '9999-12-31') as active_to,
        round(
            subscriptions.amount
            * case subscriptions.billing_interval
                when 'day' then 365.25 when 'week' then 52 when 'month' then 12 when 'year' then 1
            end
            / 12 * fx.rate_to_reporting,
            2
        )::decimal(18, 2) as mrr_reporting,
        coalesce(segments.plan, 'unknown') as plan,
        coalesce(segments.country, 'unknown') as country,
        coalesce(segments.payment_method, 'unknown') as payment_method,
        subscriptions.currency
    from stg_subscriptions as subscriptions
    cross join as_of
    left join segments on subscriptions.subscription_id = segments.subscription_id
    left join fx
        on subscriptions.currency = fx.currency
        and as_of.as_of_date >= fx.valid_from
        and as_of.as_of_date < fx.valid_to
    -- Active = started, out of any trial, not cancelled.
    where subscriptions.active_from_at::date
        < coalesce(subscriptions.canceled_at::date, date '9999-12-31')
),

past_due_periods as (
    select subscription_id, start_date, end_date
    from invoice_periods
    where ageing_bucket != 'current'
),

past_due_islands as (
    select
        subscription_id,
        start_date,
        end_date,
        sum(is_new_island) over (
            partition by subscription_id order by start_date, end_date
            rows unbounded preceding
        ) as island
    from (
        select
            *,
            case
                when start_date <= max(end_date) over (
                    partition by subscription_id order by start_date, end_date
                    rows between unbounded preceding and 1 preceding
                ) then 0
                else 1
            end as is_new_island
        from past_due_periods
    )
),

merged_islands as (
    select subscription_id, min(start_date) as start_date, max(end_date) as end_date
    from past_due_islands
    group by subscription_id, island
),

delinquent_spells as (
    select
        subscriptions.*,
        greatest(islands.start_date, subscriptions.active_from) as spell_from,
        least(islands.end_date, subscriptions.active_to) as spell_to
    from merged_islands as islands
    inner join subscriptions on islands.subscription_id = subscriptions.subscription_id
    where greatest(islands.start_date, subscriptions.active_from)
        < least(islands.end_date, subscriptions.active_to)
),

subscription_deltas as (
    select
        plan, country, payment_method, currency,
        boundary.date_day,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        boundary.sign as active_subscriptions,
        0 as delinquent_subscriptions,
        0 as revenue_at_risk_reporting
    from subscriptions
    cross join lateral (
        values (subscriptions.active_from, 1), (subscriptions.active_to, -1)
    ) as boundary (date_day, sign)
    union all
    select
        plan, country, payment_method, currency,
        boundary.date_day,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0,
        boundary.sign,
        boundary.sign * mrr_reporting
    from delinquent_spells
    cross join lateral (
        values (delinquent_spells.spell_from, 1), (delinquent_spells.spell_to, -1)
    ) as boundary (date_day, sign)
),

daily_deltas as (
    select
        plan, country, payment_method, currency, date_day,
        sum(open_invoices) as open_invoices,
        sum(open_amount) as open_amount,
        sum(open_amount_reporting) as open_amount_reporting,
        sum(current_reporting) as current_reporting,
        sum(past_due_1_30_reporting) as past_due_1_30_reporting,
        sum(past_due_31_60_reporting) as past_due_31_60_reporting,
        sum(past_due_61_90_reporting) as past_due_61_90_reporting,
        sum(past_due_91_plus_reporting) as past_due_91_plus_reporting,
        sum(past_due_invoices) as past_due_invoices,
        sum(past_due_amount) as past_due_amount,
        sum(active_subscriptions) as active_subscriptions,
        sum(delinquent_subscriptions) as delinquent_subscriptions,
        sum(revenue_at_risk_reporting) as revenue_at_risk_reporting
    from (
        select * from invoice_deltas
        union all
        select * from subscription_deltas
    )
    where date_day <= (select as_of_date from as_of)
    group by all
),

spine as (
    select unnest(generate_series(
        (select min(date_day) from daily_deltas),
        (select as_of_date from as_of),
        interval 1 day
    ))::date as date_day
),

segment_days as (
    select spine.date_day, segment_list.*
    from spine
    cross join (select distinct plan, country, payment_method, currency from daily_deltas) as segment_list
),

-- Running totals over the days that have a change only, then every segment-day takes the
-- latest of them (the dbt model runs the windows over the dense grid: same rows, more work).
sparse_running as (
    select
        plan, country, payment_method, currency, date_day,
        sum(open_invoices) over segment_history as open_invoices,
        sum(open_amount) over segment_history as open_amount,
        sum(open_amount_reporting) over segment_history as open_amount_reporting,
        sum(current_reporting) over segment_history as current_reporting,
        sum(past_due_1_30_reporting) over segment_history as past_due_1_30_reporting,
        sum(past_due_31_60_reporting) over segment_history as past_due_31_60_reporting,
        sum(past_due_61_90_reporting) over segment_history as past_due_61_90_reporting,
        sum(past_due_91_plus_reporting) over segment_history as past_due_91_plus_reporting,
        sum(past_due_invoices) over segment_history as past_due_invoices,
        sum(past_due_amount) over segment_history as past_due_amount,
        sum(active_subscriptions) over segment_history as active_subscriptions,
        sum(delinquent_subscriptions) over segment_history as delinquent_subscriptions,
        sum(revenue_at_risk_reporting) over segment_history as revenue_at_risk_reporting
    from daily_deltas
    window segment_history as (
        partition by plan, country, payment_method, currency
        order by date_day
        rows unbounded preceding
    )
),

running as (
    select
        segment_days.date_day,
        segment_days.plan,
        segment_days.country,
        segment_days.payment_method,
        segment_days.currency,
        coalesce(sparse_running.open_invoices, 0) as open_invoices,
        coalesce(sparse_running.open_amount, 0) as open_amount,
        coalesce(sparse_running.open_amount_reporting, 0) as open_amount_reporting,
        coalesce(sparse_running.current_reporting, 0) as current_reporting,
        coalesce(sparse_running.past_due_1_30_reporting, 0) as past_due_1_30_reporting,
        coalesce(sparse_running.past_due_31_60_reporting, 0) as past_due_31_60_reporting,
        coalesce(sparse_running.past_due_61_90_reporting, 0) as past_due_61_90_reporting,
        coalesce(sparse_running.past_due_91_plus_reporting, 0) as past_due_91_plus_reporting,
        coalesce(sparse_running.past_due_invoices, 0) as past_due_invoices,
        coalesce(sparse_running.past_due_amount, 0) as past_due_amount,
        coalesce(sparse_running.active_subscriptions, 0) as active_subscriptions,
        coalesce(sparse_running.delinquent_subscriptions, 0) as delinquent_subscriptions,
        coalesce(sparse_running.revenue_at_risk_reporting, 0) as revenue_at_risk_reporting
    from segment_days
    asof left join sparse_running
        on segment_days.plan = sparse_running.plan
        and segment_days.country = sparse_running.country
        and segment_days.payment_method = sparse_running.payment_method
        and segment_days.currency = sparse_running.currency
        and segment_days.date_day >= sparse_running.date_day
)

select
    date_day,
    plan,
    country,
    payment_method,
    currency,
    getvariable('reporting_currency') as reporting_currency,
    open_invoices::integer as open_invoices,
    open_amount_reporting::decimal(18, 2) as open_receivables_reporting,
    open_amount::decimal(18, 2) as open_receivables,
    current_reporting::decimal(18, 2) as current_reporting,
    past_due_1_30_reporting::decimal(18, 2) as past_due_1_30_reporting,
    past_due_31_60_reporting::decimal(18, 2) as past_due_31_60_reporting,
    past_due_61_90_reporting::decimal(18, 2) as past_due_61_90_reporting,
    past_due_91_plus_reporting::decimal(18, 2) as past_due_91_plus_reporting,
    (open_amount_reporting - current_reporting)::decimal(18, 2) as past_due_reporting,
    past_due_amount::decimal(18, 2) as past_due,
    past_due_invoices::integer as past_due_invoices,
    round((open_amount_reporting - current_reporting) / nullif(open_amount_reporting, 0), 6)
        ::decimal(9, 6) as delinquency_rate_amount,
    active_subscriptions::integer as active_subscriptions,
    delinquent_subscriptions::integer as delinquent_subscriptions,
    round(delinquent_subscriptions / nullif(active_subscriptions, 0), 6)::decimal(9, 6)
        as delinquency_rate_subscriptions,
    revenue_at_risk_reporting::decimal(18, 2) as revenue_at_risk_reporting
from running
where open_invoices != 0 or active_subscriptions != 0;

-- ---------------------------------------------------------------- mart: failure_rates_hourly

-- Billing attempts (card verifications left out) with every attribute a segment is cut by
-- (fct_payment_attempts + int_monitoring_attempts, only the columns the rates use).
create temp table monitoring_attempts as
with invoice_plans as (
    select invoices.invoice_id, subscriptions.plan
    from stg_invoices as invoices
    inner join stg_subscriptions as subscriptions
        on invoices.subscription_id = subscriptions.subscription_id
)

select
    date_trunc('hour', attempts.attempted_at) as hour_start,
    date_trunc('day', attempts.attempted_at) as day_start,
    not attempts.is_success as is_failure,
    case
        when attempts.is_success then null
        else coalesce(decline_codes.decline_class, 'unknown')
    end as decline_class,
    round(attempts.amount * fx.rate_to_reporting, 2)::decimal(18, 2) as amount_reporting,
    attempts.payment_method,
    attempts.processor,
    attempts.card_brand,
    attempts.card_country,
    invoice_plans.plan
from stg_attempts as attempts
left join decline_codes on lower(trim(attempts.decline_code)) = decline_codes.decline_code
left join fx
    on attempts.currency = fx.currency
    and attempts.attempted_at::date >= fx.valid_from
    and attempts.attempted_at::date < fx.valid_to
left join invoice_plans on attempts.invoice_id = invoice_plans.invoice_id
where attempts.attempt_trigger is distinct from 'card_verification';

-- Attempts and failures per segment per hour and per day (int_failure_counts).
create temp table failure_counts as
with by_attribute as (
    select
        hour_start,
        case
            when grouping(payment_method) = 0 then 'payment_method'
            when grouping(processor) = 0 then 'processor'
            when grouping(card_brand) = 0 then 'card_brand'
            when grouping(card_country) = 0 then 'card_country'
            when grouping(plan) = 0 then 'plan'
            else 'overall'
        end as segment_type,
        case
            when grouping(payment_method) = 0 then payment_method
            when grouping(processor) = 0 then processor
            when grouping(card_brand) = 0 then card_brand
            when grouping(card_country) = 0 then card_country
            when grouping(plan) = 0 then plan
            else 'all'
        end as segment_value,
        count(*) as attempts,
        count(*) filter (where is_failure) as failures,
        sum(amount_reporting) as amount_attempted,
        coalesce(sum(amount_reporting) filter (where is_failure), 0) as amount_failed
    from monitoring_attempts
    group by grouping sets (
        (hour_start),
        (hour_start, payment_method),
        (hour_start, processor),
        (hour_start, card_brand),
        (hour_start, card_country),
        (hour_start, plan)
    )
),

hourly_segments as (
    select * from by_attribute where segment_value is not null
),

overall as (
    select * from hourly_segments where segment_type = 'overall'
),

decline_classes as (
    select distinct decline_class from monitoring_attempts where decline_class is not null
),

failures_by_class as (
    select hour_start, decline_class, count(*) as failures, sum(amount_reporting) as amount_failed
    from monitoring_attempts
    where is_failure
    group by all
),

by_decline_class as (
    select
        overall.hour_start,
        'decline_class' as segment_type,
        decline_classes.decline_class as segment_value,
        overall.attempts,
        coalesce(failures_by_class.failures, 0) as failures,
        overall.amount_attempted,
        coalesce(failures_by_class.amount_failed, 0) as amount_failed
    from overall
    cross join decline_classes
    left join failures_by_class
        on overall.hour_start = failures_by_class.hour_start
        and decline_classes.decline_class = failures_by_class.decline_class
),

hourly as (
    select * from hourly_segments
    union all
    select * from by_decline_class
)

select
    'hour' as window_grain,
    segment_type,
    segment_value,
    hour_start as window_start,
    hour_start + interval 1 hour as window_end,
    attempts,
    failures,
    amount_attempted,
    amount_failed
from hourly
union all
select
    'day' as window_grain,
    segment_type,
    segment_value,
    date_trunc('day', hour_start) as window_start,
    date_trunc('day', hour_start) + interval 1 day as window_end,
    sum(attempts) as attempts,
    sum(failures) as failures,
    sum(amount_attempted) as amount_attempted,
    sum(amount_failed) as amount_failed
from hourly
group by all;

-- Expected rates, scores and attribution (int_failure_rate_windows with its default vars; the
-- daily windows are needed for the levels and day-of-month factors of the hourly ones).
create table failure_rates_hourly as
with counts as (
    select *, failures::double as failures_d, attempts::double as attempts_d
    from failure_counts
),

daily as (
    select * from counts where window_grain = 'day'
),

calendar as (
    select unnest(generate_series(min(window_start), max(window_start), interval 1 day)) as day_start
    from daily
),

segment_list as (
    select distinct segment_type, segment_value from daily
),

dense_daily as (
    select
        segment_list.segment_type,
        segment_list.segment_value,
        calendar.day_start,
        coalesce(daily.attempts_d, 0) as attempts,
        coalesce(daily.failures_d, 0) as failures
    from segment_list
    cross join calendar
    left join daily
        on segment_list.segment_type = daily.segment_type
        and segment_list.segment_value = daily.segment_value
        and calendar.day_start = daily.window_start
),

week_blocks as (
    select
        segment_type,
        segment_value,
        day_start,
        sum(failures) over last_7_days / nullif(sum(attempts) over last_7_days, 0) as block_rate,
        sum(attempts) over last_7_days as block_attempts
    from dense_daily
    window last_7_days as (
        partition by segment_type, segment_value order by day_start
        rows between 6 preceding and current row
    )
),

levels as (
    select
        segment_type,
        segment_value,
        day_start,
        [
            case when lag(block_attempts, 1) over by_day >= 20
                then lag(block_rate, 1) over by_day end,
            case when lag(block_attempts, 8) over by_day >= 20
                then lag(block_rate, 8) over by_day end,
            case when lag(block_attempts, 15) over by_day >= 20
                then lag(block_rate, 15) over by_day end,
            case when lag(block_attempts, 22) over by_day >= 20
                then lag(block_rate, 22) over by_day end
        ] as block_rates
    from week_blocks
    window by_day as (partition by segment_type, segment_value order by day_start)
),

windows as (
    select
        counts.*,
        counts.failures_d / counts.attempts_d as failure_rate,
        case counts.window_grain
            when 'hour' then (isodow(counts.window_start) - 1) * 24 + hour(counts.window_start)
            else isodow(counts.window_start) - 1
        end as seasonal_slot,
        case when len(list_filter(levels.block_rates, lambda x: x is not null)) >= 2
            then list_median(levels.block_rates) end as level_rate
    from counts
    left join levels
        on counts.segment_type = levels.segment_type
        and counts.segment_value = levels.segment_value
        and date_trunc('day', counts.window_start) = levels.day_start
),

screening as (
    select
        *,
        (coalesce(sum(failures_d) over same_slot_history, 0) + 50 * level_rate)
        / (coalesce(sum(attempts_d) over same_slot_history, 0) + 50) as screening_rate
    from windows
    window same_slot_history as (
        partition by window_grain, segment_type, segment_value, seasonal_slot
        order by window_start
        range between interval 6 weeks preceding and interval 1 hour preceding
    )
),

screened as (
    select
        *,
        coalesce(
            case
                when attempts_d > 0 and failures_d / attempts_d > screening_rate then attempts_d * (
                    case when failures_d > 0
                        then (failures_d / attempts_d)
                            * ln((failures_d / attempts_d) / greatest(screening_rate, 1e-6))
                        else 0 end
                    + case when failures_d < attempts_d
                        then (1 - failures_d / attempts_d)
                            * ln((1 - failures_d / attempts_d) / (1 - least(screening_rate, 1 - 1e-6)))
                        else 0 end
                ) / ln(10)
                else 0
            end >= 3
            and failure_rate >= screening_rate * 1.5,
            false
        ) as is_screened_out
    from screening
),

baseline as (
    select
        *,
        coalesce(sum(failures_d) filter (where not is_screened_out) over same_slot_history, 0)
            as history_failures,
        coalesce(sum(attempts_d) filter (where not is_screened_out) over same_slot_history, 0)
            as history_attempts
    from screened
    window same_slot_history as (
        partition by window_grain, segment_type, segment_value, seasonal_slot
        order by window_start
        range between interval 6 weeks preceding and interval 1 hour preceding
    )
),

weekly_expected as (
    select
        *,
        (history_failures + 50 * level_rate) / (history_attempts + 50) as weekly_expected_rate,
        history_attempts + 50 as baseline_attempts
    from baseline
),

day_ratios as (
    select
        segment_type,
        segment_value,
        window_start as day_start,
        day(window_start) as day_of_month,
        (failures_d + 10) / (attempts_d * weekly_expected_rate + 10) as day_ratio
    from weekly_expected
    where window_grain = 'day' and weekly_expected_rate is not null
),

day_of_month_factors as (
    select
        segment_type,
        segment_value,
        day_start,
        greatest(least(coalesce(median(day_ratio) over same_day_history, 1), 2), 1 / 2)
            as day_of_month_factor
    from day_ratios
    window same_day_history as (
        partition by segment_type, segment_value, day_of_month order by day_start
        rows between 6 preceding and 1 preceding
    )
),

-- From here on only the hourly windows: the mart publishes those.
expected as (
    select
        weekly_expected.*,
        coalesce(day_of_month_factors.day_of_month_factor, 1) as day_of_month_factor,
        least(
            weekly_expected.weekly_expected_rate
            * coalesce(day_of_month_factors.day_of_month_factor, 1),
            0.999
        ) as expected_rate
    from weekly_expected
    left join day_of_month_factors
        on weekly_expected.segment_type = day_of_month_factors.segment_type
        and weekly_expected.segment_value = day_of_month_factors.segment_value
        and date_trunc('day', weekly_expected.window_start) = day_of_month_factors.day_start
    where weekly_expected.window_grain = 'hour'
),

scored as (
    select
        *,
        least(
            expected_rate + 2 * sqrt(expected_rate * (1 - expected_rate) / baseline_attempts), 1
        ) as expected_rate_upper
    from expected
),

final as (
    select
        *,
        case
            when attempts_d > 0 and failures_d / attempts_d > expected_rate_upper then attempts_d * (
                case when failures_d > 0
                    then (failures_d / attempts_d)
                        * ln((failures_d / attempts_d) / greatest(expected_rate_upper, 1e-6))
                    else 0 end
                + case when failures_d < attempts_d
                    then (1 - failures_d / attempts_d)
                        * ln((1 - failures_d / attempts_d) / (1 - least(expected_rate_upper, 1 - 1e-6)))
                    else 0 end
            ) / ln(10)
            else 0
        end as score,
        failures_d - attempts_d * expected_rate as excess_failures
    from scored
),

windows_scored as (
    select
        *,
        coalesce(
            expected_rate is not null
            and attempts_d >= 20
            and failures_d - attempts_d * expected_rate >= 5
            and failures_d / attempts_d >= expected_rate * 1.5
            and failures_d / attempts_d - expected_rate >= 0.05
            and score >= 8,
            false
        ) as is_anomalous,
        coalesce(score >= 1.3, false) as is_elevated
    from final
),

candidates as (
    select * from windows_scored where is_anomalous
),

pairs as (
    select
        t.window_start,
        t.segment_type,
        t.segment_value,
        t.expected_rate,
        t.expected_rate_upper,
        r.segment_type as root_type,
        r.segment_value as root_value,
        r.score as root_score
    from candidates as t
    inner join candidates as r
        on t.window_start = r.window_start
        and r.segment_type not in ('overall', 'decline_class')
        and r.segment_type <> t.segment_type
        and (r.score, r.segment_type, r.segment_value) > (t.score, t.segment_type, t.segment_value)
),

attempts_in_pair_windows as (
    select attempts.*
    from (select distinct window_start from pairs) as pair_windows
    inner join monitoring_attempts as attempts on pair_windows.window_start = attempts.hour_start
),

residuals as (
    select
        pairs.window_start,
        pairs.segment_type,
        pairs.segment_value,
        pairs.expected_rate,
        pairs.expected_rate_upper,
        pairs.root_type,
        pairs.root_value,
        count(*)::double as attempts_d,
        count(*) filter (
            where attempts.is_failure
            and (pairs.segment_type <> 'decline_class' or attempts.decline_class = pairs.segment_value)
        )::double as failures_d
    from pairs
    inner join attempts_in_pair_windows as attempts
        on pairs.window_start = attempts.hour_start
        and case pairs.segment_type
            when 'overall' then true
            when 'decline_class' then true
            when 'payment_method' then attempts.payment_method = pairs.segment_value
            when 'processor' then attempts.processor = pairs.segment_value
            when 'card_brand' then attempts.card_brand is not distinct from pairs.segment_value
            when 'card_country' then attempts.card_country is not distinct from pairs.segment_value
            when 'plan' then attempts.plan is not distinct from pairs.segment_value
        end
        and not case pairs.root_type
            when 'overall' then true
            when 'decline_class' then true
            when 'payment_method' then attempts.payment_method = pairs.root_value
            when 'processor' then attempts.processor = pairs.root_value
            when 'card_brand' then attempts.card_brand is not distinct from pairs.root_value
            when 'card_country' then attempts.card_country is not distinct from pairs.root_value
            when 'plan' then attempts.plan is not distinct from pairs.root_value
        end
    group by all
),

residuals_scored as (
    select
        *,
        case
            when attempts_d > 0 and failures_d / attempts_d > expected_rate_upper then attempts_d * (
                case when failures_d > 0
                    then (failures_d / attempts_d)
                        * ln((failures_d / attempts_d) / greatest(expected_rate_upper, 1e-6))
                    else 0 end
                + case when failures_d < attempts_d
                    then (1 - failures_d / attempts_d)
                        * ln((1 - failures_d / attempts_d) / (1 - least(expected_rate_upper, 1 - 1e-6)))
                    else 0 end
            ) / ln(10)
            else 0
        end as score
    from residuals
),

explained as (
    select pairs.window_start, pairs.segment_type, pairs.segment_value, pairs.root_type, pairs.root_value
    from pairs
    left join residuals_scored as residuals using (
        window_start, segment_type, segment_value, root_type, root_value
    )
    where not coalesce(
        residuals.expected_rate is not null
        and residuals.attempts_d >= 20
        and residuals.failures_d - residuals.attempts_d * residuals.expected_rate >= 5
        and residuals.failures_d / residuals.attempts_d >= residuals.expected_rate * 1.5
        and residuals.failures_d / residuals.attempts_d - residuals.expected_rate >= 0.05
        and residuals.score >= 8,
        false
    )
    qualify row_number() over (
        partition by pairs.window_start, pairs.segment_type, pairs.segment_value
        order by pairs.root_score desc, pairs.root_type, pairs.root_value
    ) = 1
)

select
    windows_scored.segment_type,
    windows_scored.segment_value,
    windows_scored.window_start,
    windows_scored.window_end,
    windows_scored.attempts,
    windows_scored.failures,
    windows_scored.failure_rate,
    windows_scored.amount_attempted as amount_attempted_reporting,
    windows_scored.amount_failed as amount_failed_reporting,
    windows_scored.seasonal_slot,
    windows_scored.level_rate,
    windows_scored.history_attempts::bigint as history_attempts,
    windows_scored.weekly_expected_rate,
    windows_scored.day_of_month_factor,
    windows_scored.expected_rate,
    windows_scored.expected_rate_upper,
    windows_scored.failure_rate / nullif(windows_scored.expected_rate, 0) as lift,
    windows_scored.excess_failures,
    coalesce(windows_scored.score, 0) as score,
    greatest(
        windows_scored.amount_failed - windows_scored.expected_rate * windows_scored.amount_attempted, 0
    )::decimal(18, 2) as revenue_affected,
    windows_scored.is_screened_out,
    windows_scored.is_anomalous,
    windows_scored.is_elevated or windows_scored.is_anomalous as is_elevated,
    count(*) filter (where not (windows_scored.is_elevated or windows_scored.is_anomalous)) over (
        partition by windows_scored.segment_type, windows_scored.segment_value
        order by windows_scored.window_start rows unbounded preceding
    ) as elevation_run,
    case
        when not windows_scored.is_anomalous then null
        when explained.root_type is not null
            then explained.root_type || ' = ' || explained.root_value
    end as explained_by
from windows_scored
left join explained
    on windows_scored.window_start = explained.window_start
    and windows_scored.segment_type = explained.segment_type
    and windows_scored.segment_value = explained.segment_value;
