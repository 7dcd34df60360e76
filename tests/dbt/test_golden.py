"""The golden billing history (tests/fixtures/golden/README.md) built end to end through the
ingestion and dbt: every published headline figure compared with numbers worked out by hand.

The story, as of 2026-04-30 (the latest event: a customer record updated at 12:00):
S01 pays every month (+ a voided manual invoice). S02: January soft decline, retry 48 h later
succeeds. S03: February fails twice, email, customer pays. S04: March expired card, switches to
SEPA, retry succeeds. S05: February fails 4x, 2-instalment plan pays it on Mar 15 and Apr 14.
S06 (200): February stolen card, cancelled for non-payment Mar 1, collections Mar 20, written
off Apr 20. S07 (200): pays January only. S08 (200): February recovered through collections on
Mar 10. S09 (100 USD, 30-day terms): April fails, not yet due. S10 (yearly 1200, started Mar 10):
never pays. April also has S02's manual 50 EUR invoice issued and due late on Apr 10, charged
successfully at its first attempt at 00:05 on Apr 11 (never a recovery), and three 1.05 USD manual
invoices on S09, issued Apr 20, due May 20, open: each is 1.05 / 1.1760 = 0.892857 EUR, 0.89 in
cents, so their unrounded sum (2.678571 -> 2.68) is a cent off the sum of their cents (2.67): X3.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

# The ECB's reference rates, USD per 1 EUR (the fx_rates seed, `arrears fx-rates`). A USD invoice
# converts at its issue date's rate: that day's publication, or the last one before it on a
# weekend or TARGET holiday. EUR per USD = 1 / rate, to 10 decimals as the seed stores it.
ECB_USD_PER_EUR = {
    date(2026, 1, 1): Decimal("1.1750"),  # New Year's Day, no fixing: 2025-12-31's rate
    date(2026, 2, 1): Decimal("1.1919"),  # a Sunday: Friday 2026-01-30's rate
    date(2026, 3, 1): Decimal("1.1805"),  # a Sunday: Friday 2026-02-27's rate
    date(2026, 4, 1): Decimal("1.1605"),  # 2026-04-01
    date(2026, 4, 20): Decimal("1.1760"),  # 2026-04-20
    date(2026, 4, 30): Decimal("1.1702"),  # 2026-04-30, the as-of date: the closing rate
}


def eur(usd, day: date) -> Decimal:
    """A USD amount in EUR cents at `day`'s rate, rounded once (as the ledger does)."""
    per_usd = (1 / ECB_USD_PER_EUR[day]).quantize(Decimal("0.0000000001"))
    return (Decimal(usd) * per_usd).quantize(Decimal("0.01"), ROUND_HALF_UP)


# S09's 100 USD invoices of each month, in EUR cents at their issue date: 100 / 1.1750 =
# 85.106383 -> 85.11; 100 / 1.1919 = 83.899656 -> 83.90; 100 / 1.1805 = 84.709869 -> 84.71;
# 100 / 1.1605 = 86.169754 -> 86.17.
UC1, UC2, UC3, UC4 = (eur(100, date(2026, m, 1)) for m in (1, 2, 3, 4))
assert [str(c) for c in (UC1, UC2, UC3, UC4)] == ["85.11", "83.90", "84.71", "86.17"]
X3 = 3 * eur("1.05", date(2026, 4, 20))  # S09's three 1.05 USD manual invoices: 3 x 0.89 = 2.67
MIDNIGHT = 50  # S02's manual invoice, paid at its first attempt 5 minutes after its due date


def money(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.01"))


def rate(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.000001"))


def rate4(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.0001"))


@pytest.fixture(scope="module")
def wh(golden_warehouse):
    return golden_warehouse


def by_month(wh, table, key="month_start"):
    return {r[key]: r for r in wh.query_dicts(f"select * from marts.{table}")}


def test_collections_monthly_flows_and_balances(wh):
    months = by_month(wh, "collections_monthly")
    assert list(months) == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    jan, feb, mar, apr = (months[date(2026, m, 1)] for m in (1, 2, 3, 4))
    # Billed: 5 x 100 (S01-S05) + 3 x 200 (S06-S08) + S09; March adds S10's 1200, loses S06.
    assert [m["billed_reporting"] for m in (jan, feb, mar, apr)] == [
        1100 + UC1,
        1100 + UC2,
        2100 + UC3,
        900 + UC4 + MIDNIGHT + X3,
    ]
    # Collected: Jan everything; Feb S01, S02, S04 + S03 (Feb 5) + S09; Mar S01-S04, S05's March
    # invoice and first instalment (50), S08's Feb (Mar 10) and March, S09; Apr S01-S04, S05's
    # April and last instalment, S08.
    assert [m["collected_reporting"] for m in (jan, feb, mar, apr)] == [
        1100 + UC1,
        400 + UC2,
        950 + UC3,
        750 + MIDNIGHT,
    ]
    # Gross is netted of R1 (10 EUR refunded Feb 3 on S01's February payment) and D1 (S01's
    # March payment, 100 EUR, chargeback lost on Apr 10); neither reopens the invoice.
    assert [m["returned_reporting"] for m in (jan, feb, mar, apr)] == [0, 10, 0, 100]
    assert [m["net_collected_reporting"] for m in (jan, feb, mar, apr)] == [
        1100 + UC1,
        390 + UC2,
        950 + UC3,
        650 + MIDNIGHT,
    ]
    assert [m["written_off_reporting"] for m in (jan, feb, mar, apr)] == [0, 0, 0, 200]
    # Closing: end Feb S05, S06, S07, S08 Feb invoices (700); end Mar S05 Feb (50 left), S06,
    # S07 Feb+Mar, S10 (1850); end Apr S07 x3 + S10 + S09 April (not due).
    assert [m["closing_receivables_reporting"] for m in (jan, feb, mar, apr)] == [
        0,
        700,
        1850,
        1800 + UC4 + X3,
    ]
    assert [m["opening_receivables_reporting"] for m in (jan, feb, mar, apr)] == [0, 0, 700, 1850]
    assert [m["closing_current_reporting"] for m in (jan, feb, mar, apr)] == [0, 0, 0, UC4 + X3]
    # The data starts on Jan 1 and the as-of is Apr 30: every month is covered in full.
    assert all(m["is_complete_month"] for m in (jan, feb, mar, apr))
    assert [m["coverage_start"] for m in (jan, feb, mar, apr)] == list(months)
    # The identity, exactly: opening + billed - net collected - returned - written off = closing.
    for m in (jan, feb, mar, apr):
        assert (
            m["opening_receivables_reporting"] + m["billed_reporting"]
            - m["net_collected_reporting"] - m["returned_reporting"]
            - m["written_off_reporting"]
        ) == m["closing_receivables_reporting"]  # fmt: skip


def test_the_as_of_balance_is_published_identically_to_the_cent(wh):
    # S09's April invoice and the three 1.05 USD invoices: unrounded 86.169754 + 2.678571 =
    # 88.848325 -> 88.85; the sum of their cents is 86.17 + 3 x 0.89 = 88.84. Every mart publishes
    # 88.84 for them, and 1800 + 88.84 in all (S07 x 3 and S10, in EUR).
    (invoices,) = wh.query(
        "select sum(amount_remaining_reporting) from marts.fct_invoices where currency = 'USD'"
    )[0]
    (daily,) = wh.query(
        "select sum(open_receivables_reporting) from marts.receivables_daily "
        "where date_day = '2026-04-30' and currency = 'USD'"
    )[0]
    assert invoices == daily == UC4 + X3 == Decimal("88.84")
    totals = wh.query(
        """select
            (select sum(amount_remaining_reporting) from marts.fct_invoices),
            (select sum(open_receivables_reporting) from marts.receivables_daily
             where date_day = '2026-04-30'),
            (select closing_receivables_reporting from marts.collections_monthly
             where month_start = '2026-04-01')"""
    )[0]
    assert totals == (Decimal("1888.84"),) * 3
    # Every monthly flow is the sum of the invoice facts of the month, to the cent.
    (billed_april, collected_total, written_off_total, returned_total) = wh.query(
        """select
            sum(amount_due_reporting) filter (where is_receivable and issued_at >= '2026-04-01'),
            sum(amount_collected_reporting), sum(amount_written_off_reporting),
            sum(amount_returned_reporting)
        from marts.fct_invoices"""
    )[0]
    flows = wh.query(
        """select sum(billed_reporting) filter (where month_start = '2026-04-01'),
            sum(collected_reporting), sum(written_off_reporting), sum(returned_reporting)
        from marts.collections_monthly"""
    )[0]
    assert flows == (billed_april, collected_total, written_off_total, returned_total)
    assert billed_april == Decimal("1038.84")  # 900 + 86.17 + 50 + 2.67


def test_open_foreign_currency_balances_are_revalued_at_the_closing_rate(wh):
    # The as-of date's rate (2026-04-30: 1.1702 USD per EUR) revalues what is still open; the
    # historical cents stay in every balance and flow. S09's April invoice: 100 / 1.1702 =
    # 85.455478 -> 85.46 against 86.17 at issue, -0.71. Each 1.05 USD invoice: 1.05 / 1.1702 =
    # 0.897282 -> 0.90 against 0.89, +0.01. An EUR invoice is unchanged (S07's April one).
    inv = {r["invoice_id"]: r for r in wh.query_dicts("select * from marts.fct_invoices")}
    closing = eur(100, date(2026, 4, 30))
    assert closing == Decimal("85.46")
    s09 = inv["I-S09-04"]
    assert (s09["amount_remaining_reporting_at_closing_rate"], s09["fx_revaluation_reporting"]) == (
        closing,
        closing - UC4,
    )
    assert s09["fx_revaluation_reporting"] == Decimal("-0.71")
    for i in (1, 2, 3):
        x = inv[f"I-S09-X{i}"]
        assert (x["amount_remaining_reporting_at_closing_rate"], x["fx_revaluation_reporting"]) == (
            Decimal("0.90"),
            Decimal("0.01"),
        )
    s07 = inv["I-S07-04"]
    assert (s07["amount_remaining_reporting_at_closing_rate"], s07["fx_revaluation_reporting"]) == (
        200,
        0,
    )
    # A settled invoice has nothing to revalue.
    assert (inv["I-S09-03"]["amount_remaining_reporting_at_closing_rate"],) == (0,)
    # Month ends: nothing in USD was open at the end of January-March (S09 paid on the day); at
    # the end of April 1800 (EUR) + 85.46 + 3 x 0.90 = 1888.16, a revaluation of -0.71 + 0.03.
    months = by_month(wh, "collections_monthly")
    assert [
        (m["closing_receivables_reporting_at_closing_rate"], m["fx_revaluation_reporting"])
        for m in months.values()
    ] == [(0, 0), (700, 0), (1850, 0), (Decimal("1888.16"), Decimal("-0.68"))]


def test_dso_and_cei(wh):
    months = by_month(wh, "collections_monthly")
    feb, mar, apr = (months[date(2026, m, 1)] for m in (2, 3, 4))
    assert months[date(2026, 1, 1)]["dso_days"] == 0
    # Ratios of the published cents (UC2 = 83.90, not 83.899656).
    assert feb["dso_days"] == money(700 / (1100 + UC2) * 28)
    assert mar["dso_days"] == money(1850 / (2100 + UC3) * 31)
    apr_billed, apr_closing = 900 + UC4 + MIDNIGHT + X3, 1800 + UC4 + X3
    assert apr["dso_days"] == money(apr_closing / apr_billed * 30)
    assert months[date(2026, 1, 1)]["cei_pct"] == 100
    # CEI = (opening + billed - closing) / (opening + billed - closing current) x 100
    assert feb["cei_pct"] == rate4((400 + UC2) / (1100 + UC2) * 100)
    assert mar["cei_pct"] == rate4((950 + UC3) / (2800 + UC3) * 100)
    # April: 1850 + 1038.84 billed - 1888.84 closing = 1000, over 1850 + 1038.84 - 88.84 current.
    assert apr["cei_pct"] == rate4(Decimal(1000) / 2800 * 100)


def test_roll_rates(wh):
    months = by_month(wh, "collections_monthly")
    mar, apr = months[date(2026, 3, 1)], months[date(2026, 4, 1)]
    # End Feb 1-30: S05, S06, S07, S08 (700). End Mar in 31-60: S05 (50 left), S06, S07 (450).
    assert mar["roll_rate_1_30_to_31_60"] == rate(450 / 700)
    # End Mar 31-60: S05 50, S06 200, S07 200; end Apr only S07's Feb sits in 61-90.
    assert apr["roll_rate_31_60_to_61_90"] == rate(200 / 450)
    # End Mar 1-30: S07 March and S10 (1400); both are 31-60 at end Apr.
    assert apr["roll_rate_1_30_to_31_60"] == 1
    # Nothing was current at any month end before April: no current -> 1-30 roll rate.
    assert all(m["roll_rate_current_to_1_30"] is None for m in months.values())
    assert months[date(2026, 2, 1)]["roll_rate_1_30_to_31_60"] is None  # end Jan: nothing open


def test_first_payment_default_churn_and_write_off(wh):
    months = by_month(wh, "collections_monthly")
    jan, feb, mar, apr = (months[date(2026, m, 1)] for m in (1, 2, 3, 4))
    # January: S01-S09 start, all first invoices paid on time. March: S10 starts, its first
    # invoice (due Mar 24) is still open 30 days later (Apr 23).
    assert (
        jan["new_subscriptions"],
        jan["first_invoices_matured"],
        jan["first_payment_defaults"],
    ) == (9, 9, 0)
    assert (
        mar["new_subscriptions"],
        mar["first_payment_defaults"],
        mar["first_payment_default_rate"],
    ) == (1, 1, 1)
    # Involuntary churn: S06 cancelled for non-payment on Mar 1, 9 active at March's start.
    assert [m["active_subscriptions_at_month_start"] for m in (jan, feb, mar, apr)] == [0, 9, 9, 9]
    assert mar["involuntary_churn_rate"] == rate(1 / 9)
    assert feb["involuntary_churn_rate"] == 0 and apr["involuntary_churn_rate"] == 0
    # Write-off rate by billing month: S06's February invoice.
    assert feb["write_off_rate"] == rate(200 / (1100 + UC2))
    assert jan["write_off_rate"] == 0 and mar["write_off_rate"] == 0


def test_receivables_daily_history(wh):
    rows = wh.query_dicts(
        """select date_day, sum(open_invoices) as open_invoices,
            sum(open_receivables_reporting) as open, sum(current_reporting) as current,
            sum(past_due_1_30_reporting) as b1, sum(past_due_31_60_reporting) as b31,
            sum(past_due_61_90_reporting) as b61, sum(past_due_91_plus_reporting) as b91,
            sum(active_subscriptions) as active, sum(delinquent_subscriptions) as delinquent,
            sum(revenue_at_risk_reporting) as at_risk
        from marts.receivables_daily group by date_day"""
    )
    day = {r["date_day"]: r for r in rows}
    assert min(day) == date(2026, 1, 1) and max(day) == date(2026, 4, 30)
    # Jan 1: S02's January invoice failed and is open (current) overnight.
    assert (day[date(2026, 1, 1)]["open"], day[date(2026, 1, 1)]["current"]) == (100, 100)
    # Feb 20: four February invoices 1-30 days late; all 9 subscriptions active, 4 delinquent.
    feb20 = day[date(2026, 2, 20)]
    assert (feb20["open"], feb20["b1"], feb20["active"], feb20["delinquent"], feb20["at_risk"]) == (
        700,
        700,
        9,
        4,
        700,
    )
    # Mar 1: + S04 and S07 March invoices (failed, not yet due); S06 cancelled that day drops
    # out of active and delinquent counts: 8 active, delinquent S05, S07, S08 (MRR 500).
    mar1 = day[date(2026, 3, 1)]
    assert (mar1["open_invoices"], mar1["open"], mar1["current"], mar1["b1"]) == (6, 1000, 300, 700)
    assert (mar1["active"], mar1["delinquent"], mar1["at_risk"]) == (8, 3, 500)
    # As-of day: 1-30 S07 April; 31-60 S07 March + S10; 61-90 S07 February; current S09.
    apr30 = day[date(2026, 4, 30)]
    assert (apr30["b1"], apr30["b31"], apr30["b61"], apr30["b91"]) == (200, 1400, 200, 0)
    assert apr30["open"] == 1800 + UC4 + X3 and apr30["current"] == UC4 + X3
    # Active: S01-S05, S07-S10; delinquent: S07 (MRR 200) and S10 (1200 / 12).
    assert (apr30["active"], apr30["delinquent"], apr30["at_risk"]) == (9, 2, 300)


def test_delinquency_rates_as_of(wh):
    (amount_rate, count_rate) = wh.query(
        """select sum(past_due_reporting) / sum(open_receivables_reporting),
            sum(delinquent_subscriptions) / sum(active_subscriptions)
        from marts.receivables_daily where date_day = '2026-04-30'"""
    )[0]
    assert amount_rate == pytest.approx(1800 / float(1800 + UC4 + X3))
    assert count_rate == pytest.approx(2 / 9)


def test_fct_invoices_as_of(wh):
    inv = {r["invoice_id"]: r for r in wh.query_dicts("select * from marts.fct_invoices")}
    assert len(inv) == 40  # 39 billing invoices + the voided one
    assert (inv["I-S07-02"]["days_past_due"], inv["I-S07-02"]["ageing_bucket"]) == (74, "61-90")
    assert (inv["I-S07-03"]["days_past_due"], inv["I-S07-03"]["ageing_bucket"]) == (46, "31-60")
    assert (inv["I-S07-04"]["days_past_due"], inv["I-S07-04"]["ageing_bucket"]) == (15, "1-30")
    assert (inv["I-S10-01"]["days_past_due"], inv["I-S10-01"]["ageing_bucket"]) == (37, "31-60")
    assert (inv["I-S09-04"]["ageing_bucket"], inv["I-S09-04"]["amount_due_reporting"]) == (
        "current",
        UC4,
    )
    assert {inv[f"I-S09-X{i}"]["amount_remaining_reporting"] for i in (1, 2, 3)} == {
        Decimal("0.89")
    }
    # Paid at its first attempt at 00:05, 20 minutes after its due time: never in recovery.
    midnight = inv["I-S02-M"]
    assert (midnight["recovery_population"], midnight["entered_recovery_at"]) == (None, None)
    assert (midnight["recovery_channel"], midnight["amount_collected_reporting"]) == (None, 50)
    # Returned money: R1 on S01's February payment, D1 on its March payment; still paid.
    assert (inv["I-S01-02"]["amount_returned_reporting"], inv["I-S01-02"]["status"]) == (10, "paid")
    assert (inv["I-S01-03"]["amount_returned"], inv["I-S01-03"]["amount_remaining"]) == (100, 0)
    # S10's first invoice failed at its first attempt: the headline population.
    assert inv["I-S10-01"]["recovery_population"] == "failed_payment"
    # Days late at payment / write-off: S05 paid Apr 14 (due Feb 15), S06 written off Apr 20.
    assert inv["I-S05-02"]["days_past_due"] == 58 and inv["I-S05-02"]["ageing_bucket"] is None
    assert inv["I-S06-02"]["amount_written_off"] == 200 and inv["I-S06-02"]["amount_remaining"] == 0
    # The void invoice is kept but is no receivable.
    assert inv["I-S01-V"]["is_receivable"] is False and inv["I-S01-V"]["days_past_due"] is None
    # Latest version wins: S05's February invoice went open -> partly paid -> paid.
    assert (inv["I-S05-02"]["status"], inv["I-S05-02"]["amount_paid"]) == ("paid", 100)


def test_recovery_cohorts(wh):
    cohorts = {
        r["cohort_month"]: r
        for r in wh.query_dicts(
            "select * from marts.recovery_cohorts where days_since_entered = 60"
        )
    }
    jan, feb, mar, apr = (cohorts[date(2026, m, 1)] for m in (1, 2, 3, 4))
    # Entered: Jan S02; Feb S03, S05, S06, S07, S08; Mar S04, S07, S10; Apr S07, S09 - every one
    # at a failed first attempt. Not S02's midnight invoice (paid at its first attempt).
    assert [c["invoices_entered"] for c in (jan, feb, mar, apr)] == [1, 5, 3, 2]
    assert all(c["is_complete_month"] for c in (jan, feb, mar, apr))
    # No golden invoice is paid late without an attempt: no late-payment cohort.
    assert wh.query("select count(*) from marts.late_payment_cohorts") == [(0,)]
    # Within 60 days: Jan S02 (2 d); Feb S03 (4 d), S08 (37 d) — S05 took 72 days.
    assert (jan["cohort_recovery_rate"], jan["cohort_median_days_to_recovery"]) == (1, 2)
    assert (feb["cohort_recovery_rate"], feb["cohort_median_days_to_recovery"]) == (
        rate(0.4),
        Decimal("20.5"),
    )
    assert feb["cohort_recovered_revenue_rate"] == rate(300 / 800)
    assert feb["cohort_recovered_revenue_reporting"] == 300
    # March is censored: only the Mar 1 entries (S04 recovered in 6 d, S07 not) have had 60 days.
    assert (mar["is_window_elapsed"], mar["cohort_invoices_window_elapsed"]) == (False, 2)
    assert mar["cohort_recovery_rate"] == rate(0.5)
    assert (mar["invoices_observed"], mar["invoices_recovered"], mar["recovered_share"]) == (
        2,
        1,
        rate(0.5),
    )
    assert apr["cohort_recovery_rate"] is None and apr["invoices_observed"] == 0
    # The curve: February on day 4 has S03 back (1 of 5), by day 37 S08 too.
    curve = dict(
        wh.query(
            "select days_since_entered, recovered_share from marts.recovery_cohorts "
            "where cohort_month = '2026-02-01'"
        )
    )
    assert (curve[3], curve[4], curve[36], curve[37]) == (0, rate(0.2), rate(0.2), rate(0.4))


def test_recovery_by_channel(wh):
    rows = wh.query(
        "select cohort_month, recovery_channel, invoices_recovered, amount_recovered_reporting "
        "from marts.recovery_by_channel order by 1, 2"
    )
    assert rows == [
        (date(2026, 1, 1), "automatic_retry", 1, 100),
        (date(2026, 2, 1), "collections", 1, 200),
        (date(2026, 2, 1), "payment_plan", 1, 100),
        (date(2026, 2, 1), "reminder", 1, 100),
        # S04 also got an email before paying, but the switch to SEPA comes first.
        (date(2026, 3, 1), "new_payment_method", 1, 100),
    ]


def test_fct_payment_attempts(wh):
    (attempts, failed, unknown, soft, hard, fraud, verification) = wh.query(
        """select count(*), count(*) filter (where not is_success),
            count(*) filter (where decline_class = 'unknown'),
            count(*) filter (where decline_class = 'soft'),
            count(*) filter (where decline_class = 'hard'),
            count(*) filter (where decline_class = 'fraud'),
            count(*) filter (where invoice_id is null)
        from marts.fct_payment_attempts"""
    )[0]
    assert (attempts, failed, verification) == (52, 20, 1)
    # S07's April decline code is not in the seed; S04 expired card; S06 stolen card.
    assert (unknown, hard, fraud, soft) == (1, 1, 1, 17)
    (hours,) = wh.query(
        "select hours_since_previous_attempt from marts.fct_payment_attempts "
        "where invoice_id = 'I-S02-01' and attempt_number = 2"
    )[0]
    assert hours == 48


def test_retry_performance(wh):
    rows = {
        (r[0], r[1]): (r[2], r[3])
        for r in wh.query(
            "select dimension, dimension_value, attempts, successes from marts.retry_performance"
        )
    }
    # First attempts on the 36 invoices with attempts: 25 succeed (with S02's midnight one).
    assert rows[("attempt_number", "1")] == (36, 25)
    # Second: S02 ok, S03, S05, S07, S08, S10 fail, S04 ok on SEPA.
    assert rows[("attempt_number", "2")] == (7, 2)
    assert rows[("attempt_number", "3")] == (5, 2)
    # Retries after soft declines: 13, of which S02, S03, S05's first instalment, S08 succeed.
    assert rows[("previous_decline_class", "soft")] == (13, 4)
    assert rows[("previous_decline_class", "hard")] == (1, 1)


def test_dunning_funnel(wh):
    rows = wh.query(
        """select sent_month, channel, template, messages_sent, messages_opened, messages_clicked,
            messages_measured, invoices_paid_in_window
        from marts.dunning_funnel order by 1, 2, 3"""
    )
    assert rows == [
        (date(2026, 2, 1), "email", "payment_failed", 1, 1, 1, 1, 1),  # S03 paid next day
        (date(2026, 2, 1), "sms", "retry_notice", 1, 0, 0, 1, 0),  # S07
        (date(2026, 3, 1), "email", "final_notice", 1, 1, 0, 1, 0),  # S07
        (date(2026, 3, 1), "email", "payment_failed", 1, 0, 0, 1, 1),  # S04 paid 5 days later
        (date(2026, 3, 1), "email", "plan_offer", 1, 1, 1, 1, 0),  # S05 paid 37 days later
        (date(2026, 4, 1), "email", "payment_failed", 1, 0, 0, 0, 0),  # S10, window still open
    ]


def test_metric_settings_publish_the_windows_the_marts_were_built_with(wh):
    # The pages say "within 60 days" and "within 7 days" from these rows (queries.window_days).
    rows = wh.query("select setting, value, unit from marts.metric_settings order by setting")
    assert rows == [
        ("dispute_baseline_days", "28", "days"),
        ("dispute_min_history_days", "14", "days"),
        ("dunning_attribution_days", "7", "days"),
        ("failure_rate_baseline_weeks", "6", "weeks"),
        ("failure_rate_min_attempts", "20", "attempts"),
        ("plan_grace_days", "7", "days"),
        ("recovery_window_days", "60", "days"),
        ("reporting_currency", "EUR", "currency"),
        ("risk_days_past_due", "30", "days"),
        ("risk_feature_window_days", "90", "days"),
        ("risk_horizon_days", "60", "days"),
    ]


def test_payment_plan_outcome(wh):
    [plan] = wh.query_dicts("select * from marts.payment_plan_outcomes")
    assert (plan["payment_plan_id"], plan["outcome"], plan["instalments_paid"]) == (
        "P1",
        "completed",
        2,
    )
    assert (plan["instalments_missed"], plan["amount_collected_reporting"]) == (0, 100)


def test_prevention_effects(wh):
    rows = {
        (r["dimension"], r["group_value"]): r
        for r in wh.query_dicts("select * from marts.prevention_effects")
    }
    verified, not_verified = (
        rows[("is_verified", "verified")],
        rows[("is_verified", "not_verified")],
    )
    # Verified (S01-S06): 23 invoices due, 3 went past due (S05 Feb, S06 Feb, and S02's midnight
    # invoice: paid the day after its due date); 23 payments, 1 chargeback.
    assert (verified["invoices_due"], verified["invoices_past_due_ever"]) == (23, 3)
    assert (verified["successful_payments"], verified["disputes"]) == (23, 1)
    assert verified["dispute_rate"] == rate(1 / 23)
    # Unverified (S07-S10): 12 due (S09's April and 1.05 USD ones are not), 5 past due (S07 x3,
    # S08 Feb, S10).
    assert (not_verified["invoices_due"], not_verified["invoices_past_due_ever"]) == (12, 5)
    assert not_verified["delinquency_rate"] == rate(1800 / (1800 + UC4 + X3))
    # 3-D Secure by first card attempt: with 13 invoices due, 2 late (S08 Feb, S10); without: 21,
    # 6 (with S02's midnight invoice, charged without 3-D Secure).
    assert (
        rows[("used_3ds", "3ds")]["invoices_due"],
        rows[("used_3ds", "3ds")]["invoices_past_due_ever"],
    ) == (13, 2)
    assert (
        rows[("used_3ds", "no_3ds")]["invoices_due"],
        rows[("used_3ds", "no_3ds")]["invoices_past_due_ever"],
    ) == (21, 6)
    assert rows[("used_3ds", "no_3ds")]["dispute_rate"] == rate(1 / 17)


def test_pii_is_masked(wh):
    customers = {r["customer_id"]: r for r in wh.query_dicts("select * from marts.dim_customers")}
    assert customers["C10"]["email_masked"] == "j***@***.org"
    # The domain is masked; its hash groups the same domain (C01-C09 @example.com) apart from C10.
    domains = {r["customer_id"]: r["email_domain_hash"] for r in customers.values()}
    assert len({domains[c] for c in ("C01", "C02", "C09")}) == 1
    assert domains["C10"] != domains["C01"] and len(domains["C10"]) == 64
    assert len(customers["C01"]["customer_hash"]) == 64
    # No raw email or name in any published column.
    columns = wh.query(
        "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    )
    assert not [c for c in columns if c[1] in ("email", "name", "customer_name", "ip_address")]
    (leaks,) = wh.query(
        "select count(*) from marts.dim_customers where customer_hash like '%@%' or email_masked like 'alice%'"
    )[0]
    assert leaks == 0


def test_dim_subscriptions_mrr(wh):
    subs = {
        r["subscription_id"]: r for r in wh.query_dicts("select * from marts.dim_subscriptions")
    }
    assert subs["S10"]["mrr"] == 100 and subs["S10"]["mrr_reporting"] == 100  # 1200 / 12
    # MRR converts at the as-of date's rate: 100 / 1.1702 = 85.455478 -> 85.46.
    assert subs["S09"]["mrr_reporting"] == eur(100, date(2026, 4, 30)) == Decimal("85.46")
    assert subs["S06"]["is_involuntary_churn"] and not subs["S06"]["is_active"]


def test_first_attempt_failure_rate_per_month_and_segment(wh):
    rows = wh.query(
        """select month_start, sum(invoices_first_attempted), sum(first_attempts_failed),
            sum(amount_first_attempted_reporting), sum(amount_first_attempt_failed_reporting),
            bool_and(is_complete_month)
        from marts.first_attempt_failures_monthly group by month_start order by month_start"""
    )
    # Recurring invoices only (the manual ones are not). Jan: S01-S09, S02 fails. Feb: S03, S05,
    # S06, S07, S08 fail. Mar: S01-S05, S07-S09 and S10 (S06 cancelled); S04, S07, S10 fail.
    # Apr: S01-S05, S07-S09; S07 and S09 fail.
    assert rows == [
        (date(2026, 1, 1), 9, 1, 1100 + UC1, 100, True),
        (date(2026, 2, 1), 9, 5, 1100 + UC2, 800, True),
        (date(2026, 3, 1), 9, 3, 2100 + UC3, 1500, True),
        (date(2026, 4, 1), 8, 2, 900 + UC4, 200 + UC4, True),
    ]
    # Per segment: S09 (starter, USD) fails once, in April, of its four first attempts.
    usd = wh.query(
        """select month_start, first_attempt_failure_rate, first_attempt_amount_failure_rate
        from marts.first_attempt_failures_monthly where currency = 'USD' order by 1"""
    )
    assert [r[1] for r in usd] == [0, 0, 0, 1] and usd[3][2] == 1
    [feb_growth] = wh.query(
        """select sum(first_attempts_failed) / sum(invoices_first_attempted)
        from marts.first_attempt_failures_monthly
        where month_start = '2026-02-01' and plan = 'growth'"""
    )
    assert feb_growth == (1.0,)  # S06, S07, S08 all failed at their first February attempt
