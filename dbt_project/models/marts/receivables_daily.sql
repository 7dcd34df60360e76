-- Open receivables per day and segment (plan, country, payment method, currency), rebuilt from
-- event timestamps: end-of-day balances by ageing bucket, delinquency rates by amount and by
-- subscription count, and revenue at risk. Built from balance periods and cumulative sums of
-- their start/end deltas, so its cost grows with events and segments, not invoices x days.
-- Rates are per row: to aggregate segments, sum numerators and denominators, never average rates.
-- Money columns are sums of the ledger's cents (rounded once, per movement): never rounded here,
-- so any sum of rows equals the same sum over fct_invoices to the cent.
with as_of as (
    select * from {{ ref('int_as_of') }}
),

segments as (
    select * from {{ ref('int_subscription_segments') }}
),

invoice_periods as (
    select
        periods.*,
        invoice_segments.plan,
        invoice_segments.country,
        invoice_segments.payment_method,
        invoice_segments.currency,
        invoices.subscription_id
    from {{ ref('int_invoice_balance_periods') }} as periods
    inner join {{ ref('int_invoices_resolved') }} as invoices
        on periods.invoice_id = invoices.invoice_id
    inner join {{ ref('int_invoice_segments') }} as invoice_segments
        on periods.invoice_id = invoice_segments.invoice_id
),

invoice_deltas as (
    select
        plan,
        country,
        payment_method,
        currency,
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
        boundary.sign * amount_open * (ageing_bucket != 'current')::int as past_due_amount
    from invoice_periods
    cross join {{ lateral_values(
        [['invoice_periods.start_date', '1'], ['invoice_periods.end_date', '-1']], ['date_day', 'sign']
    ) }} as boundary (date_day, sign)
),

subscriptions as (
    select
        subscriptions.subscription_id,
        -- Active = started, out of any trial, not cancelled (docs/metrics.md); a subscription
        -- still in trial has no active_from_at and is not counted.
        subscriptions.active_from_at::date as active_from,
        coalesce(subscriptions.canceled_at::date, date '9999-12-31') as active_to,
        subscriptions.mrr_reporting,
        coalesce(segments.plan, 'unknown') as plan,
        coalesce(segments.country, 'unknown') as country,
        coalesce(segments.payment_method, 'unknown') as payment_method,
        subscriptions.currency
    from {{ ref('dim_subscriptions') }} as subscriptions
    left join segments on subscriptions.subscription_id = segments.subscription_id
    where subscriptions.active_from_at::date
        < coalesce(subscriptions.canceled_at::date, date '9999-12-31')
),

past_due_periods as (
    select
        subscription_id,
        start_date,
        end_date
    from invoice_periods
    where ageing_bucket != 'current'
),

past_due_islands as (
    -- Merge overlapping past-due periods of a subscription's invoices (gaps and islands).
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
                when start_date <= max(end_date)
                        over (
                            partition by subscription_id order by start_date, end_date
                            rows between unbounded preceding and 1 preceding
                        )
                    then 0
                else 1
            end as is_new_island
        from past_due_periods
    ) as flagged
),

merged_islands as (
    select
        subscription_id,
        min(start_date) as start_date,
        max(end_date) as end_date
    from past_due_islands
    group by subscription_id, island
),

delinquent_spells as (
    -- Only active subscriptions count: a subscription cancelled for non-payment leaves the ratio.
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
    -- Each branch sets its own columns and leaves the others null, which sums skip (a
    -- positional union: Spark has no `union all by name`).
    select
        subscriptions.plan,
        subscriptions.country,
        subscriptions.payment_method,
        subscriptions.currency,
        boundary.date_day,
        boundary.sign as active_subscriptions,
        null as delinquent_subscriptions,
        null as revenue_at_risk_reporting
    from subscriptions
    cross join {{ lateral_values(
        [['subscriptions.active_from', '1'], ['subscriptions.active_to', '-1']], ['date_day', 'sign']
    ) }} as boundary (date_day, sign)
    union all
    select
        delinquent_spells.plan,
        delinquent_spells.country,
        delinquent_spells.payment_method,
        delinquent_spells.currency,
        boundary.date_day,
        null as active_subscriptions,
        boundary.sign as delinquent_subscriptions,
        boundary.sign * delinquent_spells.mrr_reporting as revenue_at_risk_reporting
    from delinquent_spells
    cross join {{ lateral_values(
        [['delinquent_spells.spell_from', '1'], ['delinquent_spells.spell_to', '-1']], ['date_day', 'sign']
    ) }} as boundary (date_day, sign)
),

daily_deltas as (
    select
        plan,
        country,
        payment_method,
        currency,
        date_day,
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
        select
            plan,
            country,
            payment_method,
            currency,
            date_day,
            open_invoices,
            open_amount,
            open_amount_reporting,
            current_reporting,
            past_due_1_30_reporting,
            past_due_31_60_reporting,
            past_due_61_90_reporting,
            past_due_91_plus_reporting,
            past_due_invoices,
            past_due_amount,
            null as active_subscriptions,
            null as delinquent_subscriptions,
            null as revenue_at_risk_reporting
        from invoice_deltas
        union all
        select
            plan,
            country,
            payment_method,
            currency,
            date_day,
            null as open_invoices,
            null as open_amount,
            null as open_amount_reporting,
            null as current_reporting,
            null as past_due_1_30_reporting,
            null as past_due_31_60_reporting,
            null as past_due_61_90_reporting,
            null as past_due_91_plus_reporting,
            null as past_due_invoices,
            null as past_due_amount,
            active_subscriptions,
            delinquent_subscriptions,
            revenue_at_risk_reporting
        from subscription_deltas
    ) as all_deltas
    where date_day <= (select as_of_date from as_of)
    group by all
),

spine as (
    select {{ series(
        '(select min(date_day) from daily_deltas)',
        '(select as_of_date from as_of)',
        'interval 1 day',
        cast='date',
    ) }} as date_day
),

segment_days as (
    select
        spine.date_day,
        segment_list.*
    from spine
    cross join (
        select distinct
            plan,
            country,
            payment_method,
            currency
        from daily_deltas
    ) as segment_list
),

running as (
    select
        segment_days.date_day,
        segment_days.plan,
        segment_days.country,
        segment_days.payment_method,
        segment_days.currency,
        {%- for column in ['open_invoices', 'open_amount', 'open_amount_reporting', 'current_reporting',
            'past_due_1_30_reporting', 'past_due_31_60_reporting', 'past_due_61_90_reporting',
            'past_due_91_plus_reporting', 'past_due_invoices', 'past_due_amount',
            'active_subscriptions', 'delinquent_subscriptions', 'revenue_at_risk_reporting'] %}
            sum(coalesce(daily_deltas.{{ column }}, 0)) over segment_history as {{ column }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from segment_days
    left join daily_deltas
        on segment_days.date_day = daily_deltas.date_day
            and segment_days.plan = daily_deltas.plan
            and segment_days.country = daily_deltas.country
            and segment_days.payment_method = daily_deltas.payment_method
            and segment_days.currency = daily_deltas.currency
    window segment_history as (
        partition by
            segment_days.plan, segment_days.country, segment_days.payment_method,
            segment_days.currency
        order by segment_days.date_day
        rows unbounded preceding
    )
)

select
    date_day,
    plan,
    country,
    payment_method,
    currency,
    '{{ var("reporting_currency") }}' as reporting_currency,
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
where open_invoices != 0 or active_subscriptions != 0
