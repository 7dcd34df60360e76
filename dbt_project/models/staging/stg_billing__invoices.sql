-- The columns are listed in the macro stage_invoices, which int_invoices_resolved's incremental
-- run also uses.
{{ stage_invoices(latest_versions(source('raw', 'invoices'), 'invoice_id')) }}
