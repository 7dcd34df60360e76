{#- The staged columns of payment attempts from `versions`, a query of raw.payment_attempts rows.
    A macro, not only the staging view, because fct_payment_attempts' incremental branch stages
    just the attempts it rebuilds (latest_versions with only_keys): a filter on the view would
    still de-duplicate every attempt ever loaded first. -#}
{% macro stage_payment_attempts(versions) -%}
    with source as (
        {{ versions }}
    )

    select
        attempt_id,
        invoice_id,
        customer_id,
        attempted_at,
        amount,
        upper(currency) as currency,
        payment_method,
        lower(card_brand) as card_brand,
        upper(card_country) as card_country,
        card_bin,
        card_fingerprint,
        -- A card is valid through the last day of its expiry month. An impossible month or year
        -- leaves the expiry unknown rather than costing the attempt its row.
        case
            when card_exp_month between 1 and 12 and card_exp_year between 2000 and 2099
                then last_day(make_date(card_exp_year, card_exp_month, 1))
        end as card_expires_on,
        processor,
        outcome = 'succeeded' as is_success,
        decline_code,
        attempt_number as reported_attempt_number,
        trigger as attempt_trigger,
        used_3ds,
        device_id,
        outcome_type,
        -- the processor's fraud screening stopped it before the issuer: not an issuer decline
        outcome_type = 'blocked' as is_blocked_by_screening,
        risk_level,
        failure_code,
        failure_type,
        failure_message,
        card_funding,
        cvc_check,
        address_line1_check,
        address_postal_code_check,
        updated_at,
        _loaded_at as loaded_at
    from source
{%- endmacro %}
