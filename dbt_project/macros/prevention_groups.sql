{#- prevention_effects: each row of `relation` (with a customer_id) once per group it falls in,
    as (dimension, group_value, the row's columns): the customer's verification status, verified
    or not (from the calling query's `customers` CTE), and, for a card payment, whether it used
    3-D Secure (`card_payment` holds used_3ds and payment_method, reached through
    `card_payment_join`). Invoices and successful payments are grouped by this one rule. The
    branches share their columns in order, so a positional `union all` (Spark has no `by name`). -#}
{% macro prevention_groups(relation, card_payment, card_payment_join='') %}
    select
        'verification_status' as dimension,
        coalesce(customers.verification_status, 'unknown') as group_value,
        {{ relation }}.*
    from {{ relation }}
    left join customers on {{ relation }}.customer_id = customers.customer_id
    union all
    select
        'is_verified' as dimension,
        case when customers.is_verified then 'verified' else 'not_verified' end as group_value,
        {{ relation }}.*
    from {{ relation }}
    left join customers on {{ relation }}.customer_id = customers.customer_id
    union all
    select
        'used_3ds' as dimension,
        case
            when {{ card_payment }}.used_3ds then '3ds' when not {{ card_payment }}.used_3ds then 'no_3ds'
            else 'unknown'
        end as group_value,
        {{ relation }}.*
    from {{ relation }}
    {{ card_payment_join }}
    where {{ card_payment }}.payment_method = 'card'
{%- endmacro %}
