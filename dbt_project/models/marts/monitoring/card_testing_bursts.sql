-- Bursts of small card checks from one customer, device or BIN: one row per burst of two or more
-- distinct cards, flagged as card testing when many cards are tried and most fail. Method and
-- parameters: card_testing_bursts.yml.
{%- set small_amount = var('card_testing_small_amount') %}
{%- set gap_minutes = var('card_testing_gap_minutes') %}
{%- set min_cards = var('card_testing_min_cards') %}
{%- set min_failure_share = var('card_testing_min_failure_share') %}

with candidate_attempts as (
    -- What a card tester sends: verifications and small charges, each on a card token.
    select
        attempt_id,
        attempted_at,
        customer_id,
        device_id,
        card_bin,
        card_fingerprint,
        is_success,
        amount_reporting
    from {{ ref('fct_payment_attempts') }}
    where card_fingerprint is not null
        and (attempt_trigger = 'card_verification' or amount_reporting <= {{ small_amount }})
),

by_entity as (
    select
        'customer' as entity_type,
        customer_id as entity_value,
        *
    from candidate_attempts
    union all
    select
        'device' as entity_type,
        device_id as entity_value,
        *
    from candidate_attempts
    where device_id is not null
    union all
    select
        'card_bin' as entity_type,
        card_bin as entity_value,
        *
    from candidate_attempts
    where card_bin is not null
),

gaps as (
    select
        *,
        coalesce(
            attempted_at - lag(attempted_at) over by_time > interval {{ gap_minutes }} minutes, true
        ) as starts_burst
    from by_entity
    window by_time as (partition by entity_type, entity_value order by attempted_at, attempt_id)
),

sessions as (
    select
        *,
        sum(starts_burst::int) over (
            partition by entity_type, entity_value order by attempted_at, attempt_id
            rows unbounded preceding
        ) as burst_number
    from gaps
),

-- Per card first, so the burst totals need no DISTINCT over millions of rows.
cards as (
    select
        entity_type,
        entity_value,
        burst_number,
        card_fingerprint,
        count(*) as attempts,
        count(*) filter (where not is_success) as failures,
        bool_or(is_success) as is_validated,
        min(attempted_at) as first_tried_at,
        max(attempted_at) as last_tried_at,
        sum(amount_reporting) as amount_attempted
    from sessions
    group by all
),

bursts as (
    select
        entity_type,
        entity_value,
        burst_number,
        min(first_tried_at) as started_at,
        max(last_tried_at) as ended_at,
        sum(attempts) as attempts,
        sum(failures) as failures,
        count(*) as distinct_cards,
        count(*) filter (where is_validated) as cards_validated,
        sum(amount_attempted) as amount_attempted,
        -- When the burst became visible: the first try of its N-th distinct card.
        {{ nth_smallest('first_tried_at', min_cards) }} as detected_at
    from cards
    group by all
    having count(*) >= 2
),

customers_per_burst as (
    select
        sessions.entity_type,
        sessions.entity_value,
        sessions.burst_number,
        count(distinct sessions.customer_id) as distinct_customers
    from sessions
    inner join bursts
        on sessions.entity_type = bursts.entity_type
            and sessions.entity_value = bursts.entity_value
            and sessions.burst_number = bursts.burst_number
    group by all
)

select
    md5(concat_ws('|', 'card_testing', bursts.entity_type, bursts.entity_value, bursts.started_at))
        as burst_id,
    bursts.entity_type,
    bursts.entity_value,
    bursts.started_at,
    bursts.ended_at,
    bursts.attempts,
    bursts.failures,
    bursts.failures / bursts.attempts as failure_rate,
    bursts.distinct_cards,
    bursts.cards_validated,
    customers_per_burst.distinct_customers,
    bursts.amount_attempted::decimal(18, 2) as amount_attempted_reporting,
    bursts.detected_at,
    bursts.distinct_cards >= {{ min_cards }}
    and bursts.failures >= {{ min_failure_share }} * bursts.attempts as is_card_testing
from bursts
inner join customers_per_burst
    on bursts.entity_type = customers_per_burst.entity_type
        and bursts.entity_value = customers_per_burst.entity_value
        and bursts.burst_number = customers_per_burst.burst_number
