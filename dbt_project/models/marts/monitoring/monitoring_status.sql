-- One row: the data time the monitoring marts were computed at, and what they hold. The alerting
-- asset takes its clock ("watermark") from here, never from the wall clock. It also says how much
-- of the data failure-rate monitoring could judge: "0 anomalies" means little when nothing could be.
with as_of as (
    select as_of_at from {{ ref('int_as_of') }}
),

failure_rate_windows as (
    select
        evaluation_status,
        window_end
    from {{ ref('failure_rates_hourly') }}
    union all
    select
        evaluation_status,
        window_end
    from {{ ref('failure_rates_daily') }}
),

windows as (
    select
        count(*) as failure_rate_windows,
        count(*) filter (where evaluation_status = 'evaluated') as windows_evaluated,
        count(*) filter (where evaluation_status = 'insufficient_volume') as windows_insufficient_volume,
        count(*) filter (where evaluation_status = 'no_baseline') as windows_no_baseline,
        max(window_end) filter (where evaluation_status = 'evaluated') as evaluated_through
    from failure_rate_windows
),

status as (
    select
        *,
        {{ var('failure_rate_min_attempts') }} as min_window_attempts,
        case
            when windows_evaluated = 0 then 'not_evaluable'
            when windows_evaluated < failure_rate_windows then 'partly_evaluated'
            else 'evaluated'
        end as evaluation_status,
        -- The reasons that apply, e.g. "12 with fewer than 20 attempts and 3 without a baseline yet".
        concat_ws(
            ' and ',
            case
                when windows_insufficient_volume > 0
                    then printf(
                            '%s with fewer than %d attempts',
                            {{ thousands('windows_insufficient_volume') }},
                            {{ var('failure_rate_min_attempts') }}
                        )
            end,
            case
                when windows_no_baseline > 0
                    then printf('%s without a baseline yet', {{ thousands('windows_no_baseline') }})
            end
        ) as not_evaluated_reasons
    from windows
)

select
    as_of.as_of_at as as_of,
    (select count(*) from {{ ref('anomalies') }}) as anomalies,
    (select count(*) from {{ ref('incidents') }}) as incidents,
    (
        select count(*) from {{ ref('incidents') }}
        where is_open
    ) as open_incidents,
    status.evaluated_through,
    status.failure_rate_windows,
    status.windows_evaluated,
    status.windows_insufficient_volume,
    status.windows_no_baseline,
    status.min_window_attempts,
    status.evaluation_status,
    -- printf and thousands(), not DuckDB's format(): Spark has printf-style formatting only.
    case
        when status.failure_rate_windows = 0
            then 'No billing attempts: failure rates were not evaluated.'
        when status.evaluation_status = 'not_evaluable'
            then printf(
                    'Failure rates were not evaluated: none of the %s windows could be judged (%s). No '
                    || 'anomaly among them means none could be found, not that none happened.',
                    {{ thousands('status.failure_rate_windows') }}, status.not_evaluated_reasons
                )
        when status.evaluation_status = 'partly_evaluated'
            then printf(
                    'Failure rates: %s of %s windows evaluated; %s could not raise an alert on '
                    || 'their own.',
                    {{ thousands('status.windows_evaluated') }},
                    {{ thousands('status.failure_rate_windows') }},
                    status.not_evaluated_reasons
                )
        else printf(
                'Failure rates: all %s windows evaluated.', {{ thousands('status.failure_rate_windows') }}
            )
    end as evaluation_note
from as_of
cross join status
