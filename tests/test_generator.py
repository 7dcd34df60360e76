"""The sample billing data generator: determinism, the contract, invariants, realism, incidents.

Datasets are generated once per session (small ones for shape and invariants, a medium one with
and without incidents for the statistics) and queried with DuckDB, as the pipeline will.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

from orchestration.contract import ENTITIES
from orchestration.generator import GeneratorConfig, generate
from orchestration.generator.columns import decimals, id_strings
from orchestration.generator.timeutil import bill_time, month_index

END = datetime(2026, 11, 24)
SMALL = dict(customers=150, months=4, progress=False)
MEDIUM = dict(customers=4000, months=6, progress=False)


def _make(tmp_path_factory, name: str, **kwargs):
    root = tmp_path_factory.mktemp(name)
    summary = generate(GeneratorConfig(**kwargs), root / "landing")
    return summary


@pytest.fixture(scope="session")
def small(tmp_path_factory):
    return _make(tmp_path_factory, "small", **SMALL)


@pytest.fixture(scope="session")
def small_again(tmp_path_factory):
    return _make(tmp_path_factory, "small_again", **SMALL)


@pytest.fixture(scope="session")
def small_seed8(tmp_path_factory):
    return _make(tmp_path_factory, "small_seed8", **{**SMALL, "seed": 8})


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory):
    return _make(tmp_path_factory, "small_csv", **SMALL, file_format="csv")


@pytest.fixture(scope="session")
def small_jsonl(tmp_path_factory):
    return _make(tmp_path_factory, "small_jsonl", **SMALL, file_format="jsonl")


@pytest.fixture(scope="session")
def medium(tmp_path_factory):
    return _make(tmp_path_factory, "medium", **MEDIUM)


@pytest.fixture(scope="session")
def medium_clean(tmp_path_factory):
    return _make(tmp_path_factory, "medium_clean", **MEDIUM, incidents=False)


def _columns_sql(entity) -> str:
    return "{" + ", ".join(f"'{c.name}': '{c.type}'" for c in entity.columns) + "}"


def _reader(root: Path, entity, file_format: str) -> str:
    files = f"'{root / entity.name}/*.{file_format}'"
    if file_format == "parquet":
        return f"read_parquet({files})"
    if file_format == "csv":
        return f"read_csv({files}, header = true, columns = {_columns_sql(entity)})"
    return f"read_json({files}, format = 'newline_delimited', columns = {_columns_sql(entity)})"


def connect(summary) -> duckdb.DuckDBPyConnection:
    """Views `<entity>` (every version) and `cur_<entity>` (latest version) over a landing."""
    con = duckdb.connect()
    for e in ENTITIES:
        con.execute(
            f"create view {e.name} as select * from {_reader(summary.out_dir, e, summary.file_format)}"
        )
        con.execute(
            f"create view cur_{e.name} as select * from {e.name} "
            f"qualify row_number() over (partition by {e.key} order by updated_at desc) = 1"
        )
    return con


def one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- pure helpers ----------------------------------------------------------------------------
def test_bill_time_keeps_the_anchor_day_and_clips_it_to_short_months():
    anchor = np.datetime64("2026-01-31T06:30:00", "s").astype(np.int64)
    month = month_index(np.array([anchor]))
    times = bill_time(month, 31, 6 * 3600 + 1800, np.arange(4), 1)
    got = [str(np.datetime64(int(t), "s")) for t in times]
    assert got == [
        "2026-01-31T06:30:00", "2026-02-28T06:30:00", "2026-03-31T06:30:00", "2026-04-30T06:30:00",
    ]  # fmt: skip


def test_ids_are_unique_prefixed_and_null_for_missing():
    ids = id_strings("cus_", np.array([0, 1, 2, -1, 61, 62]), salt=12345).to_pylist()
    assert ids[3] is None
    present = [i for i in ids if i is not None]
    assert len(set(present)) == 5
    assert all(i.startswith("cus_") and len(i) == 18 for i in present)
    many = id_strings("x", np.arange(200_000), salt=99).to_pylist()
    assert len(set(many)) == 200_000


def test_decimals_are_exact_cents():
    values = decimals(np.array([1999, 5, 0, 4_990_000])).to_pylist()
    assert values == [Decimal("19.99"), Decimal("0.05"), Decimal("0.00"), Decimal("49900.00")]


# --- determinism -----------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(small, small_again):
    first, second = _digest(small.out_dir), _digest(small_again.out_dir)
    assert len(first) >= len(ENTITIES)
    assert first == second
    assert small.ground_truth_path.read_bytes() == small_again.ground_truth_path.read_bytes()


def test_another_seed_gives_other_data(small, small_seed8):
    a, b = _digest(small.out_dir), _digest(small_seed8.out_dir)
    common = set(a) & set(b)
    assert common and all(a[k] != b[k] for k in common)


def test_the_realistic_profile_is_deterministic_and_adds_units_per_100_customers(tmp_path):
    """Same seed, same bytes; 250 customers make two units of the profile's shapes."""
    config = GeneratorConfig(customers=250, months=2, seed=3, profile="realistic", progress=False)
    runs = [generate(config, tmp_path / name / "landing") for name in ("a", "b")]
    assert _digest(runs[0].out_dir) == _digest(runs[1].out_dir)
    assert runs[0].shapes["zero_amount_invoices"] == 6
    assert runs[0].shapes["quarantined_beyond_tolerance"] == 4
    con = duckdb.connect()
    ids = con.execute(
        f"select invoice_id, amount_due from read_parquet('{runs[0].out_dir}/invoices/*.parquet') "
        "where invoice_id like 'in_rw%' and amount_due = 0 order by 1"
    ).fetchall()
    assert [i for i, _ in ids] == [
        f"in_rw{u}{name}" for u in ("0000", "0001") for name in ("coupon1", "coupon2", "trial0")
    ]
    with pytest.raises(ValueError, match="profile must be one of standard, realistic"):
        generate(GeneratorConfig(customers=5, profile="messy"), tmp_path / "x" / "landing")


# --- the contract ----------------------------------------------------------------------------
def test_every_entity_has_exactly_the_contract_columns_and_types(small):
    con = duckdb.connect()
    for e in ENTITIES:
        files = list((small.out_dir / e.name).glob("*.parquet"))
        assert files, e.name
        described = con.execute(
            f"describe select * from read_parquet('{small.out_dir / e.name}/*.parquet')"
        ).fetchall()
        assert [(row[0], row[1]) for row in described] == [(c.name, c.type) for c in e.columns]


def test_values_stay_in_the_contracts_allowed_sets_and_required_columns_are_filled(small):
    con = connect(small)
    for e in ENTITIES:
        for c in e.columns:
            if c.allowed:
                seen = {
                    r[0] for r in con.execute(f"select distinct {c.name} from {e.name}").fetchall()
                }
                assert seen - {None} <= set(c.allowed), (e.name, c.name, seen)
            if c.required:
                assert one(con, f"select count(*) from {e.name} where {c.name} is null") == 0, (
                    e.name,
                    c.name,
                )
            if c.non_negative:
                assert one(con, f"select count(*) from {e.name} where {c.name} < 0") == 0


def test_foreign_keys_resolve(small):
    con = connect(small)
    checked = 0
    for e in ENTITIES:
        for c in e.columns:
            if c.references and c.name != e.key:
                parent, key = c.references.split(".")
                orphans = one(
                    con,
                    f"select count(*) from {e.name} x where {c.name} is not null and not exists "
                    f"(select 1 from {parent} p where p.{key} = x.{c.name})",
                )
                assert orphans == 0, (e.name, c.name)
                checked += 1
    assert checked == 17  # every reference column of the 11 entities


def test_versions_of_a_record_never_share_an_update_time(medium):
    # Otherwise "the latest version" would be ambiguous for the warehouse.
    con = connect(medium)
    for e in ENTITIES:
        clashes = one(
            con,
            f"select count(*) from (select {e.key}, updated_at from {e.name} group by all having count(*) > 1)",
        )
        assert clashes == 0, e.name


def test_no_record_is_newer_than_the_end_date(small):
    con = connect(small)
    for e in ENTITIES:
        timestamps = [c.name for c in e.columns if c.type == "TIMESTAMP" and c.name != "due_at"]
        for name in timestamps:
            assert one(con, f"select count(*) from {e.name} where {name} >= timestamp '{END}'") == 0


# --- invariants ------------------------------------------------------------------------------
def test_invoice_amounts_dates_and_statuses_agree(medium):
    con = connect(medium)
    bad = {
        "paid more than due": "amount_paid > amount_due",
        "paid before issued": "paid_at < issued_at",
        "due before issued": "due_at < issued_at",
        "paid status without full payment": "status = 'paid' and (amount_paid <> amount_due or paid_at is null)",
        "full payment without paid status": "status <> 'paid' and amount_paid = amount_due",
        "uncollectible without write-off time": "status = 'uncollectible' and written_off_at is null",
    }  # fmt: skip
    for what, where in bad.items():
        assert one(con, f"select count(*) from cur_invoices where {where}") == 0, what
    assert one(con, "select count(*) from invoices where amount_paid > amount_due") == 0


def test_earlier_versions_are_kept_beside_the_final_ones(medium):
    con = connect(medium)
    # Every invoice starts open and unpaid at its issue time; paid ones also have the final version.
    opened = one(
        con,
        "select count(*) from (select invoice_id, min(updated_at) t from invoices group by 1) f "
        "join invoices i on i.invoice_id = f.invoice_id and i.updated_at = f.t "
        "where not (i.status = 'open' and i.amount_paid = 0 and i.updated_at = i.issued_at)",
    )
    voided = one(con, "select count(distinct invoice_id) from invoices where status = 'void'")
    assert opened == 0 and voided > 0
    two = one(
        con,
        "select count(*) from (select invoice_id from invoices group by 1 having count(*) >= 2)",
    )
    paid = one(con, "select count(*) from cur_invoices where status = 'paid'")
    assert two >= paid > 0
    # Subscriptions that went past due and back have that history too.
    history = one(
        con,
        "select count(*) from (select subscription_id from subscriptions group by 1 "
        "having bool_or(status = 'past_due') and count(*) >= 3)",
    )
    assert history > 10


def test_attempts_per_invoice_are_numbered_in_time_order_and_stop_once_paid(medium):
    con = connect(medium)
    disorder = one(
        con,
        "select count(*) from (select attempt_number, attempted_at, "
        "row_number() over (partition by invoice_id order by attempted_at, attempt_number) rn, "
        "lag(attempted_at) over (partition by invoice_id order by attempt_number) prev_t "
        "from payment_attempts where invoice_id is not null) "
        "where attempt_number <> rn or attempted_at < prev_t",
    )
    assert disorder == 0
    after_paid = one(
        con,
        "select count(*) from payment_attempts a join cur_invoices i using (invoice_id) "
        "where i.paid_at is not null and a.attempted_at > i.paid_at",
    )
    assert after_paid == 0
    # The paying attempt: each paid invoice has a successful attempt exactly at paid_at.
    unpaid_by_attempt = one(
        con,
        "select count(*) from cur_invoices i where status = 'paid' and not exists ("
        "select 1 from payment_attempts a where a.invoice_id = i.invoice_id "
        "and a.outcome = 'succeeded' and a.attempted_at = i.paid_at)",
    )
    assert unpaid_by_attempt == 0


def test_clicks_imply_opens_and_follow_them(medium):
    con = connect(medium)
    assert (
        one(
            con,
            "select count(*) from dunning_messages where clicked_at is not null and opened_at is null",
        )
        == 0
    )
    assert (
        one(
            con,
            "select count(*) from dunning_messages where clicked_at < opened_at or opened_at < sent_at",
        )
        == 0
    )
    assert one(con, "select count(*) from dunning_messages where clicked_at is not null") > 50


def test_instalments_add_up_to_the_plan_total(medium):
    con = connect(medium)
    plans = con.execute(
        "select p.payment_plan_id, p.total_amount, p.instalment_count, sum(i.amount), count(*) "
        "from cur_payment_plans p join cur_payment_plan_instalments i using (payment_plan_id) "
        "group by all"
    ).fetchall()
    assert plans
    for _, total, count, summed, n in plans:
        assert (summed, n) == (total, count)
    # A completed plan has every instalment paid.
    unpaid = one(
        con,
        "select count(*) from cur_payment_plans p join cur_payment_plan_instalments i "
        "using (payment_plan_id) where p.status = 'completed' and i.paid_at is null",
    )
    assert unpaid == 0


def test_refunds_and_disputes_never_exceed_the_payment(medium):
    con = connect(medium)
    for entity in ("refunds", "disputes"):
        over = one(
            con,
            f"select count(*) from cur_{entity} x join payment_attempts a using (attempt_id) "
            f"where x.amount > a.amount or a.outcome <> 'succeeded' or x.currency <> a.currency",
        )
        assert over == 0, entity


# --- realism ---------------------------------------------------------------------------------
def test_first_attempt_failure_rates_look_like_a_real_business(medium_clean):
    con = connect(medium_clean)
    rates = dict(
        con.execute(
            "select payment_method, avg((outcome = 'failed')::int) from payment_attempts "
            "where attempt_number = 1 and trigger = 'scheduled' group by 1"
        ).fetchall()
    )
    assert 0.05 <= rates["card"] <= 0.15
    assert rates["sepa_debit"] < rates["card"] / 2
    assert rates["wallet"] < rates["card"]


def test_the_business_has_its_variety(medium):
    con = connect(medium)

    def distinct(sql):
        return {r[0] for r in con.execute(sql).fetchall()}

    assert distinct("select distinct plan from subscriptions") == {
        "starter",
        "growth",
        "business",
        "enterprise",
    }
    assert distinct("select distinct billing_interval from subscriptions") == {"month", "year"}
    assert {"EUR", "USD", "GBP"} <= distinct("select distinct currency from invoices")
    assert distinct("select distinct payment_method from payment_attempts") == {
        "card", "sepa_debit", "bank_transfer", "wallet",
    }  # fmt: skip
    assert {"visa", "mastercard", "amex"} <= distinct(
        "select distinct card_brand from payment_attempts"
    )
    assert len(distinct("select distinct card_country from payment_attempts")) >= 15
    assert len(distinct("select distinct processor from payment_attempts")) >= 3
    assert len(distinct("select distinct template from dunning_messages")) >= 8
    assert distinct("select distinct channel from dunning_messages") == {
        "email",
        "sms",
        "in_app",
        "phone",
    }
    assert distinct("select distinct trigger from payment_attempts") == {
        "scheduled", "automatic_retry", "customer_initiated", "payment_plan", "collections",
        "card_verification",
    }  # fmt: skip
    assert distinct("select distinct stage from escalations") == {
        "collections_agency",
        "legal",
        "write_off",
    }
    assert distinct("select distinct kind from disputes") == {"chargeback", "fraud_report"}
    assert {"won", "lost", "needs_response", "under_review", "closed"} <= distinct(
        "select distinct status from disputes"
    )
    statuses = distinct(
        "select distinct status || ':' || coalesce(cancel_reason, '') from cur_subscriptions"
    )
    assert {
        "active:",
        "past_due:",
        "canceled:non_payment",
        "canceled:voluntary",
        "trialing:",
    } <= statuses
    assert (
        one(con, "select count(*) from customers where regexp_matches(name, '[^\\x00-\\x7F]')")
        > 100
    )


def test_decline_codes_mix_soft_hard_fraud_and_unknown(medium):
    from orchestration.contract import FRAUD_DECLINE_CODES, HARD_DECLINE_CODES, SOFT_DECLINE_CODES

    con = connect(medium)
    counts = dict(
        con.execute(
            "select decline_code, count(*) from payment_attempts where outcome = 'failed' group by 1"
        ).fetchall()
    )
    soft = sum(v for k, v in counts.items() if k in SOFT_DECLINE_CODES)
    hard = sum(v for k, v in counts.items() if k in HARD_DECLINE_CODES)
    fraud = sum(v for k, v in counts.items() if k in FRAUD_DECLINE_CODES)
    unknown = sum(
        v
        for k, v in counts.items()
        if k not in SOFT_DECLINE_CODES + HARD_DECLINE_CODES + FRAUD_DECLINE_CODES
    )
    assert None not in counts
    assert soft > hard > 0 and fraud > 0 and unknown > 0
    assert counts["insufficient_funds"] == max(
        v for k, v in counts.items() if k in SOFT_DECLINE_CODES
    )


def test_card_expiry_agrees_with_expired_card_declines(medium):
    # Only cards carry an expiry, and every scheduled charge of a card whose last valid month has
    # ended is an `expired_card` decline: the simulation renews or declines an expired card at
    # the invoice's charge. (Its retries and payment-plan charges do not check expiry again: a
    # retry hours after the month ended may succeed. The code is also drawn now and then among
    # declines of valid cards, as issuers send it.)
    con = connect(medium)
    rows = con.execute(
        "select payment_method, "
        "make_date(card_exp_year, card_exp_month, 1) + interval 1 month <= attempted_at, "
        "count(*) filter (where decline_code = 'expired_card'), count(*) "
        "from payment_attempts where (card_exp_month is not null or card_exp_year is not null) "
        "and trigger = 'scheduled' group by all"
    ).fetchall()
    assert {method for method, *_ in rows} == {"card"}
    [(expired_declines, past_expiry)] = [(e, n) for _, past, e, n in rows if past]
    assert expired_declines == past_expiry > 0


def test_retries_follow_the_schedule_and_rarely_after_hard_declines(medium_clean):
    con = connect(medium_clean)
    # Days from the failed scheduled charge to each automatic retry of a card invoice.
    days = dict(
        con.execute(
            "select round(date_diff('second', f.attempted_at, r.attempted_at) / 86400) d, count(*) "
            "from payment_attempts f join payment_attempts r using (invoice_id) "
            "where f.attempt_number = 1 and f.outcome = 'failed' and f.payment_method = 'card' "
            "and r.trigger = 'automatic_retry' group by 1"
        ).fetchall()
    )
    scheduled = sum(days.get(d, 0) for d in (1, 3, 5, 7))
    assert scheduled / sum(days.values()) > 0.9
    assert days[1] > days[3] > days[5] > days[7] > 0  # each retry happens only if the last failed
    after_hard = con.execute(
        "select count(*) filter (where retried), count(*) from ("
        "select f.invoice_id, exists (select 1 from payment_attempts r where r.invoice_id = f.invoice_id "
        "and r.trigger = 'automatic_retry') retried from payment_attempts f "
        "where f.attempt_number = 1 and f.outcome = 'failed' and f.decline_code in "
        "('expired_card', 'incorrect_number', 'invalid_account', 'card_not_supported', 'restricted_card', "
        "'authentication_required', 'transaction_not_allowed', 'revocation_of_authorization'))"
    ).fetchone()
    assert 0 < after_hard[0] < 0.2 * after_hard[1]


def test_insufficient_funds_rise_towards_month_end(medium_clean):
    con = connect(medium_clean)
    # Share of scheduled card charges declined for insufficient funds: the model scales it by
    # 0.75 on days 1-3 and 1.07-1.49 on days 25-31, i.e. about 1.5x between the two periods.
    early, late = con.execute(
        "select avg((decline_code is not distinct from 'insufficient_funds')::int) filter (where day(attempted_at) <= 5), "
        "avg((decline_code is not distinct from 'insufficient_funds')::int) filter (where day(attempted_at) >= 25) "
        "from payment_attempts where trigger = 'scheduled' and payment_method = 'card'"
    ).fetchone()
    assert late > 1.25 * early


def test_every_ageing_bucket_is_populated(medium):
    con = connect(medium)
    buckets = dict(
        con.execute(
            f"select case when due_at >= timestamp '{END}' then 'current' "
            f"when date_diff('day', due_at, timestamp '{END}') <= 30 then '1-30' "
            f"when date_diff('day', due_at, timestamp '{END}') <= 60 then '31-60' "
            f"when date_diff('day', due_at, timestamp '{END}') <= 90 then '61-90' else '91+' end, count(*) "
            "from cur_invoices where status = 'open' group by 1"
        ).fetchall()
    )
    assert set(buckets) == {"current", "1-30", "31-60", "61-90", "91+"}


def test_recovery_paths_exist(medium):
    con = connect(medium)
    # Paid after a decline by: automatic retry, the customer after a notice, a new payment method.
    by_retry = one(
        con,
        "select count(*) from payment_attempts where trigger = 'automatic_retry' and outcome = 'succeeded'",
    )
    by_customer = one(
        con,
        "select count(*) from payment_attempts a where trigger = 'customer_initiated' and outcome = 'succeeded' "
        "and exists (select 1 from dunning_messages m where m.invoice_id = a.invoice_id "
        "and m.sent_at between a.attempted_at - interval 7 day and a.attempted_at)",
    )
    after_update = one(
        con,
        "select count(*) from payment_method_updates u where reason in ('after_decline', 'dunning_link') "
        "and exists (select 1 from payment_attempts a where a.customer_id = u.customer_id "
        "and a.outcome = 'succeeded' and a.attempted_at between u.occurred_at and u.occurred_at + interval 1 hour)",
    )
    written_off = one(con, "select count(*) from escalations where stage = 'write_off'")
    churned = one(con, "select count(*) from cur_subscriptions where cancel_reason = 'non_payment'")
    assert min(by_retry, by_customer, after_update, written_off, churned) > 20


def test_unverified_customers_default_more_and_3ds_payments_see_less_fraud(tmp_path_factory):
    # A larger, clean year: these are rates of rare events.
    summary = _make(
        tmp_path_factory, "year", customers=12_000, months=12, progress=False, incidents=False
    )
    con = connect(summary)
    rates = dict(
        con.execute(
            "select c.verification_status, avg((i.status = 'uncollectible')::int) "
            "from cur_invoices i join cur_customers c using (customer_id) group by 1"
        ).fetchall()
    )
    assert rates["unverified"] > 1.3 * rates["verified"]
    fraud = dict(
        con.execute(
            "select a.used_3ds, count(d.dispute_id) / count(distinct a.attempt_id) "
            "from payment_attempts a left join cur_disputes d on d.attempt_id = a.attempt_id "
            "and d.reason = 'fraudulent' where a.outcome = 'succeeded' and a.invoice_id is not null "
            "and a.payment_method in ('card', 'wallet') group by 1"
        ).fetchall()
    )
    assert fraud[True] < 0.6 * fraud[False]


# --- incidents -------------------------------------------------------------------------------
def _truth(summary) -> dict[str, dict]:
    truth = json.loads(summary.ground_truth_path.read_text())
    return {t["type"]: t for t in truth}


def test_ground_truth_lists_four_separate_incidents_outside_the_landing(medium):
    truth = json.loads(medium.ground_truth_path.read_text())
    assert medium.ground_truth_path == medium.out_dir.parent / "ground_truth.json"
    assert sorted(t["type"] for t in truth) == [
        "card_testing", "dispute_spike", "issuer_spike", "processor_outage",
    ]  # fmt: skip
    windows = sorted(
        (
            datetime.fromisoformat(t["start"].rstrip("Z")),
            datetime.fromisoformat(t["end"].rstrip("Z")),
        )
        for t in truth
    )
    start = datetime(2026, 7, 24)
    for (s, e), (next_s, _) in zip(windows, windows[1:] + [(END, END)], strict=True):
        assert start <= s < e <= next_s <= END
    assert {t["dimension"] for t in truth} == {
        "processor",
        "customer_id",
        "card_country",
        "overall",
    }


def test_processor_outage_is_visible_in_the_data(medium):
    t = _truth(medium)["processor_outage"]
    con = connect(medium)
    inside, outside, codes = con.execute(
        "select avg((outcome = 'failed')::int) filter (where w), "
        "avg((outcome = 'failed')::int) filter (where not w), "
        "avg((decline_code in ('processing_error', 'issuer_not_available'))::int) filter (where w and outcome = 'failed') "
        "from (select *, attempted_at >= ?::timestamp and attempted_at < ?::timestamp w from payment_attempts "
        "where processor = ? and payment_method <> 'bank_transfer')",
        [t["start"].rstrip("Z"), t["end"].rstrip("Z"), t["value"]],
    ).fetchone()
    assert inside > 0.4 and inside > 2.5 * outside
    assert codes > 0.7
    assert t["details"]["observed"]["attempts_in_window"] >= 20


def test_issuer_spike_is_visible_in_the_data(medium):
    t = _truth(medium)["issuer_spike"]
    con = connect(medium)
    inside, outside, n = con.execute(
        "select avg((outcome = 'failed')::int) filter (where w), avg((outcome = 'failed')::int) filter (where not w), "
        "count(*) filter (where w) from (select *, attempted_at >= ?::timestamp and attempted_at < ?::timestamp w "
        "from payment_attempts where card_country = ? and payment_method in ('card', 'wallet'))",
        [t["start"].rstrip("Z"), t["end"].rstrip("Z"), t["value"]],
    ).fetchone()
    assert n >= 10 and inside > 2 * outside


def test_card_testing_attack_is_visible_in_the_data(medium):
    t = _truth(medium)["card_testing"]
    con = connect(medium)
    n, cards, bins, devices, ips, invoices, failed, max_amount, minutes, triggers = con.execute(
        "select count(*), count(distinct card_fingerprint), count(distinct card_bin), "
        "count(distinct device_id), count(distinct ip_address), count(invoice_id), "
        "avg((outcome = 'failed')::int), max(amount), "
        "date_diff('minute', min(attempted_at), max(attempted_at)), list(distinct trigger) "
        "from payment_attempts where customer_id = ?",
        [t["value"]],
    ).fetchone()
    assert 300 <= n <= 600 and cards > 0.85 * n and bins > 100
    assert (devices, ips, invoices) == (1, 1, 0)
    assert failed > 0.75 and max_amount <= 2 and minutes <= 30
    assert triggers == ["card_verification"]
    assert one(con, f"select count(*) from customers where customer_id = '{t['value']}'") == 1
    device, ip = con.execute(
        "select any_value(device_id), any_value(ip_address) from payment_attempts where customer_id = ?",
        [t["value"]],
    ).fetchone()
    assert (t["details"]["device_id"], t["details"]["ip_address"]) == (device, ip)
    assert t["details"]["observed"]["attempts_in_window"] == n


def test_dispute_spike_is_visible_in_the_data(medium):
    t = _truth(medium)["dispute_spike"]
    con = connect(medium)
    start, end = (datetime.fromisoformat(t[k].rstrip("Z")) for k in ("start", "end"))
    days = (end - start).days
    inside, before = con.execute(
        "select count(*) filter (where opened_at >= ?::timestamp and opened_at < ?::timestamp), "
        "count(*) filter (where opened_at >= ?::timestamp - interval 28 day and opened_at < ?::timestamp) "
        "from cur_disputes where kind = 'chargeback'",
        [start, end, start, start],
    ).fetchone()
    assert inside / days > 3 * max(before / 28, 0.1)


def test_varied_incident_sizes_run_from_barely_detectable_to_obvious():
    """`varied_incidents` redraws sizes from wide ranges (the benchmark's power curve) and keeps
    when and where each incident happens; seeds differ in size."""
    from orchestration.generator.incidents import schedule, vary_magnitudes
    from orchestration.generator.timeutil import DAY, HOUR, MINUTE

    t1 = int((END - datetime(1970, 1, 1)).total_seconds())
    outages, spikes, multipliers, attacks = [], [], [], []
    for seed in range(60):
        incidents = schedule(np.random.default_rng(seed), t1 - 365 * DAY, t1)
        placed = [(i.kind, i.value, i.start) for i in incidents]
        vary_magnitudes(np.random.default_rng(10_000 + seed), incidents)
        assert [(i.kind, i.value, i.start) for i in incidents] == placed
        for i in incidents:
            if i.kind == "processor_outage":
                outages.append((i.failure_probability, i.end - i.start))
                assert i.details["failure_probability"] == i.failure_probability
            elif i.kind == "issuer_spike":
                spikes.append(i.failure_probability)
            elif i.kind == "dispute_spike":
                multipliers.append(i.details["multiplier"])
            else:
                attacks.append(i.details["attempts"])
    rates, durations = zip(*outages, strict=True)
    # Typical outages fail 45-65 % of attempts for 2-6 h; varied ones 20-90 % for 30 min to 6 h.
    assert min(rates) < 0.3 and max(rates) > 0.8 and 0.2 <= min(rates) <= max(rates) <= 0.9
    assert min(durations) == 30 * MINUTE and max(durations) == 6 * HOUR
    assert min(spikes) < 0.25 and max(spikes) > 0.55
    assert (min(multipliers), max(multipliers)) == (2, 10)  # typical: 4-8
    assert min(attacks) < 50 and max(attacks) > 550  # typical: 300-600


def _window_scores(con) -> float:
    """Largest binomial z-score of a segment's 4-hour failure count against the same segment's
    failure rate in the same hours of the day (the billing runs make hours differ)."""
    scores = []
    for dim in ("processor", "card_country", "payment_method", "card_brand"):
        scores.append(
            one(
                con,
                f"""
                with w as (
                    select {dim} seg, time_bucket(interval 4 hour, attempted_at) w,
                           hour(time_bucket(interval 4 hour, attempted_at)) slot,
                           count(*) n, sum((outcome = 'failed')::int) f
                    from payment_attempts
                    where {dim} is not null and payment_method <> 'bank_transfer' group by all),
                base as (select seg, slot, sum(f) / sum(n) p from w group by all)
                select max((f - n * p) / sqrt(n * p * (1 - p)))
                from w join base using (seg, slot) where n >= 20 and p > 0
                """,
            )
        )
    return max(scores)


def test_without_incidents_there_are_none_and_failure_rates_stay_stationary(medium_clean, medium):
    assert json.loads(medium_clean.ground_truth_path.read_text()) == []
    con = connect(medium_clean)
    # No card-testing burst: card checks are one or two per customer.
    assert (
        one(
            con,
            "select max(n) from (select count(*) n from payment_attempts where invoice_id is null group by customer_id)",
        )
        <= 2
    )
    clean_z = _window_scores(con)
    assert clean_z < 4.5
    assert _window_scores(connect(medium)) > 6  # the same statistic does see real incidents


# --- file formats ----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["small_csv", "small_jsonl"])
def test_text_formats_hold_the_same_data_as_parquet(fixture, small, request):
    text = request.getfixturevalue(fixture)
    con = duckdb.connect()
    for e in ENTITIES:
        fmt = text.file_format
        files = list((text.out_dir / e.name).glob(f"*.{fmt}"))
        assert files, e.name
        auto = "read_csv" if fmt == "csv" else "read_json"
        if small.rows[e.name]:  # an empty JSON-lines file has no names to detect
            names = [
                r[0]
                for r in con.execute(
                    f"describe select * from {auto}('{text.out_dir / e.name}/*.{fmt}')"
                ).fetchall()
            ]
            assert names == e.column_names
        diff = one(
            con,
            f"select count(*) from ((select * from {_reader(small.out_dir, e, 'parquet')} except all "
            f"select * from {_reader(text.out_dir, e, fmt)}) union all (select * from "
            f"{_reader(text.out_dir, e, fmt)} except all select * from {_reader(small.out_dir, e, 'parquet')}))",
        )
        assert diff == 0, e.name
    first_line = (
        next((text.out_dir / "invoices").glob(f"*.{text.file_format}"))
        .read_text("utf-8")
        .splitlines()[1]
    )
    assert "T" in first_line and "Z" in first_line  # ISO-8601 UTC timestamps


def test_summary_counts_match_the_files(small):
    con = connect(small)
    for e in ENTITIES:
        assert small.rows[e.name] == one(con, f"select count(*) from {e.name}")
    text = str(small)
    assert "payment_attempts" in text and f"{small.rows['payment_attempts']:,}" in text
    assert "processor_outage" in text


def test_ground_truth_may_not_sit_in_the_landing_folder_and_old_samples_are_replaced(tmp_path):
    landing = tmp_path / "landing"
    with pytest.raises(ValueError, match="ground truth"):
        generate(
            GeneratorConfig(customers=20, months=1, progress=False), landing, landing / "gt.json"
        )
    generate(GeneratorConfig(customers=20, months=2, progress=False), landing)
    (landing / "invoices" / "from_elsewhere.csv").write_text("kept\n")
    generate(GeneratorConfig(customers=20, months=1, file_format="csv", progress=False), landing)
    names = {p.name for p in landing.rglob("*") if p.is_file()}
    assert not any(n.endswith(".parquet") or n.endswith(".part") for n in names)
    assert {"from_elsewhere.csv", "sample-2026-11.csv"} <= names  # only the sample is replaced
