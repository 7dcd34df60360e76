-- Recovery curves of late payments (DOMAIN.md "late-payment recovery"), published beside the
-- headline recovery_cohorts and never mixed in: invoices never attempted before they were paid
-- (bank transfer, invoice payers) that were not paid by the end of their due date, by the month
-- they became past due. Definitions: macros/recovery_cohort_curves.sql.
{{ recovery_cohort_curves('late_payment') }}
