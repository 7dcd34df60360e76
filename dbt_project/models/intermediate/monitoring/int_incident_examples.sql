-- What on-call needs to act on an incident, beyond its counts: a few of the attempts behind it,
-- their customers (masked), and where they concentrate — decline codes, card BINs and issuing
-- countries. One row per incident with attempts behind it (failure rates: the failed attempts
-- of the incident's own windows and segment; card testing: the failed tries of the burst;
-- disputes: the disputed payments); network-ratio incidents are monthly counts and have none.
-- Feeds marts.incidents (the alert messages).
{{ config(materialized='table', schema='intermediate') }}
{%- set examples = var('incident_example_count') %}

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
        on
            windows.window_start <= attempts.attempted_at
            and (
                windows.window_end > attempts.attempted_at
                or windows.detector = 'card_testing' and windows.window_end = attempts.attempted_at
            )
            and case windows.segment_type
                when 'overall' then true
                when 'processor' then windows.segment_value = attempts.processor
                when 'payment_method' then windows.segment_value = attempts.payment_method
                when 'card_brand' then windows.segment_value = attempts.card_brand
                when 'card_country' then windows.segment_value = attempts.card_country
                when 'plan' then windows.segment_value = attempts.plan
                when 'decline_class' then windows.segment_value = attempts.decline_class
                when 'customer' then windows.segment_value = attempts.customer_id
                when 'device' then windows.segment_value = attempts.device_id
                when 'card_bin' then windows.segment_value = attempts.card_bin
                else false
            end
    where
        windows.detector in ('failure_rate', 'card_testing')
        and not attempts.is_success
        and (
            windows.detector = 'card_testing'
            or attempts.attempt_trigger is distinct from 'card_verification'
        )
),

disputed as (
    select distinct
        windows.incident_id,
        disputes.attempt_id
    from windows
    inner join {{ ref('int_monitoring_disputes') }} as disputes
        on windows.window_start <= disputes.day_start and windows.window_end > disputes.day_start
    where windows.detector = 'dispute_spike'
),

behind as (
    select
        incident.incident_id,
        attempts.*
    from (
        select * from failed_in_segment
        union all
        select * from disputed
    ) as incident
    inner join attempts on incident.attempt_id = attempts.attempt_id
),

counted as (
    select
        incident_id,
        'decline_code' as attribute,
        decline_code as value,
        count(*) as n
    from behind
    where decline_code is not null
    group by all
    union all
    select
        incident_id,
        'card_bin' as attribute,
        card_bin as value,
        count(*) as n
    from behind
    where card_bin is not null
    group by all
    union all
    select
        incident_id,
        'card_country' as attribute,
        card_country as value,
        count(*) as n
    from behind
    where card_country is not null
    group by all
),

-- The `examples` most frequent values of each, as "value (count)", most first.
top_values as (
    select
        incident_id,
        {%- for attribute, column in [
            ('decline_code', 'top_decline_codes'),
            ('card_bin', 'top_card_bins'),
            ('card_country', 'top_card_countries'),
        ] %}
        {{ first_values_joined(
            "value || ' (' || n || ')'", [['n', 'desc'], ['value', 'asc']], examples,
            where="attribute = '" ~ attribute ~ "'",
        ) }} as {{ column }}{{ "," if not loop.last }}  -- noqa: LT02
        {%- endfor %}
    from counted
    group by incident_id
),

firsts as (
    select
        incident_id,
        {{ first_values_joined('attempt_id', [['attempted_at', 'asc'], ['attempt_id', 'asc']], examples) }}
            as example_attempt_ids,
        -- customer ids stay in the warehouse; a message shows their last characters, enough to
        -- tell them apart and look them up there
        {{ first_values_joined('masked', [['masked', 'asc']], examples, distinct=true) }} as example_customers
    from (
        select
            *,
            '…' || right(customer_id, 4) as masked
        from behind
    ) as with_masked
    group by incident_id
)

select
    firsts.incident_id,
    firsts.example_attempt_ids,
    firsts.example_customers,
    top_values.top_decline_codes,
    top_values.top_card_bins,
    top_values.top_card_countries
from firsts
left join top_values on firsts.incident_id = top_values.incident_id
