-- The delinquency score as trained and written by orchestration/risk.py, published as a mart so
-- dbt's tests check it and the semantic layer's expected_revenue_at_risk can read it.
select
    subscription_id,
    customer_id,
    scoring_date,
    probability,
    risk_band,
    mrr_reporting,
    expected_revenue_at_risk_reporting,
    reason_1,
    reason_2,
    reason_3,
    model_version
from {{ source('risk', 'subscription_scores') }}
