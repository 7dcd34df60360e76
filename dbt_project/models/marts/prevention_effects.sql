-- Delinquency and dispute rates for verified vs unverified customers and for payments with vs
-- without 3-D Secure (DOMAIN.md "Prevention effect"; descriptive, not causal).
--   verification groups: a customer's verification status at sign-up;
--   3DS groups: card invoices by whether their first attempt used 3-D Secure, and successful card
--   payments by whether they used it (disputes are counted on the payment they dispute).
-- Delinquent invoice rate = invoices that went past due / invoices already due.
with invoices as (
    -- Only what the rates need: each invoice is repeated once per dimension below.
    select
        invoice_id,
        customer_id,
        due_at,
        as_of_date,
        days_past_due,
        is_past_due,
        amount_remaining_reporting
    from {{ ref('fct_invoices') }}
    where is_receivable
),

attempts as (
    select
        attempt_id,
        invoice_id,
        customer_id,
        attempt_number,
        is_success,
        used_3ds,
        payment_method
    from {{ ref('fct_payment_attempts') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

disputes as (
    -- An inquiry (retrieval request) is not a dispute yet.
    select
        attempt_id,
        kind
    from {{ ref('stg_billing__disputes') }}
    where kind in ('chargeback', 'fraud_report')
),

first_attempts as (
    select
        invoice_id,
        used_3ds,
        payment_method
    from attempts
    where attempt_number = 1 and invoice_id is not null
),

invoice_groups as (
    {{- prevention_groups(
        'invoices', 'first_attempts',
        'inner join first_attempts on invoices.invoice_id = first_attempts.invoice_id',
    ) }}
),

-- Per customer first, then per group: plain aggregates spill to disk under the memory cap; a
-- distinct count over every invoice of every dimension does not (it ran out of memory at 10M).
invoice_customer_rates as (
    select
        dimension,
        group_value,
        customer_id,
        count(*) filter (where due_at::date < as_of_date) as invoices_due,
        count(*) filter (where due_at::date < as_of_date and days_past_due > 0) as invoices_past_due_ever,
        sum(amount_remaining_reporting) as open_receivables,
        sum(amount_remaining_reporting) filter (where is_past_due) as past_due
    from invoice_groups
    group by dimension, group_value, customer_id
),

invoice_rates as (
    select
        dimension,
        group_value,
        count(customer_id) as customers,
        sum(invoices_due) as invoices_due,
        sum(invoices_past_due_ever) as invoices_past_due_ever,
        sum(open_receivables) as open_receivables,
        sum(past_due) as past_due
    from invoice_customer_rates
    group by dimension, group_value
),

successful_payments as (
    select
        attempt_id,
        customer_id,
        used_3ds,
        payment_method
    from attempts
    where is_success
),

payment_groups as (
    {{- prevention_groups('successful_payments', 'successful_payments') }}
),

dispute_counts as (
    select
        attempt_id,
        count(*) as disputes,
        count(*) filter (where kind = 'chargeback') as chargebacks
    from disputes
    group by attempt_id
),

-- An attempt appears once per dimension (attempt ids and customer ids are unique upstream), so
-- rows count payments; disputes are summed per attempt rather than joined one by one.
payment_rates as (
    select
        payment_groups.dimension,
        payment_groups.group_value,
        count(*) as successful_payments,
        coalesce(sum(dispute_counts.disputes), 0) as disputes,
        coalesce(sum(dispute_counts.chargebacks), 0) as chargebacks
    from payment_groups
    left join dispute_counts on payment_groups.attempt_id = dispute_counts.attempt_id
    group by 1, 2
)

select
    coalesce(invoice_rates.dimension, payment_rates.dimension) as dimension,
    coalesce(invoice_rates.group_value, payment_rates.group_value) as group_value,
    '{{ var("reporting_currency") }}' as reporting_currency,
    coalesce(invoice_rates.customers, 0)::integer as customers,
    coalesce(invoice_rates.invoices_due, 0)::integer as invoices_due,
    coalesce(invoice_rates.invoices_past_due_ever, 0)::integer as invoices_past_due_ever,
    round(invoice_rates.invoices_past_due_ever / nullif(invoice_rates.invoices_due, 0), 6)
    ::decimal(9, 6) as delinquent_invoice_rate,
    round(coalesce(invoice_rates.open_receivables, 0), 2)::decimal(18, 2) as open_receivables_reporting,
    round(coalesce(invoice_rates.past_due, 0), 2)::decimal(18, 2) as past_due_reporting,
    round(coalesce(invoice_rates.past_due, 0) / nullif(invoice_rates.open_receivables, 0), 6)
    ::decimal(9, 6) as delinquency_rate,
    coalesce(payment_rates.successful_payments, 0)::integer as successful_payments,
    coalesce(payment_rates.disputes, 0)::integer as disputes,
    coalesce(payment_rates.chargebacks, 0)::integer as chargebacks,
    round(payment_rates.disputes / nullif(payment_rates.successful_payments, 0), 6)::decimal(9, 6)
        as dispute_rate
from invoice_rates
full outer join payment_rates
    on invoice_rates.dimension = payment_rates.dimension
        and invoice_rates.group_value = payment_rates.group_value
