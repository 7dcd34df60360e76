-- Expected rates and their upper bounds are probabilities, and the bound is above the estimate.
{{ config(severity='warn') }}
select
    segment_type,
    segment_value,
    window_start,
    expected_rate,
    expected_rate_upper
from {{ ref('int_failure_rate_windows') }}
where expected_rate < 0 or expected_rate > 1
    or expected_rate_upper < expected_rate or expected_rate_upper > 1
