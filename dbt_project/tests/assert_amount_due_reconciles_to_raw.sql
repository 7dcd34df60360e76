-- fct_invoices holds every invoice of the raw export exactly once, with its latest amount due:
-- recomputed here straight from raw with arg_max, independently of the staging macro.
-- Shown in Dagster as a check on fct_invoices.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoices'}}}) }}
with raw_latest as (
    select
        invoice_id,
        arg_max(amount_due, (updated_at, _loaded_at, _source_row)) as amount_due
    from {{ source('raw', 'invoices') }}
    group by invoice_id
)

select *
from (
    select
        count(*) as n,
        sum(amount_due) as total
    from raw_latest
) as raw_totals
cross join (
    select
        count(*) as n,
        sum(amount_due) as total
    from {{ ref('fct_invoices') }}
) as mart_totals
where raw_totals.n != mart_totals.n or raw_totals.total != mart_totals.total
