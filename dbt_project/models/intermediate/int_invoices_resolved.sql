-- Invoices with the facts every mart agrees on: is it a receivable, when was it fully paid, when
-- written off (the invoice's own time, else the write-off escalation, else the time it was
-- marked uncollectible), how much was collected in total, and its issue-date FX rate.
--
-- Incremental (macros/incremental_invoices.sql): each run rebuilds the touched invoices, and only
-- their versions are de-duplicated (filtering the staging view would de-duplicate every invoice
-- version ever loaded first).
{{ config(**invoice_increment_config()) }}
with
{{ touched_invoices_cte() }}
invoices as (
    {%- if is_incremental() %}
        {{ stage_invoices(latest_versions(source('raw', 'invoices'), 'invoice_id',
            only_keys='select invoice_id from touched')) }}
    {%- else %}
        select * from {{ ref('stg_billing__invoices') }}
    {%- endif %}
),

write_off_escalations as (
    select
        invoice_id,
        min(escalated_at) as escalated_at
    from {{ ref('stg_billing__escalations') }}
    where stage = 'write_off'
    {{ only_touched_invoices('and') }}
    group by invoice_id
),

resolved as (
    select
        invoices.*,
        -- A 0.00 invoice (trial, 100 %-off coupon) is an invoice but never money owed: it is
        -- kept in fct_invoices and stays out of every balance, ageing and recovery figure.
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
    from invoices
    left join write_off_escalations on invoices.invoice_id = write_off_escalations.invoice_id
)

select
    {{ star_except(['written_off_at', 'resolved_written_off_at'], 'resolved') }},
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
left join {{ ref('int_fx_rates') }} as fx
    on resolved.currency = fx.currency
        and resolved.issued_at::date >= fx.valid_from
        and resolved.issued_at::date < fx.valid_to
