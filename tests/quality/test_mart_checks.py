"""Checks on the marts of the generated sample (built once per session by the real pipeline):
the clean sample passes every check, and a crafted fault in a mart fails exactly its check."""

import re

import pytest

from data_quality.core import QualityConfig, dispersion, drift_limits
from data_quality.marts import mart_checks
from data_quality.raw import raw_checks
from data_quality.runner import run_checks
from tests.quality.conftest import SAMPLE_NOW

MART_CHECKS = mart_checks()
ALL_CHECKS = raw_checks() + MART_CHECKS


def run(con, checks=MART_CHECKS, **config):
    """Results by suite name. The tampering below touches marts only, which no raw check reads:
    the mart checks are the ones that can change their verdict."""
    results = run_checks(con, checks, QualityConfig(reference_time=SAMPLE_NOW, **config))
    return {r.check.suite_name: r for r in results}


def failed(results) -> dict[str, str]:
    return {name: r.message for name, r in results.items() if not r.passed}


def test_the_clean_generated_sample_passes_every_check(sample_warehouse):
    results = run(sample_warehouse, ALL_CHECKS)
    assert len(results) == 71
    assert failed(results) == {}
    # What the checks saw, recomputed here without them.
    (invoices,) = sample_warehouse.execute("select count(*) from marts.fct_invoices").fetchone()
    reconcile = results["marts.fct_invoices.reconciles_with_raw"].observed
    assert reconcile["raw_invoices"] == reconcile["mart_invoices"] == invoices
    failed_attempts, hard = sample_warehouse.execute(
        "select count(*) filter (where not is_success), "
        "count(*) filter (where decline_class in ('hard', 'fraud')) from marts.fct_payment_attempts"
    ).fetchone()
    recent_failed, recent_hard = sample_warehouse.execute(
        "select count(*) filter (where not is_success), "
        "count(*) filter (where decline_class in ('hard', 'fraud')) from marts.fct_payment_attempts "
        "where attempted_at > (select max(attempted_at) from marts.fct_payment_attempts) "
        "- interval 7 day"
    ).fetchone()
    mix = results["marts.fct_payment_attempts.decline_mix"].observed
    assert mix["earlier_failed_attempts"] == failed_attempts - recent_failed
    assert mix["recent_hard_decline_share"] == pytest.approx(recent_hard / recent_failed, abs=1e-6)


def test_reconciliation_a_lost_invoice_and_a_restated_amount(sample_warehouse):
    con = sample_warehouse
    lost, lost_currency, lost_status = con.execute(
        "select invoice_id, currency, status from marts.fct_invoices "
        "where status = 'paid' order by invoice_id limit 1"
    ).fetchone()
    con.execute("delete from marts.fct_invoices where invoice_id = ?", [lost])
    raw_count, raw_due = con.execute(
        "select count(*), sum(amount_due) from ("
        "select * from raw.invoices qualify row_number() over (partition by invoice_id "
        "order by updated_at desc, _loaded_at desc, _source_row desc) = 1) "
        "where currency = ? and status = ?",
        [lost_currency, lost_status],
    ).fetchone()
    mart_count, mart_due = con.execute(
        "select count(*), sum(amount_due) from marts.fct_invoices where currency = ? and status = ?",
        [lost_currency, lost_status],
    ).fetchone()
    assert mart_count == raw_count - 1

    results = run(con)

    assert failed(results) == {
        "marts.fct_invoices.reconciles_with_raw": "marts.fct_invoices.reconciles_with_raw failed: "
        "groups_with_count_gap = 1 (expected groups_with_count_gap = 0): "
        f"{lost_currency}/{lost_status}: raw {raw_count} invoices {raw_due:.2f}, "
        f"mart {mart_count} invoices {mart_due:.2f}; "
        "groups_with_amount_gap = 1 (expected groups_with_amount_gap = 0): "
        f"{lost_currency}/{lost_status}: raw {raw_count} invoices {raw_due:.2f}, "
        f"mart {mart_count} invoices {mart_due:.2f}."
    }
    assert results["marts.fct_invoices.reconciles_with_raw"].check.severity == "ERROR"


def test_ageing_buckets_that_do_not_add_up(sample_warehouse):
    con = sample_warehouse
    as_of = con.execute("select max(as_of_date) from marts.fct_invoices").fetchone()[0]
    day, plan, country, method, currency = con.execute(
        "select date_day, plan, country, payment_method, currency from marts.receivables_daily "
        "where date_day < ? and current_reporting >= 10 order by all limit 1",
        [as_of],
    ).fetchone()
    # 10.00 more in 91+ than the row's open receivables account for.
    con.execute(
        "update marts.receivables_daily set past_due_91_plus_reporting = "
        "past_due_91_plus_reporting + 10 where date_day = ? and plan = ? and country = ? "
        "and payment_method = ? and currency = ?",
        [day, plan, country, method, currency],
    )

    assert failed(run(con)) == {
        "marts.receivables_daily.ageing_partition": "marts.receivables_daily.ageing_partition "
        "failed: rows_where_buckets_miss_open = 1 (expected rows_where_buckets_miss_open = 0): "
        f"{day:%Y-%m-%d} {plan}/{country}/{method}/{currency}."
    }


def test_ageing_an_invoice_in_the_wrong_bucket_on_the_as_of_day(sample_warehouse):
    con = sample_warehouse
    invoice, bucket, amount = con.execute(
        "select invoice_id, ageing_bucket, amount_remaining * fx_rate_to_reporting "
        "from marts.fct_invoices where ageing_bucket = 'current' order by invoice_id limit 1"
    ).fetchone()
    con.execute(
        "update marts.fct_invoices set ageing_bucket = '91+' where invoice_id = ?", [invoice]
    )

    results = run(con)

    assert set(failed(results)) == {"marts.receivables_daily.ageing_partition"}
    partition = results["marts.receivables_daily.ageing_partition"]
    assert partition.observed["as_of_buckets_disagreeing_with_invoices"] == 2
    daily = dict(
        con.execute(
            "select bucket, round(amount, 2) from (select sum(current_reporting) as current, "
            "sum(past_due_91_plus_reporting) as over_91 from marts.receivables_daily "
            "where date_day = (select max(as_of_date) from marts.fct_invoices)) "
            "unpivot (amount for bucket in (current, over_91))"
        ).fetchall()
    )
    found = re.findall(r"(current|91\+): receivables_daily (\d+\.\d+) vs fct_invoices (\d+\.\d+)",
                       partition.message)  # fmt: skip
    numbers = {b: (daily_amount, invoices_amount) for b, daily_amount, invoices_amount in found}
    assert bucket == "current" and set(numbers) == {"current", "91+"}
    current_daily, current_invoices = numbers["current"]
    over_91_daily, over_91_invoices = numbers["91+"]
    assert float(current_daily) == float(daily["current"])
    assert float(current_invoices) == pytest.approx(
        float(daily["current"]) - float(amount), abs=0.01
    )
    assert float(over_91_daily) == float(daily["over_91"])
    assert float(over_91_invoices) == pytest.approx(
        float(daily["over_91"]) + float(amount), abs=0.01
    )


def test_a_shift_of_the_decline_mix_is_a_warning(sample_warehouse):
    """A history whose mix is steady (a quarter of the failures hard, by a hash of the id) and
    last 30 days where every failure is hard (a processor re-classing its codes): the recent
    share leaves the band of the data's own history. The sample's real mix varies from month
    to month more than chance (dispersion > 1), which widens the band instead of warning."""
    con = sample_warehouse
    recent = (
        "attempted_at > (select max(attempted_at) from marts.fct_payment_attempts) "
        "- interval 30 day"
    )
    con.execute(
        "update marts.fct_payment_attempts set decline_class = case "
        f"when {recent} or hash(attempt_id) % 4 = 0 then 'hard' else 'soft' end "
        "where not is_success"
    )

    results = run(con, decline_recent_days=30)

    observed = results["marts.fct_payment_attempts.decline_mix"].observed
    high = round(observed["recent_hard_decline_share_high"], 6)
    assert observed["recent_hard_decline_share"] == 1.0 and high < 0.5
    assert failed(results) == {
        "marts.fct_payment_attempts.decline_mix": "marts.fct_payment_attempts.decline_mix failed: "
        f"recent_hard_decline_share = 1.0, recent_hard_decline_share_high = {high} (expected "
        "recent_hard_decline_share ≤ recent_hard_decline_share_high (last 30 days vs before))."
    }
    assert results["marts.fct_payment_attempts.decline_mix"].check.severity == "WARN"


def test_drift_limits_and_dispersion_by_hand():
    config = QualityConfig()
    # p = 20/100, n_recent = 25: 3·√(0.2·0.8/25) = 0.24 around 0.2.
    low, high = drift_limits(config, 20, 100, 25)
    assert (low, high) == (0.0, pytest.approx(0.44))
    # Twice the chance variation doubles the spread: 0.2 ± 0.48.
    assert drift_limits(config, 20, 100, 25, dispersion=2.0) == (0.0, pytest.approx(0.68))
    # Never tighter than 2 points; no baseline below 50 earlier attempts.
    assert drift_limits(config, 0, 100, 25) == (0.0, 0.02)
    assert drift_limits(config, 10, 49, 25) == (None, None)
    # Windows of 100 with 10, 30, 20 hits: pooled 0.2, σ = 0.04, z = −2.5, 2.5, 0: sd = 2.5.
    assert dispersion([(10, 100), (30, 100), (20, 100)]) == pytest.approx(2.5)
    assert dispersion([(20, 100), (20, 100)]) == 1.0  # fewer than 3 windows: chance alone
