-- Card-network dispute-monitoring ratios per month, each against every level of its program
-- (seed network_thresholds), with the current month projected to its end (DOMAIN.md):
--   Visa VAMP: (fraud reports + disputes) on visa ÷ settled visa card-not-present transactions
--   of the same month; Mastercard ECP: chargebacks on mastercard ÷ LAST month's mastercard
--   transactions. Settled transactions = successful card payments (verifications excluded).
with attempts as (
    select
        date_trunc('month', attempted_at) as month_start,
        card_brand
    from {{ ref('fct_payment_attempts') }}
    where is_success
        and payment_method = 'card'
        and attempt_trigger is distinct from 'card_verification'
        and card_brand in ('visa', 'mastercard')
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

transactions as (
    select
        month_start,
        card_brand,
        count(*) as transactions
    from attempts
    group by all
),

cases as (
    select
        month_start,
        card_brand,
        count(*) as disputes,
        count(*) filter (where kind = 'chargeback') as chargebacks
    from {{ ref('int_monitoring_disputes') }}
    where card_brand in ('visa', 'mastercard')
    group by all
),

months as (
    select {{ series(
        '(select min(month_start) from transactions)',
        "(select date_trunc('month', as_of_at) from as_of)",
        'interval 1 month',
    ) }} as month_start
),

programs as (
    select
        months.month_start,
        'visa_vamp' as program,
        coalesce(cases.disputes, 0) as cases,
        coalesce(transactions.transactions, 0) as transactions,
        true as denominator_grows
    from months
    left join cases on months.month_start = cases.month_start and cases.card_brand = 'visa'
    left join transactions
        on months.month_start = transactions.month_start and transactions.card_brand = 'visa'
    union all
    select
        months.month_start,
        'mastercard_ecp' as program,
        coalesce(cases.chargebacks, 0) as cases,
        coalesce(last_month.transactions, 0) as transactions,
        false as denominator_grows  -- last month's count is final
    from months
    left join cases on months.month_start = cases.month_start and cases.card_brand = 'mastercard'
    left join transactions as last_month
        on months.month_start - interval 1 month = last_month.month_start
            and last_month.card_brand = 'mastercard'
),

projected as (
    select
        programs.*,
        programs.month_start + interval 1 month as month_end,
        as_of.as_of_at,
        as_of.as_of_at >= programs.month_start + interval 1 month as is_complete_month,
        -- Share of the month the data covers, to project the current month to its end.
        least(
            {{ date_diff('second', "programs.month_start", "as_of.as_of_at") }}
            / {{ date_diff('second', "programs.month_start", "programs.month_start + interval 1 month") }},
            1
        ) as month_elapsed
    from programs
    cross join as_of
),

final as (
    select
        projected.program,
        thresholds.network,
        projected.month_start,
        projected.month_end,
        projected.is_complete_month,
        thresholds.level,
        thresholds.level_rank,
        thresholds.ratio_threshold,
        thresholds.min_cases,
        projected.cases,
        projected.transactions,
        projected.cases / nullif(projected.transactions, 0) as ratio,
        coalesce(
            projected.cases >= thresholds.min_cases
            and projected.cases / nullif(projected.transactions, 0) >= thresholds.ratio_threshold,
            false
        ) as is_reached,
        round(projected.cases / nullif(projected.month_elapsed, 0)) as projected_cases,
        (projected.cases / nullif(projected.month_elapsed, 0))
        / nullif(
            case when projected.denominator_grows
                    then projected.transactions / nullif(projected.month_elapsed, 0)
                else projected.transactions
            end,
            0
        ) as projected_ratio
    from projected
    inner join {{ ref('network_thresholds') }} as thresholds
        on projected.program = thresholds.program
            and projected.month_start >= thresholds.effective_from
            and projected.month_start < thresholds.effective_to
)

select
    *,
    coalesce(projected_cases >= min_cases and projected_ratio >= ratio_threshold, false)
        as is_projected_reached,
    ratio_threshold - projected_ratio as headroom
from final
