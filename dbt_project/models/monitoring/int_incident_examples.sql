-- What on-call needs to act on an incident, beyond its counts: a few of the attempts behind it,
-- their customers (masked), and where they concentrate — decline codes, card BINs and issuing
-- countries. One row per incident with attempts behind it (failure rates: the failed attempts
-- of the incident's own windows and segment; card testing: the failed tries of the burst;
-- disputes: the disputed payments); network-ratio incidents are monthly counts and have none.
-- Feeds marts.incidents (the alert messages).
{{ config(materialized='table', schema='intermediate') }}
{%- set examples = var('incident_example_count', 3) %}

with windows as (
    select distinct
        incident_id,
        detector,
        segment_type,
        segment_value,
        window_start,
        window_end
    from {{ ref('anomalies') }}
    where is_root and detector in ('failure_rate', 'card_testing', 'dispute_spike')
),

attempts as (
    select
        attempts.*,
        subscriptions.plan
    from {{ ref('fct_payment_attempts') }} as attempts
    left join {{ ref('stg_billing__invoices') }} as invoices
        on attempts.invoice_id = invoices.invoice_id
    left join {{ ref('stg_billing__subscriptions') }} as subscriptions
        on invoices.subscription_id = subscriptions.subscription_id
),

-- The segment columns are those of int_failure_cube; card-testing bursts include their last try.
failed_in_segment as (
    select distinct
        windows.incident_id,
        attempts.attempt_id
    from windows
    inner join attempts
        on not attempts.is_success
            and attempts.attempted_at >= windows.window_start
            and (
                attempts.attempted_at < windows.window_end
                or windows.detector = 'card_testing' and attempts.attempted_at = windows.window_end
            )
            and case windows.segment_type
                when 'overall' then true
                when 'processor' then attempts.processor = windows.segment_value
                when 'payment_method' then attempts.payment_method = windows.segment_value
                when 'card_brand' then attempts.card_brand = windows.segment_value
                when 'card_country' then attempts.card_country = windows.segment_value
                when 'plan' then attempts.plan = windows.segment_value
                when 'decline_class' then attempts.decline_class = windows.segment_value
                when 'customer' then attempts.customer_id = windows.segment_value
                when 'device' then attempts.device_id = windows.segment_value
                when 'card_bin' then attempts.card_bin = windows.segment_value
                else false
            end
            and (
                windows.detector = 'card_testing'
                or attempts.attempt_trigger is distinct from 'card_verification'
            )
    where windows.detector in ('failure_rate', 'card_testing')
),

disputed as (
    select distinct
        windows.incident_id,
        disputes.attempt_id
    from windows
    inner join {{ ref('int_monitoring_disputes') }} as disputes
        on disputes.day_start >= windows.window_start and disputes.day_start < windows.window_end
    where windows.detector = 'dispute_spike'
),

behind as (
    select
        incident.incident_id,
        attempts.*
    from (select * from failed_in_segment union all select * from disputed) as incident
    inner join attempts on incident.attempt_id = attempts.attempt_id
),

-- The `examples` most frequent values of a column, as "value (count)".
{%- for column in ['decline_code', 'card_bin', 'card_country'] %}

top_{{ column }} as (
    select
        incident_id,
        array_to_string(
            list(value || ' (' || n || ')' order by n desc, value)[1:{{ examples }}], ', '
        ) as top_values
    from (
        select
            incident_id,
            {{ column }} as value,
            count(*) as n
        from behind
        where {{ column }} is not null
        group by all
    ) as counted
    group by incident_id
),
{%- endfor %}

firsts as (
    select
        incident_id,
        array_to_string(list(attempt_id order by attempted_at, attempt_id)[1:{{ examples }}], ', ')
            as example_attempt_ids,
        -- customer ids stay in the warehouse; a message shows their last characters, enough to
        -- tell them apart and look them up there
        array_to_string(
            list(distinct '…' || right(customer_id, 4) order by '…' || right(customer_id, 4))[1:{{ examples }}],
            ', '
        ) as example_customers
    from behind
    group by incident_id
)

select
    firsts.incident_id,
    firsts.example_attempt_ids,
    firsts.example_customers,
    top_decline_code.top_values as top_decline_codes,
    top_card_bin.top_values as top_card_bins,
    top_card_country.top_values as top_card_countries
from firsts
left join top_decline_code on firsts.incident_id = top_decline_code.incident_id
left join top_card_bin on firsts.incident_id = top_card_bin.incident_id
left join top_card_country on firsts.incident_id = top_card_country.incident_id
