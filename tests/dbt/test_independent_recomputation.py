"""Issue 16's "Done when": the headline figures recomputed from the LANDING files of the freshly
generated session sample with plain DuckDB SQL - no dbt model, macro, seed table or warehouse
table is read, only the landing files, the fx_rates seed file and the published marts to compare
with - and matched with every published mart to the cent.

The rules are docs/metrics.md's, written again from scratch: the latest version of each record
(newest updated_at), receivable = not draft or void and more than 0.00, the ledger's movements
(billed; collected at each successful attempt, capped at what the invoice reports as paid, the rest
at paid_at; written off for what is open at the write-off; refunds and lost chargebacks), each
converted at the invoice's issue-date ECB rate and rounded to the cent once, per movement.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from orchestration.config import DBT_PROJECT_DIR
from orchestration.contract import ENTITIES

READERS = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json"}


def _read(files: list) -> str:
    (suffix,) = {f.suffix for f in files}
    listed = ", ".join(f"'{f}'" for f in sorted(files))
    return f"{READERS[suffix]}([{listed}], filename = true, union_by_name = true)"


@pytest.fixture(scope="module")
def recomputed(sample_settings):
    con = recompute(sample_settings.landing_dir)
    yield con
    con.close()


def recompute(landing_dir) -> duckdb.DuckDBPyConnection:
    """A DuckDB of its own: the latest version of every landing record, and the recomputation."""
    con = duckdb.connect()
    for entity in ENTITIES:
        files = [p for p in (landing_dir / entity.name).glob("*") if p.is_file()]
        if not files:
            continue
        con.execute(
            f"""create table {entity.name} as
            select * exclude (filename) from {_read(files)}
            qualify row_number() over (
                partition by {entity.key} order by updated_at desc, filename desc) = 1"""
        )
    loaded = [e.name for e in ENTITIES if _exists(con, e.name)]
    con.execute(
        "create table as_of as select max(t)::timestamp as as_of_at, max(t)::date as as_of_date "
        f"from ({' union all '.join(f'select max(updated_at) as t from {n}' for n in loaded)})"
    )
    # The ECB rate of a day: the seed row of the latest valid_from on or before it (before the
    # first row, the first row). Reporting currency EUR, the sample's: rate_to_eur as is.
    con.execute(
        f"""create table fx as select currency, valid_from, rate_to_eur
        from read_csv('{DBT_PROJECT_DIR / "seeds" / "fx_rates.csv"}',
            columns = {{'currency': 'varchar', 'valid_from': 'date', 'rate_to_eur': 'decimal(18, 10)',
                'ecb_date': 'date', 'ecb_units_per_eur': 'decimal(18, 6)'}}, header = true)"""
    )
    con.execute(RECOMPUTATION)
    return con


def _exists(con, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_name = ?", [table]
        ).fetchone()[0]
    )


RECOMPUTATION = """
create table write_off_escalations as
select invoice_id, min(escalated_at) as escalated_at
from escalations where stage = 'write_off' group by invoice_id;

create table inv as
select
    i.invoice_id,
    i.subscription_id,
    i.billing_reason,
    i.amount_due,
    i.issued_at,
    i.due_at::date as due_date,
    paid.fully_paid_at,
    case when paid.fully_paid_at is not null then i.amount_due
        else least(i.amount_paid, i.amount_due) end as collected_total,
    coalesce(paid.fully_paid_at, i.updated_at) as balancing_at,
    case when i.written_off_at is not null or w.escalated_at is not null
            or i.status = 'uncollectible'
        then greatest(coalesce(i.written_off_at, w.escalated_at, i.updated_at), i.issued_at)
    end as written_off_at,
    coalesce(
        (select r.rate_to_eur from fx as r where r.currency = upper(i.currency)
            and r.valid_from <= i.issued_at::date order by r.valid_from desc limit 1),
        (select r.rate_to_eur from fx as r where r.currency = upper(i.currency)
            order by r.valid_from limit 1)
    ) as rate
from invoices as i
cross join lateral (
    select case when i.status = 'paid' or i.paid_at is not null
        then coalesce(i.paid_at, i.updated_at) end as fully_paid_at
) as paid
left join write_off_escalations as w on i.invoice_id = w.invoice_id
where i.status not in ('draft', 'void') and i.amount_due > 0;

create table attempts as
select
    a.*,
    a.outcome = 'succeeded' as ok,
    row_number() over (partition by a.invoice_id order by a.attempted_at, a.attempt_id) as n
from payment_attempts as a where a.invoice_id is not null;

-- Payments: successful attempts capped at what the invoice reports as paid, then the rest of it
-- at paid_at (or the last update); booked only before a write-off, never before the issue.
create table payments as
with capped as (
    select a.invoice_id, a.attempted_at as event_at,
        least(a.amount, greatest(inv.collected_total - coalesce(sum(a.amount) over (
            partition by a.invoice_id order by a.attempted_at, a.attempt_id
            rows between unbounded preceding and 1 preceding), 0), 0)) as amount
    from attempts as a join inv using (invoice_id) where a.ok
),
rest as (
    select inv.invoice_id, any_value(inv.balancing_at) as event_at,
        any_value(inv.collected_total) - coalesce(sum(capped.amount), 0) as amount
    from inv left join capped using (invoice_id) group by inv.invoice_id
)
select p.invoice_id, greatest(p.event_at, inv.issued_at) as event_at, p.amount
from (select * from capped union all select * from rest) as p join inv using (invoice_id)
where p.amount > 0 and (inv.written_off_at is null or p.event_at < inv.written_off_at);

create table movements as
select invoice_id, 'billed' as kind, issued_at as event_at, amount_due as amount, 1 as sign from inv
union all
select invoice_id, 'collected', event_at, amount, -1 from payments
union all
select inv.invoice_id, 'written_off', any_value(inv.written_off_at),
    any_value(inv.amount_due) - coalesce(sum(p.amount), 0), -1
from inv left join payments as p using (invoice_id)
where inv.written_off_at is not null group by inv.invoice_id
having any_value(inv.amount_due) - coalesce(sum(p.amount), 0) > 0
union all
select a.invoice_id, ret.kind, greatest(ret.event_at, a.attempted_at), least(ret.amount, a.amount), 0
from (
    select attempt_id, 'refunded' as kind, refunded_at as event_at, amount from refunds
    where status = 'succeeded'
    union all
    select attempt_id, 'charged_back', coalesce(closed_at, updated_at), amount from disputes
    where kind = 'chargeback' and status = 'lost'
) as ret
join attempts as a on ret.attempt_id = a.attempt_id and a.ok
join inv on a.invoice_id = inv.invoice_id
where inv.written_off_at is null or a.attempted_at < inv.written_off_at;

-- Each movement's cents: the change of the invoice's open balance, converted and rounded
-- (returns, which change no balance: their own amount converted and rounded).
create table cents as
with ordered as (
    select m.*, inv.rate,
        sum(m.sign * m.amount) over (partition by m.invoice_id
            order by m.event_at, m.sign desc, m.kind, m.amount rows unbounded preceding) as open_after
    from movements as m join inv using (invoice_id)
)
select invoice_id, kind, event_at::date as day, date_trunc('month', event_at)::date as month, amount, sign,
    case when sign = 0 then round(amount * rate, 2)
        else sign * (round(open_after * rate, 2) - round((open_after - sign * amount) * rate, 2))
    end as eur
from ordered;
"""


def _published(sample_settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(sample_settings.published_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_sample_reports_in_eur_and_covers_several_months(sample_settings, recomputed):
    assert _published(sample_settings, "select distinct reporting_currency from marts.fct_invoices")
    assert {r[0] for r in _published(
        sample_settings, "select distinct reporting_currency from marts.collections_monthly"
    )} == {"EUR"}  # fmt: skip
    (months,) = recomputed.execute("select count(distinct month) from cents").fetchone()
    assert months >= 6


def test_monthly_flows_to_the_cent(sample_settings, recomputed):
    mine = recomputed.execute(
        """select month,
            coalesce(sum(eur) filter (where kind = 'billed'), 0),
            coalesce(sum(eur) filter (where kind = 'collected'), 0),
            coalesce(sum(eur) filter (where kind in ('refunded', 'charged_back')), 0),
            coalesce(sum(eur) filter (where kind = 'collected'), 0)
                - coalesce(sum(eur) filter (where kind in ('refunded', 'charged_back')), 0),
            coalesce(sum(eur) filter (where kind = 'written_off'), 0)
        from cents group by month order by month"""
    ).fetchall()
    published = _published(
        sample_settings,
        """select month_start, billed_reporting, collected_reporting, returned_reporting,
            net_collected_reporting, written_off_reporting
        from marts.collections_monthly order by month_start""",
    )
    assert mine == published
    # Not a vacuous match: money moved in every kind of flow.
    totals = [sum(row[i] for row in mine) for i in range(1, 6)]
    assert all(t > 0 for t in totals), totals


def test_open_receivables_as_of_to_the_cent(sample_settings, recomputed):
    # Per invoice: what is still open (due - booked payments - write-off), converted, rounded once.
    [(mine,)] = recomputed.execute(
        """select sum(round(open * rate, 2)) from (
            select inv.invoice_id, any_value(inv.rate) as rate,
                sum(m.sign * m.amount) as open
            from inv join movements as m using (invoice_id) group by inv.invoice_id
        ) where open > 0"""
    ).fetchall()
    published = _published(
        sample_settings,
        """select
            (select sum(amount_remaining_reporting) from marts.fct_invoices),
            (select sum(open_receivables_reporting) from marts.receivables_daily
                where date_day = (select max(date_day) from marts.receivables_daily)),
            (select closing_receivables_reporting from marts.collections_monthly
                order by month_start desc limit 1)""",
    )[0]
    assert mine > 0
    assert published == (mine, mine, mine)


def test_dso_of_every_complete_month(sample_settings, recomputed):
    # DSO = closing receivables at the month end / billed in the month x days in the month, for
    # the months the data covers in full (from its first movement to the as-of date).
    mine = recomputed.execute(
        """with months as (
            select month, last_day(month) as month_end
            from (select distinct month from cents)
            where month >= (select min(day) from cents)
                and last_day(month) <= (select as_of_date from as_of)
        ),
        closing as (
            select months.month, sum(round(open * inv.rate, 2)) filter (where open > 0) as closing
            from months cross join inv
            cross join lateral (
                select coalesce(sum(m.sign * m.amount), 0) as open from movements as m
                where m.invoice_id = inv.invoice_id and m.event_at::date <= months.month_end
            )
            group by months.month
        ),
        billed as (
            select month, sum(eur) as billed from cents where kind = 'billed' group by month
        )
        select months.month,
            round(coalesce(closing.closing, 0) / billed.billed * day(months.month_end), 2)
        from months join billed using (month) left join closing using (month)
        order by 1"""
    ).fetchall()
    published = _published(
        sample_settings,
        """select month_start, dso_days from marts.collections_monthly
        where is_complete_month order by 1""",
    )
    assert len(mine) >= 4
    assert [(m, Decimal(d).quantize(Decimal("0.01"))) for m, d in mine] == published


def test_first_attempt_failure_rate_per_month(sample_settings, recomputed):
    # Recurring invoices (subscription_create / subscription_cycle) by the month of their first
    # attempt (earliest, ties by id): how many, how many failed, and the amounts in cents.
    mine = recomputed.execute(
        """select date_trunc('month', a.attempted_at)::date as month,
            count(*), count(*) filter (where not a.ok),
            sum(billed.eur), coalesce(sum(billed.eur) filter (where not a.ok), 0)
        from attempts as a
        join inv using (invoice_id)
        join cents as billed on billed.invoice_id = inv.invoice_id and billed.kind = 'billed'
        where a.n = 1 and inv.billing_reason in ('subscription_create', 'subscription_cycle')
        group by 1 order by 1"""
    ).fetchall()
    published = _published(
        sample_settings,
        """select month_start, sum(invoices_first_attempted)::bigint,
            sum(first_attempts_failed)::bigint, sum(amount_first_attempted_reporting),
            sum(amount_first_attempt_failed_reporting)
        from marts.first_attempt_failures_monthly group by 1 order by 1""",
    )
    assert mine == published
    assert all(0 < failed < tried for _, tried, failed, _, _ in mine)


def test_recovery_rate_over_first_attempt_failures(sample_settings, recomputed):
    # Entered: the first failed attempt, at or before the invoice was fully paid and before any
    # write-off. Recovered: fully paid then, before any write-off, within 60 days (calendar
    # dates). The rate counts only invoices whose 60 days have elapsed by the as-of date.
    mine = recomputed.execute(
        """with entered as (
            select inv.invoice_id, min(a.attempted_at) as entered_at,
                any_value(inv.fully_paid_at) as paid_at, any_value(inv.written_off_at) as wo_at
            from inv join attempts as a using (invoice_id)
            where not a.ok
                and (inv.fully_paid_at is null or a.attempted_at <= inv.fully_paid_at)
                and (inv.written_off_at is null or a.attempted_at < inv.written_off_at)
            group by inv.invoice_id
        ),
        judged as (
            select date_trunc('month', entered_at)::date as cohort_month,
                entered_at::date + 60 <= (select as_of_date from as_of) as elapsed,
                paid_at >= entered_at and (wo_at is null or paid_at < wo_at)
                    and paid_at::date - entered_at::date <= 60 as recovered
            from entered
        )
        select cohort_month, count(*),
            round(count(*) filter (where elapsed and recovered)
                / nullif(count(*) filter (where elapsed), 0), 6)
        from judged group by 1 order by 1"""
    ).fetchall()
    published = _published(
        sample_settings,
        """select cohort_month, invoices_entered, cohort_recovery_rate
        from marts.recovery_cohorts where days_since_entered = 0 order by 1""",
    )
    assert [(m, n, None if r is None else Decimal(str(r))) for m, n, r in mine] == [
        (m, n, None if r is None else Decimal(r)) for m, n, r in published
    ]
    assert sum(1 for _, _, r in mine if r is not None) >= 2
