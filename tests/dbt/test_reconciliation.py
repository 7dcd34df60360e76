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
            collected_reporting, written_off_reporting, closing_receivables_reporting
        from marts.collections_monthly order by month_start"""
    ).fetchall()
    assert len(months) >= 6
    previous_closing = 0
    for month, opening, billed, collected, written_off, closing in months:
        assert opening == previous_closing, month
        assert abs(opening + billed - collected - written_off - closing) <= 0.03, month
        previous_closing = closing
    assert any(m[4] > 0 for m in months)  # write-offs happen in the sample


def test_balances_agree_across_marts(warehouse):
    # Month-end balances from the daily mart (sum over segments) and the monthly mart.
    rows = warehouse.execute(
        """select m.month_end, m.closing_receivables_reporting, sum(d.open_receivables_reporting),
            count(d.date_day)
        from marts.collections_monthly as m
        left join marts.receivables_daily as d on d.date_day = m.month_end
        group by all"""
    ).fetchall()
    for month_end, closing, daily, segments in rows:
        assert abs(closing - (daily or 0)) <= 0.005 * segments + 0.005, month_end
    # The as-of balance equals the open amounts of the invoices (unrounded).
    (open_now,) = warehouse.execute(
        "select sum(amount_remaining * fx_rate_to_reporting) from marts.fct_invoices"
    ).fetchone()
    (closing_now,) = warehouse.execute(
        "select closing_receivables_reporting from marts.collections_monthly "
        "order by month_start desc limit 1"
    ).fetchone()
    assert abs(float(open_now) - float(closing_now)) <= 0.005
