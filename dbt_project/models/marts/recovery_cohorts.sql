-- Recovery curves of failed payments, the headline recovery rate (DOMAIN.md): invoices whose first
-- attempt failed, by the month of that failure. Late payments of invoices never attempted are in
-- late_payment_cohorts, never mixed in. Definitions: macros/recovery_cohort_curves.sql.
{{ recovery_cohort_curves('failed_payment') }}
