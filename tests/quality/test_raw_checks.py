"""Raw checks on a tiny hand-made history: clean data passes every check, and for each family a
crafted bad input makes exactly that check fail, with the numbers and ids in its message."""

import datetime as dt

import duckdb
import pytest

from data_quality.core import QualityConfig
from data_quality.raw import raw_checks
from data_quality.runner import run_checks
from tests.quality.fixtures import LOADED_AT, NOW, ROWS, build_clean_raw, insert

CHECKS = raw_checks()


@pytest.fixture
def con():
    con = duckdb.connect()
    build_clean_raw(con)
    yield con
    con.close()


def reading(*entities: str) -> list:
    """The checks that read any of these raw tables (all checks when none is named): the others
    cannot change their verdict, so "exactly this check fails" needs only these (GX costs
    ~30 ms per check)."""
    if not entities:
        return CHECKS
    return [c for c in CHECKS if {c.asset[1], *(d[1] for d in c.deps)} & set(entities)]


def results_by_name(con, *tampered: str, reference_time=NOW, **config):
    config = QualityConfig(reference_time=reference_time, **config)
    return {r.check.suite_name: r for r in run_checks(con, reading(*tampered), config)}


def failures(con, *tampered: str, **config) -> dict[str, str]:
    """suite name → message, for every failed check among those reading the tampered tables."""
    results = results_by_name(con, *tampered, **config)
    return {name: r.message for name, r in results.items() if not r.passed}


def newer_version(entity: str, key: str, record_id: str, **changes) -> dict:
    """A later version of a fixture record (same id, updated one hour after its newest)."""
    versions = [r for r in ROWS[entity] if r[key] == record_id]
    latest = max(versions, key=lambda r: r["updated_at"])
    updated = dt.datetime.fromisoformat(latest["updated_at"]) + dt.timedelta(hours=1)
    return {**latest, "updated_at": updated.isoformat(sep=" "), **changes}


def test_clean_history_passes_every_check(con):
    results = run_checks(con, CHECKS, QualityConfig(reference_time=NOW))
    assert len(results) == 68
    assert [r.message for r in results if not r.passed] == []
    by_name = {r.check.suite_name: r for r in results}
    # Observed values are the real numbers: i1 has two versions, the paid one is current.
    assert by_name["raw.invoices.values"].observed == {
        "currency=EUR": 3,
        "status=open": 2,
        "status=paid": 1,
        "billing_reason=subscription_cycle": 3,
    }
    assert by_name["raw.invoices.schema"].observed == {"columns": 19}  # 16 + 3 lineage
    assert by_name["raw.payment_attempts.decline_codes"].observed == {
        "failed_attempts": 3,
        "unknown_code_share": 0.0,
        "failed_without_code_share": 0.0,
        "succeeded_with_code": 0,
        "recent_failed_attempts": 1,  # a4, within 7 days of the newest attempt
        "recent_unknown_code_share": 0.0,
        # earlier history: 2 failed attempts, fewer than the 50 a baseline needs: not judged
        "recent_unknown_code_share_limit": None,
        "recent_without_code_share": 0.0,
        "recent_without_code_share_limit": None,
    }
    # Newest record 2026-03-31 06:00, reference 12:00.
    assert by_name["raw.invoices.freshness"].observed["age_hours"] == 6.0


def test_schema_a_changed_type_and_an_extra_column(con):
    con.execute("alter table raw.refunds alter amount type double")
    con.execute("alter table raw.refunds add column note varchar")

    assert failures(con, "refunds") == {
        "raw.refunds.schema": "raw.refunds.schema failed: expected raw.refunds has exactly the "
        "contract's columns and types: missing amount DECIMAL(18,2), unexpected amount DOUBLE, "
        "unexpected note VARCHAR."
    }


def test_schema_a_dropped_column_also_stops_the_checks_that_read_it(con):
    con.execute("alter table raw.refunds drop column reason")

    found = failures(con, "refunds")
    assert found["raw.refunds.schema"].endswith(": missing reason VARCHAR.")
    # The checks that read the column cannot vouch for the table: they fail, saying why.
    unreadable = 'could not be evaluated: Binder Error: Referenced column "reason" not found'
    assert unreadable in found["raw.refunds.values"]
    assert unreadable in found["raw.refunds.ranges"]
    assert set(found) == {"raw.refunds.schema", "raw.refunds.values", "raw.refunds.ranges"}


def test_values_unknown_status_and_missing_required_value(con):
    # A loader bug let through what ingestion would have quarantined.
    insert(con, "invoices", [newer_version("invoices", "invoice_id", "i2", status="pending")],
           "invoices/bug.csv")  # fmt: skip
    insert(con, "subscriptions", [newer_version("subscriptions", "subscription_id", "s1", plan=None)],
           "subscriptions/bug.csv")  # fmt: skip

    assert failures(con, "invoices", "subscriptions") == {
        "raw.invoices.values": "raw.invoices.values failed: expected every required value "
        "present and every value in its contract set: status=pending (1 record(s)).",
        "raw.subscriptions.values": "raw.subscriptions.values failed: expected every required "
        "value present and every value in its contract set: plan=∅ (1 record(s)).",
    }


def test_ranges_due_before_issue_negative_amount_and_future_version(con):
    insert(con, "invoices", [newer_version("invoices", "invoice_id", "i2", due_at="2026-02-01")],
           "invoices/bug.csv")  # fmt: skip
    insert(con, "refunds", [newer_version("refunds", "refund_id", "r1", amount=-10)],
           "refunds/bug.csv")  # fmt: skip
    future = newer_version("customers", "customer_id", "c2", updated_at="2026-04-02 12:00")
    insert(con, "customers", [future], "customers/bug.csv")

    found = failures(con, "invoices", "refunds", "customers")
    assert found == {
        "raw.invoices.ranges": "raw.invoices.ranges failed: due_before_issue = 1 "
        "(expected due_before_issue = 0): i2.",
        "raw.refunds.ranges": "raw.refunds.ranges failed: negative_amount = 1 "
        "(expected negative_amount = 0): r1.",
        # reference 2026-03-31 12:00 + 24 h of tolerated clock skew < 2026-04-02 12:00
        "raw.customers.ranges": "raw.customers.ranges failed: updated_in_future = 1 "
        "(expected updated_in_future = 0): c2.",
    }


def test_ranges_judge_the_current_version_only(con):
    """A bad version superseded by a good one passes; a bad newest version stays failing on every
    run until a corrected version arrives, so a blocked build stays blocked until fixed."""
    bad = newer_version("invoices", "invoice_id", "i2", due_at="2026-02-01")
    insert(con, "invoices", [bad], "invoices/bad.csv")
    assert "raw.invoices.ranges" in failures(con, "invoices")
    assert "raw.invoices.ranges" in failures(con, "invoices")  # nothing changed, still failing

    fixed = {**bad, "due_at": "2026-02-09", "updated_at": "2026-02-02 02:00:00"}
    insert(con, "invoices", [fixed], "invoices/fix.csv")
    assert failures(con, "invoices") == {}


def test_unique_versions_the_same_version_twice(con):
    con.execute("insert into raw.invoices select * from raw.invoices where invoice_id = 'i3'")

    assert failures(con, "invoices") == {
        "raw.invoices.unique_versions": "raw.invoices.unique_versions failed: "
        "duplicate_versions = 1 (expected duplicate_versions = 0): "
        "i3 @ 2026-03-31 06:00:00 (2 rows)."
    }


def test_references_orphans_and_disagreements_with_the_parent(con):
    # An attempt on an invoice nobody exported, and an invoice whose customer is not its
    # subscription's customer (s1 belongs to c1).
    insert(con, "payment_attempts",
           [newer_version("payment_attempts", "attempt_id", "a3", invoice_id="i404")],
           "payment_attempts/bug.csv")  # fmt: skip
    insert(con, "invoices", [newer_version("invoices", "invoice_id", "i3", customer_id="c2")],
           "invoices/bug.csv")  # fmt: skip

    found = failures(con, "payment_attempts", "invoices")
    assert found == {
        "raw.payment_attempts.references": "raw.payment_attempts.references failed: "
        "unknown_invoice_id = 1 (expected unknown_invoice_id = 0): a3.",
        "raw.invoices.references": "raw.invoices.references failed: "
        "customer_id_differs_from_subscription = 1 "
        "(expected customer_id_differs_from_subscription = 0): i3.",
    }


def add_loads(con, entity: str, rows: list[int]) -> None:
    """Manifest entries for earlier files of `entity`, oldest first, each an hour apart."""
    for i, n in enumerate(rows):
        con.execute(
            "insert into raw._load_manifest values (?, ?, ?, 0, ?, ?, 0, 0, 'loaded', null, ?)",
            [f"{entity}/old-{i}.csv", entity, f"old-{i}", n, n,
             LOADED_AT - dt.timedelta(hours=len(rows) - i)],
        )  # fmt: skip


def test_volume_flags_a_90_percent_drop_or_a_10x_jump(con):
    """Before the newest file, each entity had files of 150..250 rows (median 200); the newest
    file's row count makes the ratio. Limits are exclusive: 0.1 and 10 themselves are flagged."""
    newest_rows = {
        "customers": 21,  # 0.105: passes
        "subscriptions": 20,  # 0.1: a 90% drop
        "invoices": 1999,  # 9.995: passes
        "payment_attempts": 2000,  # 10x
        "refunds": 0,  # an empty file
    }
    for entity, rows in newest_rows.items():
        add_loads(con, entity, [150, 200, 250, 180, 220])
        con.execute(
            "update raw._load_manifest set rows_read = ? where file_path = ?",
            [rows, f"{entity}/2026-03-31.csv"],
        )

    results = results_by_name(con, *newest_rows)
    for entity, rows in newest_rows.items():
        volume = results[f"raw.{entity}.volume"]
        assert volume.observed["ratio"] == pytest.approx(rows / 200)
        assert volume.observed["baseline_rows"] == 200
        assert volume.observed["latest_load_files"] == 1
        assert volume.observed["baseline_loads"] == 5
    assert {n: r.message for n, r in results.items() if not r.passed} == {
        "raw.subscriptions.volume": "raw.subscriptions.volume failed: ratio = 0.1 "
        "(expected 0.1 < ratio < 10).",
        "raw.payment_attempts.volume": "raw.payment_attempts.volume failed: ratio = 10.0 "
        "(expected 0.1 < ratio < 10).",
        "raw.refunds.volume": "raw.refunds.volume failed: ratio = 0.0 (expected 0.1 < ratio < 10).",
    }
    assert {r.check.severity for r in results.values() if not r.passed} == {"WARN"}


def test_volume_counts_a_burst_of_files_as_one_load(con):
    """A backfill of many files, or a drop split in parts, is one load: files less than ten
    minutes apart. Three earlier loads of 2 x 100 rows; the newest load is the fixture's file of
    4 invoice rows plus a file of 16 rows two minutes later: 20 / 200 = a 90% drop."""
    for load in range(3):
        for part in range(2):
            at = LOADED_AT - dt.timedelta(days=3 - load, minutes=-5 * part)
            con.execute(
                "insert into raw._load_manifest values "
                "(?, 'invoices', ?, 0, 100, 100, 0, 0, 'loaded', null, ?)",
                [f"invoices/{load}-{part}.csv", f"{load}-{part}", at],
            )
    extra = [newer_version("invoices", "invoice_id", "i3", updated_at=f"2026-03-31 06:{m:02d}")
             for m in range(1, 17)]  # fmt: skip
    insert(con, "invoices", extra, "invoices/part-2.csv", LOADED_AT + dt.timedelta(minutes=2))

    volume = results_by_name(con, "invoices")["raw.invoices.volume"]
    assert (volume.observed["latest_load_files"], volume.observed["latest_load_rows"]) == (2, 20)
    assert (volume.observed["baseline_loads"], volume.observed["baseline_rows"]) == (3, 200)
    assert not volume.passed and volume.observed["ratio"] == 0.1


def test_volume_is_not_judged_on_a_small_or_missing_history(con):
    add_loads(con, "invoices", [40, 60, 50])  # median 50 < 100 rows: too noisy to judge
    con.execute("update raw._load_manifest set rows_read = 5000 where entity = 'invoices' "
                "and file_path = 'invoices/2026-03-31.csv'")  # fmt: skip
    volume = results_by_name(con, "invoices")["raw.invoices.volume"]
    assert volume.passed
    assert volume.observed["ratio"] is None and volume.observed["baseline_rows"] == 50


def test_freshness_is_relative_to_the_reference_time(con):
    # Only these checks look at the reference time; the others cannot change their verdict.
    timed = [c for c in CHECKS if c.name in ("freshness", "ranges")]

    def failed(**config):
        results = run_checks(con, timed, QualityConfig(**config))
        return {r.check.suite_name: r.message for r in results if not r.passed}

    late = NOW + dt.timedelta(days=2)  # newest record 2026-03-31 06:00 → 54 h old
    assert failed(reference_time=late) == {
        "raw.invoices.freshness": "raw.invoices.freshness failed: age_hours = 54.0 "
        "(expected age_hours ≤ 48).",
        "raw.payment_attempts.freshness": "raw.payment_attempts.freshness failed: "
        "age_hours = 54.0 (expected age_hours ≤ 48).",
    }
    # The threshold is configuration.
    hours = {"invoices": 60.0, "payment_attempts": 60.0}
    assert failed(reference_time=late, freshness_max_age_hours=hours) == {}


def test_freshness_fails_on_an_empty_entity(con):
    con.execute("delete from raw.payment_attempts")
    con.execute("delete from raw.refunds; delete from raw.disputes")  # they reference attempts
    found = failures(con, "payment_attempts", "refunds", "disputes")
    assert found["raw.payment_attempts.freshness"] == (
        "raw.payment_attempts.freshness failed: age_hours = None (expected age_hours is known)."
    )
    assert set(found) == {"raw.payment_attempts.freshness"}


def test_decline_codes_a_small_history_with_odd_codes_is_not_judged(con):
    # a3's newest version reports a code outside DOMAIN.md's lists; a1 lost its code: a third of
    # the failed attempts each, which a constant bound would flag on every real backfill. With
    # 2 earlier failed attempts there is no history to compare with: nothing to warn about.
    insert(con, "payment_attempts", [
        newer_version("payment_attempts", "attempt_id", "a3", decline_code="call_issuer"),
        newer_version("payment_attempts", "attempt_id", "a1", decline_code=None),
    ], "payment_attempts/codes.csv")  # fmt: skip

    result = results_by_name(con, "payment_attempts")["raw.payment_attempts.decline_codes"]
    assert result.passed
    assert result.observed["unknown_code_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert result.observed["failed_without_code_share"] == pytest.approx(1 / 3, abs=1e-6)


def _history(unknown_before: int, recent_codes: list[str | None]) -> list[dict]:
    """102 failed attempts on 2026-02-01 (`unknown_before` of them with an unknown code), then
    one per code of `recent_codes` on 2026-03-30, within the last 7 days."""
    days = [dt.datetime(2026, 2, 1)] * 102 + [dt.datetime(2026, 3, 30)] * len(recent_codes)
    codes = ["new_code"] * unknown_before + ["do_not_honor"] * (102 - unknown_before)
    return [
        {**ROWS["payment_attempts"][0], "attempt_id": f"x{i}", "invoice_id": "i2",
         "customer_id": "c2", "attempted_at": day.isoformat(), "updated_at": day.isoformat(),
         "decline_code": code}
        for i, (day, code) in enumerate(zip(days, codes + recent_codes, strict=True))
    ]  # fmt: skip


def test_decline_codes_a_jump_of_failures_without_code(con):
    """Before: 102 failed attempts plus the fixture's 2, all coded (p = 0). Last 7 days: 50 new
    plus the fixture's a4 = 51 failed, 5 without a code (9.8 %), above max(3σ = 0, 2 points)."""
    insert(con, "payment_attempts", _history(0, ["do_not_honor"] * 45 + [None] * 5),
           "payment_attempts/many.csv")  # fmt: skip

    result = results_by_name(con, "payment_attempts")["raw.payment_attempts.decline_codes"]
    assert result.observed["recent_without_code_share"] == pytest.approx(5 / 51, abs=1e-6)
    assert result.observed["recent_without_code_share_limit"] == pytest.approx(0.02, abs=1e-9)
    assert result.message.startswith(
        "raw.payment_attempts.decline_codes failed: recent_without_code_share = 0.098039, "
        "recent_without_code_share_limit = 0.02 (expected recent_without_code_share"
        " ≤ recent_without_code_share_limit (last 7 days vs before)): "
    )


def test_decline_codes_a_sudden_jump_of_unknown_codes(con):
    """Before: 102 failed attempts, 2 with an unknown code (p = 2%). Last 7 days: 51 failed,
    10 unknown (19.6%), above the p-chart limit p + 3·√(p(1−p)/51) = 7.8%: the jump is flagged,
    whatever the share of unknown codes overall (12/153 = 7.8%), which is not judged."""
    rows = []
    for i in range(150):
        recent = i >= 100
        unknown = (i < 2) or (recent and i < 110)
        day = dt.datetime(2026, 3, 30) if recent else dt.datetime(2026, 2, 1)
        rows.append({
            **ROWS["payment_attempts"][0], "attempt_id": f"x{i}", "invoice_id": "i2",
            "customer_id": "c2", "attempted_at": day.isoformat(), "updated_at": day.isoformat(),
            "decline_code": "new_code" if unknown else "do_not_honor",
        })  # fmt: skip
    insert(con, "payment_attempts", rows, "payment_attempts/many.csv")

    result = results_by_name(con, "payment_attempts")["raw.payment_attempts.decline_codes"]
    assert not result.passed
    assert result.observed["unknown_code_share"] == pytest.approx(12 / 153, abs=1e-6)
    assert result.observed["recent_failed_attempts"] == 51  # with the fixture's a4
    assert result.observed["recent_unknown_code_share"] == pytest.approx(10 / 51, abs=1e-6)
    limit = 2 / 102 + 3 * (2 / 102 * 100 / 102 / 51) ** 0.5
    assert result.observed["recent_unknown_code_share_limit"] == pytest.approx(limit, abs=1e-6)
    assert result.message.startswith(
        "raw.payment_attempts.decline_codes failed: recent_unknown_code_share = 0.196078, "
        f"recent_unknown_code_share_limit = {round(limit, 6)} (expected recent_unknown_code_share"
        " ≤ recent_unknown_code_share_limit (last 7 days vs before)): new_code (10)."
    )
