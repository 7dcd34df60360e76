-- Month-by-month collection performance in the reporting currency (DOMAIN.md): billed, collected,
-- written off, opening/closing receivables, DSO, CEI, roll rates between ageing buckets,
-- first-payment default, involuntary churn (by subscriptions and by MRR) and write-off rate.
-- Balances are month-end snapshots of the balance periods; flows come from the ledger; the two
-- reconcile (opening + billed - collected - written off = closing), which
-- assert_receivables_identity checks.
-- Partial months: the month holding the as-of date ends on the as-of date, and the first month
-- starts on the first day of data (coverage_start); is_complete_month is false for both, and
-- days_in_period (the DSO period) counts only the days covered.
-- Money columns are sums of the ledger's cents (rounded once, per movement), never rounded here:
-- they add up to fct_invoices exactly and the identity holds to the cent.
with as_of as (
    select * from {{ ref('int_as_of') }}
),

ledger as (
    select * from {{ ref('int_invoice_ledger') }}
),

months as (
    select
        month_start,
        greatest(month_start, coverage_start_date) as coverage_start,
        least(last_day(month_start), coverage_end_date) as month_end,
        {{ is_complete_month('month_start') }} as is_complete_month
    from ({{ coverage_months() }}) as coverage
),

snapshots as (
    -- Every open invoice at every month end, with its bucket then, and its open balance revalued
    -- at the month end's rate (closing rate), rounded once per invoice.
    select
        months.month_start,
        periods.invoice_id,
        periods.amount_open_reporting,
        {{ to_reporting('periods.amount_open', 'closing_fx.rate_to_reporting') }}
            as amount_open_reporting_at_closing_rate,
        periods.ageing_bucket
    from months
    inner join {{ ref('int_invoice_balance_periods') }} as periods
        on months.month_end >= periods.start_date
            and months.month_end < periods.end_date
    left join {{ ref('int_invoices_resolved') }} as invoices
        on periods.invoice_id = invoices.invoice_id
    left join {{ ref('int_fx_rates') }} as closing_fx
        on invoices.currency = closing_fx.currency
            and months.month_end >= closing_fx.valid_from
            and months.month_end < closing_fx.valid_to
),

balances as (
    select
        month_start,
        sum(amount_open_reporting) as closing,
        sum(amount_open_reporting) filter (where ageing_bucket = 'current') as closing_current,
        sum(amount_open_reporting_at_closing_rate) as closing_at_closing_rate
    from snapshots
    group by month_start
),

flows as (
    select
        date_trunc('month', event_date)::date as month_start,
        sum(amount_reporting) filter (where event_type = 'billed') as billed,
        sum(amount_reporting) filter (where event_type = 'collected') as collected,
        sum(amount_reporting) filter (where event_type = 'written_off') as written_off,
        sum(amount_reporting) filter (where event_type in ('refunded', 'charged_back')) as returned
    from ledger
    group by 1
),

billing_cohorts as (
    -- Write-off rate by billing month: what was eventually written off of each month's invoices.
    select
        date_trunc('month', invoices.issue_date)::date as month_start,
        sum(ledger.amount_reporting) filter (where ledger.event_type = 'written_off')
            as cohort_written_off
    from ledger
    inner join {{ ref('int_invoices_resolved') }} as invoices on ledger.invoice_id = invoices.invoice_id
    group by 1
),

roll_pairs as (
    -- Each invoice open at the previous month end, followed to this month end (1:1 join).
    select
        (previous_month.month_start + interval 1 month)::date as month_start,
        previous_month.ageing_bucket as from_bucket,
        sum(previous_month.amount_open_reporting) as from_amount,
        coalesce(sum(current_month.amount_open_reporting) filter (
            where current_month.ageing_bucket = case previous_month.ageing_bucket
                when 'current' then '1-30'
                when '1-30' then '31-60'
                when '31-60' then '61-90'
                when '61-90' then '91+'
            end
        ), 0) as rolled_amount
    from snapshots as previous_month
    left join snapshots as current_month
        on previous_month.invoice_id = current_month.invoice_id
            and current_month.month_start = previous_month.month_start + interval 1 month
    where previous_month.ageing_bucket != '91+'
    group by 1, 2
),

roll_rates as (
    select
        month_start,
        {%- for bucket, name in [('current', 'current_to_1_30'), ('1-30', '1_30_to_31_60'),
            ('31-60', '31_60_to_61_90'), ('61-90', '61_90_to_91_plus')] %}
            sum(rolled_amount) filter (where from_bucket = '{{ bucket }}')
            / nullif(sum(from_amount) filter (where from_bucket = '{{ bucket }}'), 0)
                as roll_rate_{{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from roll_pairs
    group by month_start
),

subscriptions as (
    select * from {{ ref('dim_subscriptions') }}
),

churn as (
    select
        months.month_start,
        -- Active at the month start: out of any trial by then and not cancelled before it. The
        -- numerator counts only those (a subscription started in the month is in neither).
        count(*) filter (
            where subscriptions.active_from_at < months.month_start
            and (subscriptions.canceled_at is null or subscriptions.canceled_at >= months.month_start)
        ) as active_at_month_start,
        count(*) filter (
            where subscriptions.active_from_at < months.month_start
            and subscriptions.cancel_reason = 'non_payment'
            and subscriptions.canceled_at >= months.month_start
            and subscriptions.canceled_at < months.month_start + interval 1 month
        ) as involuntary_cancellations,
        count(*) filter (
            where subscriptions.started_at >= months.month_start
            and subscriptions.started_at < months.month_start + interval 1 month
        ) as new_subscriptions,
        -- The same two populations in MRR terms (each subscription's MRR, dim_subscriptions).
        sum(subscriptions.mrr_reporting) filter (
            where subscriptions.active_from_at < months.month_start
            and (subscriptions.canceled_at is null or subscriptions.canceled_at >= months.month_start)
        ) as mrr_at_month_start,
        sum(subscriptions.mrr_reporting) filter (
            where subscriptions.active_from_at < months.month_start
            and subscriptions.cancel_reason = 'non_payment'
            and subscriptions.canceled_at >= months.month_start
            and subscriptions.canceled_at < months.month_start + interval 1 month
        ) as involuntary_churned_mrr
    from months
    cross join subscriptions
    group by months.month_start
),

first_payment as (
    -- A first invoice "defaults" when it is still open at the end of its 30th day past due.
    select
        date_trunc('month', subscriptions.started_at)::date as month_start,
        count(*) filter (where invoices.due_date + 30 <= as_of.as_of_date) as first_invoices_matured,
        count(*) filter (
            where invoices.due_date + 30 <= as_of.as_of_date
            and exists (
                select 1 from {{ ref('int_invoice_balance_periods') }} as periods
                where periods.invoice_id = invoices.invoice_id
                    and invoices.due_date + 30 >= periods.start_date
                    and invoices.due_date + 30 < periods.end_date
            )
        ) as first_payment_defaults
    from subscriptions
    cross join as_of
    inner join {{ ref('int_invoices_resolved') }} as invoices
        on subscriptions.first_invoice_id = invoices.invoice_id
    group by 1
),

assembled as (
    select
        months.month_start,
        months.month_end,
        months.coverage_start,
        months.is_complete_month,
        {{ date_diff('day', "months.coverage_start", "months.month_end") }} + 1 as days_in_period,
        coalesce(lag(balances.closing) over (order by months.month_start), 0) as opening,
        coalesce(flows.billed, 0) as billed,
        coalesce(flows.collected, 0) as collected,
        coalesce(flows.written_off, 0) as written_off,
        coalesce(flows.returned, 0) as returned,
        coalesce(balances.closing, 0) as closing,
        coalesce(balances.closing_current, 0) as closing_current,
        coalesce(balances.closing_at_closing_rate, 0) as closing_at_closing_rate,
        coalesce(billing_cohorts.cohort_written_off, 0) as cohort_written_off,
        {{ star_except(['month_start'], 'roll_rates') }},
        -- No subscriptions loaded: the cross join has no rows, and 0 (not null) is the truth.
        coalesce(churn.active_at_month_start, 0) as active_at_month_start,
        coalesce(churn.involuntary_cancellations, 0) as involuntary_cancellations,
        coalesce(churn.new_subscriptions, 0) as new_subscriptions,
        coalesce(churn.mrr_at_month_start, 0) as mrr_at_month_start,
        coalesce(churn.involuntary_churned_mrr, 0) as involuntary_churned_mrr,
        coalesce(first_payment.first_invoices_matured, 0) as first_invoices_matured,
        coalesce(first_payment.first_payment_defaults, 0) as first_payment_defaults
    from months
    left join balances on months.month_start = balances.month_start
    left join flows on months.month_start = flows.month_start
    left join billing_cohorts on months.month_start = billing_cohorts.month_start
    left join roll_rates on months.month_start = roll_rates.month_start
    left join churn on months.month_start = churn.month_start
    left join first_payment on months.month_start = first_payment.month_start
)

select
    month_start,
    month_end,
    coverage_start,
    is_complete_month,
    days_in_period::integer as days_in_period,
    '{{ var("reporting_currency") }}' as reporting_currency,
    opening::decimal(18, 2) as opening_receivables_reporting,
    billed::decimal(18, 2) as billed_reporting,
    collected::decimal(18, 2) as collected_reporting,
    returned::decimal(18, 2) as returned_reporting,
    (collected - returned)::decimal(18, 2) as net_collected_reporting,
    written_off::decimal(18, 2) as written_off_reporting,
    closing::decimal(18, 2) as closing_receivables_reporting,
    closing_current::decimal(18, 2) as closing_current_reporting,
    closing_at_closing_rate::decimal(18, 2) as closing_receivables_reporting_at_closing_rate,
    (closing_at_closing_rate - closing)::decimal(18, 2) as fx_revaluation_reporting,
    round(closing / nullif(billed, 0) * days_in_period, 2)::decimal(10, 2) as dso_days,
    round(
        (opening + billed - closing) / nullif(opening + billed - closing_current, 0) * 100, 4
    )::decimal(10, 4) as cei_pct,
    {%- for name in ['current_to_1_30', '1_30_to_31_60', '31_60_to_61_90', '61_90_to_91_plus'] %}
        round(case when is_complete_month then roll_rate_{{ name }} end, 6)::decimal(9, 6)
            as roll_rate_{{ name }},
    {%- endfor %}
    new_subscriptions::integer as new_subscriptions,
    first_invoices_matured::integer as first_invoices_matured,
    first_payment_defaults::integer as first_payment_defaults,
    round(first_payment_defaults / nullif(first_invoices_matured, 0), 6)::decimal(9, 6)
        as first_payment_default_rate,
    active_at_month_start::integer as active_subscriptions_at_month_start,
    involuntary_cancellations::integer as involuntary_cancellations,
    round(involuntary_cancellations / nullif(active_at_month_start, 0), 6)::decimal(9, 6)
        as involuntary_churn_rate,
    mrr_at_month_start::decimal(18, 2) as mrr_at_month_start_reporting,
    involuntary_churned_mrr::decimal(18, 2) as involuntary_churned_mrr_reporting,
    round(involuntary_churned_mrr / nullif(mrr_at_month_start, 0), 6)::decimal(9, 6)
        as involuntary_mrr_churn_rate,
    cohort_written_off::decimal(18, 2) as cohort_written_off_reporting,
    round(cohort_written_off / nullif(billed, 0), 6)::decimal(9, 6) as write_off_rate
from assembled
