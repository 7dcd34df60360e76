{#- The staged columns of invoices from `versions`, a query of raw.invoices rows. A macro, not only
    the staging view, because int_invoices_resolved's incremental run stages just the invoices it
    rebuilds (latest_versions with only_keys): a filter on the view would still de-duplicate every
    invoice version ever loaded first. -#}
{% macro stage_invoices(versions) -%}
    with source as (
        {{ versions }}
    )

    select
        invoice_id,
        subscription_id,
        customer_id,
        upper(currency) as currency,
        amount_due,
        coalesce(amount_paid, 0)::decimal(18, 2) as amount_paid,
        issued_at,
        {{ not_before('due_at', 'issued_at') }} as due_at,
        {{ not_before('paid_at', 'issued_at') }} as paid_at,
        status,
        written_off_at,
        billing_reason,
        amount_remaining as reported_amount_remaining,
        attempt_count as reported_attempt_count,
        next_payment_attempt_at,
        updated_at,
        _loaded_at as loaded_at
    from source
{%- endmacro %}
