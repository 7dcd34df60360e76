-- Every root window lies inside the span of its incident, so "since when" in an alert is true.
{{ config(severity='warn') }}
select anomalies.anomaly_id
from {{ ref('anomalies') }} as anomalies
inner join {{ ref('incidents') }} as incidents
    on anomalies.incident_id = incidents.incident_id
where anomalies.is_root
    and (
        anomalies.window_start < incidents.started_at
        or anomalies.window_end > incidents.last_window_end
    )
