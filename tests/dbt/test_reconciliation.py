"""Reconciliation on the generated sample that the whole suite shares (tests/conftest.py): the
marts agree with the raw export and with each other, month by month, recomputed here in SQL
independent of the models."""

import duckdb
import pytest


@pytest.fixture(scope="module")
def warehouse(sample_settings):
    with duckdb.connect(str(sample_settings.warehouse_path), read_only=True) as con:
        yield con


def test_amount_due_equals_raw(warehouse):
    raw, raw_n = warehouse.execute(
        """select sum(amount_due), count(*) from (
            select arg_max(amount_due, (updated_at, _loaded_at, _source_row)) as amount_due
            from raw.invoices group by invoice_id)"""
    ).fetchone()
    mart, mart_n = warehouse.execute(
        "select sum(amount_due), count(*) from marts.fct_invoices"
    ).fetchone()
    assert (mart, mart_n) == (raw, raw_n)
    assert mart_n > 1000


def test_receivables_identity_every_month(warehouse):
    months = warehouse.execute(
        """select month_start, opening_receivables_reporting, billed_reporting,
            net_collected_reporting, returned_reporting, written_off_reporting,
            closing_receivables_reporting, collected_reporting
        from marts.collections_monthly order by month_start"""
    ).fetchall()
    assert len(months) >= 6
    previous_closing = 0
    for month, opening, billed, net, returned, written_off, closing, collected in months:
        assert opening == previous_closing, month
        # To the cent: every figure is a sum of the ledger's cents (no tolerance).
        assert opening + billed - net - returned - written_off == closing, month
        assert net == collected - returned, month
        previous_closing = closing
    assert any(m[5] > 0 for m in months)  # write-offs happen in the sample
    assert any(m[4] > 0 for m in months)  # so do refunds or lost chargebacks


def test_monthly_flows_are_sums_of_the_invoice_facts(warehouse):
    # Billed by issue month, and all-time collected, written off and returned, equal the sums of
    # fct_invoices' cents exactly; months whose first day the data does not cover are flagged.
    diff = warehouse.execute(
        """select m.month_start, m.billed_reporting, i.billed
        from marts.collections_monthly as m
        full join (
            select date_trunc('month', issued_at)::date as month_start,
                sum(amount_due_reporting) as billed
            from marts.fct_invoices where is_receivable group by 1
        ) as i on m.month_start = i.month_start
        where m.billed_reporting is distinct from i.billed"""
    ).fetchall()
    assert diff == []
    flows, facts = warehouse.execute(
        """select
            (select (sum(collected_reporting), sum(written_off_reporting), sum(returned_reporting))
             from marts.collections_monthly),
            (select (sum(amount_collected_reporting), sum(amount_written_off_reporting),
                     sum(amount_returned_reporting))
             from marts.fct_invoices)"""
    ).fetchone()
    assert flows == facts
    month_start, coverage_start, month_end, is_complete, days = warehouse.execute(
        "select month_start, coverage_start, month_end, is_complete_month, days_in_period "
        "from marts.collections_monthly order by month_start limit 1"
    ).fetchone()
    (data_start,) = warehouse.execute(
        "select min(issued_at)::date from marts.fct_invoices where is_receivable"
    ).fetchone()
    # The first month starts on the data's first day: partial unless that is the 1st, and its
    # DSO period counts only the days covered.
    assert coverage_start == data_start
    assert is_complete is (data_start == month_start)
    assert days == (month_end - data_start).days + 1


def test_balances_agree_across_marts(warehouse):
    # Month-end balances: the monthly mart, the daily mart (sum over segments) and, at the as-of
    # date, the invoices - equal to the cent.
    rows = warehouse.execute(
        """select m.month_end, m.closing_receivables_reporting,
            coalesce(sum(d.open_receivables_reporting), 0)
        from marts.collections_monthly as m
        left join marts.receivables_daily as d on d.date_day = m.month_end
        group by all"""
    ).fetchall()
    for month_end, closing, daily in rows:
        assert closing == daily, month_end
    (open_now,) = warehouse.execute(
        "select sum(amount_remaining_reporting) from marts.fct_invoices"
    ).fetchone()
    (closing_now,) = warehouse.execute(
        "select closing_receivables_reporting from marts.collections_monthly "
        "order by month_start desc limit 1"
    ).fetchone()
    assert open_now == closing_now


def test_daily_balances_are_sums_of_invoice_cents_per_segment(warehouse):
    # At the as-of date, per currency segment and ageing bucket: receivables_daily = fct_invoices.
    diff = warehouse.execute(
        """with daily as (
            select currency, sum(open_receivables_reporting) as open,
                sum(past_due_reporting) as past_due
            from marts.receivables_daily
            where date_day = (select max(as_of_date) from marts.fct_invoices)
            group by currency
        ),
        invoices as (
            select currency, sum(amount_remaining_reporting) as open,
                sum(amount_remaining_reporting) filter (where ageing_bucket != 'current')
                    as past_due
            from marts.fct_invoices where amount_remaining > 0 group by currency
        )
        select * from daily full join invoices using (currency)
        -- A segment with active subscriptions but nothing open is a 0.00 row of the daily mart.
        where coalesce(daily.open, 0) != coalesce(invoices.open, 0)
            or coalesce(daily.past_due, 0) != coalesce(invoices.past_due, 0)"""
    ).fetchall()
    assert diff == []


def test_recovery_cohorts_count_failed_first_attempts_only(warehouse):
    # The headline population: every invoice in it failed before it was paid; no invoice whose
    # first attempt succeeded is in any recovery population.
    (mixed,) = warehouse.execute(
        """select count(*) from marts.fct_invoices as f
        join marts.fct_payment_attempts as a
            on a.invoice_id = f.invoice_id and a.attempt_number = 1 and a.is_success
        where f.recovery_population is not null"""
    ).fetchone()
    assert mixed == 0
    cohorts, invoices = warehouse.execute(
        """select
            (select sum(invoices_entered) from marts.recovery_cohorts where days_since_entered = 0),
            (select count(*) from marts.fct_invoices where recovery_population = 'failed_payment')"""
    ).fetchone()
    assert cohorts == invoices > 0


def test_billed_per_month_recomputed_from_raw_to_the_cent(warehouse):
    # Independent of the models: the latest version of each raw invoice, its issue-date rate from
    # the fx_rates seed (before a currency's first row, its first rate), each invoice rounded to
    # the cent once, summed by issue month. Reporting currency EUR (the sample's).
    recomputed = warehouse.execute(
        """with invoices as (
            select
                arg_max(currency, (updated_at, _loaded_at, _source_row)) as currency,
                arg_max(amount_due, (updated_at, _loaded_at, _source_row)) as amount_due,
                arg_max(status, (updated_at, _loaded_at, _source_row)) as status,
                arg_max(issued_at, (updated_at, _loaded_at, _source_row)) as issued_at
            from raw.invoices group by invoice_id
        ),
        rates as (
            select upper(currency) as currency, valid_from, rate_to_eur from reference.fx_rates
        ),
        priced as (
            select invoices.*, coalesce(
                (select r.rate_to_eur from rates r where r.currency = upper(invoices.currency)
                    and r.valid_from <= invoices.issued_at::date order by r.valid_from desc limit 1),
                (select r.rate_to_eur from rates r where r.currency = upper(invoices.currency)
                    order by r.valid_from limit 1)) as rate
            from invoices where status not in ('draft', 'void') and amount_due > 0
        )
        select date_trunc('month', issued_at)::date,
            sum(round(amount_due * rate::decimal(18, 10), 2))
        from priced group by 1 order by 1"""
    ).fetchall()
    published = warehouse.execute(
        "select month_start, billed_reporting from marts.collections_monthly order by 1"
    ).fetchall()
    assert recomputed == published
