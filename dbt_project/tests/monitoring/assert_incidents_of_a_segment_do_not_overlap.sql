-- Two incidents of one detector and segment never overlap: overlapping windows would have been
-- grouped into one, and an alert would fire twice for the same problem.
{{ config(severity='warn') }}
select
    a.incident_id,
    b.incident_id as overlapping_incident_id
from {{ ref('incidents') }} as a
inner join {{ ref('incidents') }} as b
    on a.detector = b.detector
        and a.segment_type = b.segment_type
        and a.segment_value = b.segment_value
        and a.window_grain = b.window_grain
        and a.incident_id < b.incident_id
        and a.started_at < b.last_window_end
        and a.last_window_end > b.started_at
