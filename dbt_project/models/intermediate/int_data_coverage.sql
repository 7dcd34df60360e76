-- The span of time the data covers, one row: from the day of the ledger's first movement (nothing
-- is known before it) to the as-of date. Every monthly and cohort mart judges whether a month is
-- complete against it (macro is_complete_month), so a partial first or last month is flagged the
-- same way everywhere.
select
    (select min(event_date) from {{ ref('int_invoice_ledger') }}) as coverage_start_date,
    as_of.as_of_date as coverage_end_date
from {{ ref('int_as_of') }} as as_of
