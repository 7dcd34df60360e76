with source as (
    {{ latest_versions(source('raw', 'payment_attempts'), 'attempt_id') }}
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
    processor,
    outcome = 'succeeded' as is_success,
    decline_code,
    attempt_number as reported_attempt_number,
    trigger as attempt_trigger,
    used_3ds,
    device_id,
    updated_at,
    _loaded_at as loaded_at
from source
