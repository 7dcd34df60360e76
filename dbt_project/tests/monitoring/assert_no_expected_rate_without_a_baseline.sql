-- A window has an expected rate exactly when it has a level and a pay-cycle factor, and only a
-- window with one is scored or evaluated: a placeholder (DuckDB's least() skipping NULL once
-- made "no history" an expected 0.999) would pass for a baseline.
select
    window_grain,
    segment_type,
    segment_value,
    window_start,
    level_rate,
    day_of_month_factor,
    expected_rate,
    evaluation_status
from {{ ref('int_failure_rate_windows') }}
where (expected_rate is not null) <> (level_rate is not null and day_of_month_factor is not null)
    or (expected_rate is null and (expected_rate_upper is not null or score is not null))
    or (expected_rate is null and evaluation_status = 'evaluated')
