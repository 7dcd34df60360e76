-- Each receivable invoice's open balance as a few constant periods [start_date, end_date): a new
-- period starts whenever money moves (ledger) or the invoice crosses an ageing-bucket boundary.
-- Balances are end-of-day. Daily history then costs O(events), not O(invoices x days).
-- Incremental on the touched invoices, as the ledger (macros/incremental_invoices.sql).
{{ config(**invoice_increment_config()) }}
with
{{ touched_invoices_cte() }}
ledger as (
    -- Refunds and chargebacks (balance_sign 0) do not change what is owed.
    select * from {{ ref('int_invoice_ledger') }}
    where balance_sign != 0
    {{ only_touched_invoices('and') }}
),

invoices as (
    select
        invoice_id,
        due_date,
        issue_date
    from {{ ref('int_invoices_resolved') }}
    where is_receivable
    {{ only_touched_invoices('and') }}
),

-- After its last money movement an invoice's balance never changes: when that balance is nil,
-- a later bucket boundary would only start a nil period (dropped below). Most invoices are
-- settled before they are due, so skipping those boundaries removes most of the rows.
settled as (
    select
        invoice_id,
        max(event_date) as last_event_date
    from ledger
    group by invoice_id
    having sum(balance_sign * amount) <= 0 and sum(balance_sign * amount_reporting) <= 0
),

moves as (
    select
        invoice_id,
        event_date as start_date,
        balance_sign * amount as delta,
        balance_sign * amount_reporting as delta_reporting
    from ledger
    union all
    -- Crossing into 1-30, 31-60, 61-90 and 91+ days past due moves no money but starts a period.
    select
        invoices.invoice_id,
        invoices.due_date + boundary.days as start_date,
        0 as delta,
        0 as delta_reporting
    from invoices
    cross join (values (1), (31), (61), (91)) as boundary (days)
    left join settled on invoices.invoice_id = settled.invoice_id
    where invoices.due_date + boundary.days > invoices.issue_date
        and (
            settled.last_event_date is null
            or invoices.due_date + boundary.days <= settled.last_event_date
        )
),

daily_moves as (
    select
        invoice_id,
        start_date,
        sum(delta) as delta,
        sum(delta_reporting) as delta_reporting
    from moves
    group by invoice_id, start_date
),

balances as (
    select
        invoice_id,
        start_date,
        sum(delta) over (partition by invoice_id order by start_date) as amount_open,
        sum(delta_reporting) over (partition by invoice_id order by start_date)
            as amount_open_reporting
    from daily_moves
),

periods as (
    select
        balances.*,
        coalesce(
            lead(balances.start_date) over (
                partition by balances.invoice_id order by balances.start_date
            ),
            date '9999-12-31'
        ) as end_date
    from balances
)

select
    periods.invoice_id,
    periods.start_date,
    periods.end_date,
    periods.amount_open,
    periods.amount_open_reporting,
    {{ days_past_due('invoices.due_date', 'periods.start_date') }} as days_past_due_at_start,
    {{ ageing_bucket(days_past_due('invoices.due_date', 'periods.start_date')) }} as ageing_bucket
from periods
inner join invoices on periods.invoice_id = invoices.invoice_id
where periods.amount_open > 0
