-- One row per payment attempt. Incremental: each run rebuilds every attempt of each invoice that
-- got a new or updated attempt since the last run, because a late-arriving attempt renumbers its
-- siblings (attempt_number, hours_since_previous_attempt). On Spark, whose builds are always full
-- (orchestration/spark.py), a table: Parquet tables support no delete+insert.
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        unique_key='attempt_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#- Attempts without an invoice (card verifications) form a chain of their own. -#}
{%- set chain_key = "coalesce(invoice_id, 'attempt:' || attempt_id)" %}
{%- set raw_attempts = source('raw', 'payment_attempts') %}

with
{% if is_incremental() %}
    new_versions as (
        select attempt_id, invoice_id
        from {{ raw_attempts }}
        where _loaded_at > (select coalesce(max(loaded_at), timestamp '1900-01-01') from {{ this }})
    ),

    touched_chains as (
        select {{ chain_key }} as chain_key from new_versions
        union
        -- The chain an updated attempt was in: moving to another invoice renumbers those left.
        select {{ chain_key }} as chain_key
        from {{ this }}
        where attempt_id in (select attempt_id from new_versions)
    ),

    -- Only the attempts of the touched chains are de-duplicated and staged (the staging view's
    -- columns, from the same macro): filtering the view would first de-duplicate every attempt
    -- ever loaded, which made this branch as slow as a full rebuild at 10M attempts.
    staged as (
        {{ stage_payment_attempts(latest_versions(raw_attempts, 'attempt_id', only_keys=
            "select attempt_id from " ~ raw_attempts
            ~ " where " ~ chain_key ~ " in (select chain_key from touched_chains)")) }}
    ),
{% else %}
    staged as (
        select * from {{ ref('stg_billing__payment_attempts') }}
    ),
{% endif %}

attempts as (
    select
        *,
        {{ chain_key }} as chain_key
    from staged
),

in_scope as (
    select attempts.*
    from attempts
    {% if is_incremental() %}
        -- The candidates were found by any of their versions; a full build numbers each attempt
        -- in the chain of its current version.
        semi join touched_chains on attempts.chain_key = touched_chains.chain_key
    {% endif %}
),

sequenced as (
    select
        *,
        row_number() over (partition by chain_key order by attempted_at, attempt_id) as attempt_number,
        lag(attempted_at) over (partition by chain_key order by attempted_at, attempt_id)
            as previous_attempted_at,
        lag(decline_code) over (partition by chain_key order by attempted_at, attempt_id)
            as previous_decline_code
    from in_scope
),

decline_codes as (
    select
        decline_code,
        decline_class
    from {{ ref('decline_codes') }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    sequenced.attempt_id,
    sequenced.invoice_id,
    sequenced.customer_id,
    sequenced.attempted_at,
    sequenced.amount,
    sequenced.currency,
    {{ to_reporting('sequenced.amount', 'fx.rate_to_reporting') }} as amount_reporting,
    sequenced.payment_method,
    sequenced.card_brand,
    sequenced.card_country,
    sequenced.card_bin,
    sequenced.card_fingerprint,
    sequenced.card_expires_on,
    sequenced.processor,
    sequenced.is_success,
    sequenced.decline_code,
    case
        when sequenced.is_success then null
        else coalesce(decline_codes.decline_class, 'unknown')
    end as decline_class,
    sequenced.attempt_number::integer as attempt_number,
    -- Half up on the whole seconds, not round() of a double: 83,898 s is 23.305 h, which DuckDB's
    -- double rounds down and Spark's decimal up; both now give 23.31.
    cast(
        floor(
            (
                {{ date_diff('second', "sequenced.previous_attempted_at", "sequenced.attempted_at") }} * 100
                + 1800
            ) / 3600
        ) / 100 as decimal(10, 2)
    ) as hours_since_previous_attempt,
    sequenced.used_3ds,
    sequenced.attempt_trigger,
    sequenced.attempt_number > 1 as is_retry,
    sequenced.previous_decline_code,
    case
        when sequenced.attempt_number = 1 then null
        when sequenced.previous_decline_code is null then null
        else coalesce(previous_codes.decline_class, 'unknown')
    end as previous_decline_class,
    sequenced.reported_attempt_number,
    sequenced.device_id,
    -- Who decided: the issuer, the processor's fraud screening (a block is prevention working,
    -- not an issuer decline) or an invalid request; the processor's risk view and card checks.
    sequenced.outcome_type,
    coalesce(sequenced.is_blocked_by_screening, false) as is_blocked_by_screening,
    sequenced.risk_level,
    sequenced.failure_type,
    sequenced.card_funding,
    sequenced.cvc_check,
    sequenced.updated_at,
    sequenced.loaded_at
from sequenced
left join decline_codes
    on lower(trim(sequenced.decline_code)) = decline_codes.decline_code
left join decline_codes as previous_codes
    on lower(trim(sequenced.previous_decline_code)) = previous_codes.decline_code
left join fx
    on sequenced.currency = fx.currency
        and sequenced.attempted_at::date >= fx.valid_from
        and sequenced.attempted_at::date < fx.valid_to
