-- One row per day for MetricFlow (the semantic layer's calendar); covers any billing history.
select {{ series("date '2015-01-01'", "date '2040-12-31'", 'interval 1 day', cast='date') }} as date_day
