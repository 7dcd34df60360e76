-- Opening + billed - net collected - returned - written off = closing, every month, to the cent
-- (tolerance 0): balances (month-end snapshots of the balance periods) and flows (the ledger) are
-- computed separately from the same cents, so any money that appears or vanishes between them,
-- or any rounding after the ledger, shows here. Returned (refunds, lost chargebacks) leaves the
-- balance unchanged: it only moves money from net collected back out.
select
    month_start,
    opening_receivables_reporting,
    billed_reporting,
    collected_reporting,
    net_collected_reporting,
    returned_reporting,
    written_off_reporting,
    closing_receivables_reporting
from {{ ref('collections_monthly') }}
where opening_receivables_reporting + billed_reporting - net_collected_reporting - returned_reporting
    - written_off_reporting != closing_receivables_reporting
    or net_collected_reporting != collected_reporting - returned_reporting
