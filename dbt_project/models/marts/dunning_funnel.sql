-- Dunning funnel per send month, channel and template: sent -> opened -> clicked -> invoice paid
-- within N days (var dunning_attribution_days, 7) of sending. The paid step is measured only on
-- messages whose N-day window has fully elapsed by the as-of date, and only for messages tied
-- to an invoice that was still unpaid when sent.
with messages as (
    select * from {{ ref('stg_billing__dunning_messages') }}
),

as_of as (
    select * from {{ ref('int_as_of') }}
),

outcomes as (
    select
        date_trunc('month', messages.sent_at)::date as sent_month,
        messages.channel,
        messages.template,
        messages.opened_at is not null as is_opened,
        messages.clicked_at is not null as is_clicked,
        messages.invoice_id is not null
        and (invoices.fully_paid_at is null or invoices.fully_paid_at > messages.sent_at)
        and messages.sent_at + {{ days_interval(var('dunning_attribution_days')) }} <= as_of.as_of_at
            as is_measured,
        coalesce(
            invoices.fully_paid_at > messages.sent_at
            and invoices.fully_paid_at
            <= messages.sent_at + {{ days_interval(var('dunning_attribution_days')) }},
            false
        ) as is_paid_in_window
    from messages
    cross join as_of
    left join {{ ref('int_invoices_resolved') }} as invoices
        on messages.invoice_id = invoices.invoice_id
)

select
    outcomes.sent_month,
    outcomes.channel,
    outcomes.template,
    coalesce({{ is_complete_month('outcomes.sent_month') }}, false) as is_complete_month,
    count(*)::integer as messages_sent,
    count(*) filter (where is_opened)::integer as messages_opened,
    count(*) filter (where is_clicked)::integer as messages_clicked,
    count(*) filter (where is_measured)::integer as messages_measured,
    count(*) filter (where is_measured and is_paid_in_window)::integer as invoices_paid_in_window,
    round(count(*) filter (where is_opened) / count(*), 6)::decimal(9, 6) as open_rate,
    round(count(*) filter (where is_clicked) / count(*), 6)::decimal(9, 6) as click_rate,
    round(
        count(*) filter (where is_measured and is_paid_in_window)
        / nullif(count(*) filter (where is_measured), 0),
        6
    )::decimal(9, 6) as paid_in_window_rate
from outcomes
cross join {{ ref('int_data_coverage') }} as coverage
group by all
