-- Failure rate per segment per day, its expected rate from the segment's own history, and
-- whether the window is anomalous (method: failure_rates.yml).
select
    segment_type,
    segment_value,
    window_start,
    window_end,
    attempts,
    failures,
    failure_rate,
    amount_attempted as amount_attempted_reporting,
    amount_failed as amount_failed_reporting,
    seasonal_slot,
    level_rate,
    history_attempts,
    weekly_expected_rate,
    day_of_month_factor,
    expected_rate,
    expected_rate_upper,
    lift,
    excess_failures,
    score,
    revenue_affected,
    is_screened_out,
    evaluation_status,
    is_anomalous,
    anomaly_basis,
    stretch_score,
    is_elevated,
    elevation_run,
    explained_by
from {{ ref('int_failure_rate_windows') }}
where window_grain = 'day'
