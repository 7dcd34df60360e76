{#- The invoice-level incremental models (int_invoices_resolved, int_invoice_ledger,
    int_invoice_balance_periods, int_invoice_recovery, fct_invoices) rebuild only the invoices that anything loaded since their
    last run can change, the "touched" invoices, and keep every other row.

    Each model records in `intermediate._incremental_state`, in its own transaction (post-hook,
    committed with the model's rows), what its rows were built from: the newest raw load, the
    as-of date, the FX table's checksum and the settings they depend on. A build killed mid-model
    rolls back both, so the next run recomputes the same invoices.

    Only DuckDB builds them incrementally. On any other target (Spark, docs/spark.md) the config
    makes them plain tables without hooks, as fct_payment_attempts: every Spark build is a full one
    and Parquet tables have no delete. The state table's SQL (hash(), `insert or replace`) stays
    DuckDB SQL and renders on DuckDB only. -#}

{% macro incremental_state() -%}
    "{{ target.database }}"."intermediate"."_incremental_state"
{%- endmacro %}

{#- Settings whose change rewrites every invoice (the FX table is checked by its content). Any
    other change of the models' code, settings or libraries makes the pipeline's dbt step run
    with --full-refresh (orchestration/build_state.py full_refresh_reason). -#}
{% macro invoice_settings() -%}
    'recovery_window_days={{ var("recovery_window_days") }};dunning_attribution_days={{ var("dunning_attribution_days") }};reporting_currency={{ var("reporting_currency") }}'
{%- endmacro %}

{% macro fx_checksum() -%}
    (select sum(hash(currency, valid_from, valid_to, rate_to_reporting))::varchar from {{ ref('int_fx_rates') }})
{%- endmacro %}

{#- Every version of each record that got a new version since the last run: a record moved to
    another invoice or customer touches where it was as well as where it is. -#}
{% macro _versions_of_new(entity, key, column, since) -%}
    select {{ column }} from {{ source('raw', entity) }}
    where {{ key }} in (select {{ key }} from {{ source('raw', entity) }} where _loaded_at > {{ since }})
{%- endmacro %}

{#- The invoices this model must rebuild (a query of invoice_id; only in its incremental run). -#}
{% macro touched_invoices() -%}
    {%- set state = "(select * from " ~ incremental_state() ~ " where model = '" ~ this.identifier ~ "')" -%}
    {%- set since = "(select coalesce(max(loaded_at), timestamp '1900-01-01') from " ~ state ~ ")" -%}
    -- Never null (attempts and reminders without an invoice): `not in` a set with a null is empty.
    select invoice_id from (
    select invoice_id from {{ source('raw', 'invoices') }} where _loaded_at > {{ since }}
    union
    {{ _versions_of_new('payment_attempts', 'attempt_id', 'invoice_id', since) }}
    union
    {{ _versions_of_new('escalations', 'escalation_id', 'invoice_id', since) }}
    union
    {{ _versions_of_new('payment_plans', 'payment_plan_id', 'invoice_id', since) }}
    union
    {{ _versions_of_new('dunning_messages', 'message_id', 'invoice_id', since) }}
    union
    -- Refunds and lost chargebacks return money on an attempt: its invoices (every version).
    select invoice_id from {{ source('raw', 'payment_attempts') }}
    where attempt_id in (
        {{ _versions_of_new('refunds', 'refund_id', 'attempt_id', since) }}
        union
        {{ _versions_of_new('disputes', 'dispute_id', 'attempt_id', since) }}
    )
    union
    -- Customer-level inputs: the segment (country, current payment method, plan) and the recovery
    -- channel (method changes, invoice-less reminders) of every invoice of the customer.
    select invoice_id from {{ source('raw', 'invoices') }}
    where customer_id in (
        {%- for entity, key in [('customers', 'customer_id'), ('subscriptions', 'subscription_id'),
            ('payment_attempts', 'attempt_id'), ('payment_method_updates', 'update_id'),
            ('dunning_messages', 'message_id'), ('refunds', 'refund_id'), ('disputes', 'dispute_id'),
            ('escalations', 'escalation_id'), ('payment_plans', 'payment_plan_id')] %}
            {{ _versions_of_new(entity, key, 'customer_id', since) }}
            {%- if not loop.last %} union{% endif %}
        {%- endfor %}
    )
    or subscription_id in ({{ _versions_of_new('subscriptions', 'subscription_id', 'subscription_id', since) }})
    {%- if not _is_resolved() %}
    union
    -- The as-of date moved past their due date: they may have entered recovery as late payments.
    select invoice_id from {{ ref('int_invoices_resolved') }}
    where due_date >= (select coalesce(max(as_of_date), date '1900-01-01') from {{ state }})
        and due_date < (select as_of_date from {{ ref('int_as_of') }})
    {%- endif %}
    union
    -- Never built here, or built with other FX rates or settings: every invoice.
    select invoice_id from {{ _every_invoice() }}
    where not exists (
        select 1 from {{ state }}
        where fx_checksum = {{ fx_checksum() }} and settings = {{ invoice_settings() }}
    )
    ) where invoice_id is not null
{%- endmacro %}

{#- The config of an invoice-level incremental model: `{{ config(**invoice_increment_config()) }}`.
    The engine is chosen here, so the models carry no engine logic. -#}
{% macro invoice_increment_config(on_schema_change='ignore') -%}
    {%- if target.type != 'duckdb' -%}
        {%- do return({'materialized': 'table'}) -%}
    {%- endif -%}
    {%- do return({
        'materialized': 'incremental',
        'unique_key': 'invoice_id',
        'incremental_strategy': 'delete+insert',
        'on_schema_change': on_schema_change,
        'pre_hook': '{{ delete_touched_invoices() }}',
        'post_hook': '{{ record_invoice_increment() }}',
    }) -%}
{%- endmacro %}

{#- The model's first CTE (after `with`), `touched`, in its incremental run; the models the hooks
    read are declared here in every run (inside is_incremental() dbt would not see them). -#}
{% macro touched_invoices_cte() -%}
    -- depends_on: {{ invoice_increment_inputs() }}
    {%- if is_incremental() %}
    touched as (
        {{ touched_invoices() }}
    ),
    {%- endif %}
{%- endmacro %}

{#- A filter to the touched invoices in the incremental run (`keyword` is `where` or `and`). -#}
{% macro only_touched_invoices(keyword, column='invoice_id') -%}
    {%- if is_incremental() -%}
        {{ keyword }} {{ column }} in (select invoice_id from touched)
    {%- endif -%}
{%- endmacro %}

{#- on-run-start (dbt_project.yml): once per invocation, not in each model's hook, where two
    models building at once would conflict creating it. -#}
{% macro create_incremental_state() -%}
    {%- if target.type == 'duckdb' %}
    create schema if not exists "{{ target.database }}"."intermediate";
    create table if not exists {{ incremental_state() }} (
        model varchar primary key,
        loaded_at timestamp,
        as_of_date date,
        fx_checksum varchar,
        settings varchar
    )
    {%- endif %}
{%- endmacro %}

{#- pre_hook: in an incremental run, the touched invoices' rows are deleted first (delete+insert
    alone would keep the rows of an invoice that now has none: one paid on its issue day has no
    open period, a voided one is no longer a receivable). -#}
{% macro delete_touched_invoices() -%}
    {%- if is_incremental() %}
    delete from {{ this }} where invoice_id in ({{ touched_invoices() }})
    {%- endif %}
{%- endmacro %}

{#- The models that touched_invoices() and the hooks read (rendered by touched_invoices_cte). The
    raw sources need no declaring: they are loaded before any model runs. -#}
{% macro invoice_increment_inputs() -%}
    {%- if not _is_resolved() %}{{ ref('int_invoices_resolved') }}, {{ ref('int_as_of') }}, {% endif -%}
    {{ ref('int_fx_rates') }}
{%- endmacro %}

{#- int_invoices_resolved is incremental the same way, but it is what the others read: it cannot
    ref itself, nor int_as_of (which reads it), and its rows do not depend on the as-of date (it
    records none). -#}
{% macro _is_resolved() -%}
    {#- A unit test's node names the model it tests. -#}
    {%- set node_id = model.get('tested_node_unique_id') or model.get('unique_id') -%}
    {{ return(node_id.split('.')[-1] == 'int_invoices_resolved') }}
{%- endmacro %}

{#- Every invoice id, for a run that rebuilds them all. int_invoices_resolved reads the raw ids: its
    own table has just lost the touched rows (pre-hook) when its select runs. -#}
{% macro _every_invoice() -%}
    {%- if _is_resolved() %}{{ source('raw', 'invoices') }}{% else %}{{ ref('int_invoices_resolved') }}{% endif -%}
{%- endmacro %}

{#- post_hook: what this build of the model has seen, for its next incremental run. -#}
{% macro record_invoice_increment() -%}
    {{ failpoint('dbt.' ~ this.identifier ~ '.before_state_record') }}
    insert or replace into {{ incremental_state() }}
    select
        '{{ this.identifier }}',
        (
            select max(loaded_at) from (
                {%- for entity in ['invoices', 'payment_attempts', 'escalations', 'payment_plans',
                    'dunning_messages', 'payment_method_updates', 'refunds', 'disputes',
                    'customers', 'subscriptions'] %}
                select max(_loaded_at) as loaded_at from {{ source('raw', entity) }}
                {%- if not loop.last %} union all{% endif %}
                {%- endfor %}
            )
        ),
        {% if _is_resolved() %}null{% else %}(select as_of_date from {{ ref('int_as_of') }}){% endif %},
        {{ fx_checksum() }},
        {{ invoice_settings() }}
{%- endmacro %}
