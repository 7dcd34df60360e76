-- One row per setting the marts are defined with: the windows and the reporting currency, taken
-- from the dbt vars of this build (dbt_project.yml, or `--vars`). Pages and analysts read a
-- window here instead of writing "60 days" a second time. The PII salt is not published.
{%- set settings = [
    ('reporting_currency', var('reporting_currency'), 'currency',
        'Currency every amount is also reported in (columns ending in _reporting).'),
    ('recovery_window_days', var('recovery_window_days'), 'days',
        'An invoice counts as recovered when paid within this many days of entering recovery '
        ~ '(fct_invoices, recovery_cohorts, recovery_by_channel).'),
    ('dunning_attribution_days', var('dunning_attribution_days'), 'days',
        'A dunning message worked when its invoice is paid within this many days of sending '
        ~ '(dunning_funnel, recovery_by_channel).'),
    ('plan_grace_days', var('plan_grace_days'), 'days',
        'A payment-plan instalment paid later than this many days after its due date breaks '
        ~ 'the plan (payment_plan_outcomes).'),
    ('failure_rate_min_attempts', var('failure_rate_min_attempts'), 'attempts',
        'Fewest attempts in a failure-rate window for it to be judged alone; thinner windows are '
        ~ 'insufficient_volume (failure_rates_hourly, failure_rates_daily).'),
    ('failure_rate_baseline_weeks', var('failure_rate_baseline_weeks'), 'weeks',
        'History of the same hour of the week (or weekday) a failure-rate window is compared with.'),
    ('dispute_baseline_days', var('dispute_baseline_days'), 'days',
        'History of days the disputes of a day are compared with (disputes_daily).'),
    ('dispute_min_history_days', var('dispute_min_history_days'), 'days',
        'Days of history before disputes_daily publishes an expected count.'),
    ('risk_days_past_due', var('risk_days_past_due'), 'days',
        'The delinquency score predicts an invoice reaching this many days past due, or a '
        ~ 'write-off (risk_features, subscription_risk).'),
    ('risk_horizon_days', var('risk_horizon_days'), 'days',
        'Within this many days after the scoring date (risk_features, subscription_risk).'),
    ('risk_feature_window_days', var('risk_feature_window_days'), 'days',
        'The score''s behaviour features count this many days before the scoring date; its rule '
        ~ 'baseline is any failed payment in them (risk_features, subscription_risk_evaluation).'),
] %}

{%- for name, value, unit, description in settings %}
    select
        '{{ name }}' as setting,
        '{{ value }}' as value,
        '{{ unit }}' as unit,
        '{{ description }}' as description
    {{- "\n    union all" if not loop.last }}
{%- endfor %}
