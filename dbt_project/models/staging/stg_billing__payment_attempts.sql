-- The columns are listed in the macro stage_payment_attempts, which fct_payment_attempts'
-- incremental branch also uses.
{{ stage_payment_attempts(latest_versions(source('raw', 'payment_attempts'), 'attempt_id')) }}
