-- Opening + billed - collected - written off = closing, every month: balances (month-end snapshots
-- of the balance periods) and flows (the ledger) are computed separately, so this catches any
-- money that appears or vanishes between them. Tolerance: rounding of five 2-decimal figures.
select
    month_start,
    opening_receivables_reporting,
    billed_reporting,
    collected_reporting,
    written_off_reporting,
    closing_receivables_reporting
from {{ ref('collections_monthly') }}
where abs(
        opening_receivables_reporting + billed_reporting - collected_reporting - written_off_reporting
        - closing_receivables_reporting
    ) > 0.03
