-- Failure rate per segment per day, its expected rate from the segment's own history, and
-- whether the window is anomalous (method: failure_rates.yml).
{{ failure_rates_at_grain('day') }}
