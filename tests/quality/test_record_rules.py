"""Every raw range rule, one offending record each: exactly that rule fails, naming the record.

The record rules (events out of order within a record beyond the clock-skew tolerance, counts
below 1; docs/data_contract.md lists them) are written out below, not read from RECORD_RULES, so
a rule deleted from the contract fails its case here, and a rule added to it fails
test_every_record_rule_has_an_offending_record until it gets one. Ingestion quarantines such rows;
these insert straight into the raw tables, as a table altered by hand would be.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from data_quality.core import QualityConfig
from data_quality.raw import range_rules, raw_checks
from data_quality.runner import run_checks
from orchestration.contract import ENTITIES, ENTITY_BY_NAME, RECORD_RULES
from tests.quality.fixtures import NOW, ROWS, build_clean_raw, insert

# rule -> (entity, record id of tests/quality/fixtures.py, changes making its current version break
# only that rule). Times are far from the boundary, so a clock-skew tolerance changes nothing.
OFFENDING = {
    "canceled_before_start": ("subscriptions", "s2",
                              dict(status="canceled", canceled_at="2025-12-01",
                                   cancel_reason="non_payment")),
    "due_before_issue": ("invoices", "i2", dict(due_at="2026-01-02")),
    "paid_before_issue": ("invoices", "i2",
                          dict(status="paid", amount_paid=19, paid_at="2026-01-02")),
    "paid_more_than_due": ("invoices", "i2",
                           dict(status="paid", amount_paid=20, paid_at="2026-02-05")),
    "attempt_number_below_1": ("payment_attempts", "a3", dict(attempt_number=0)),
    "opened_before_sent": ("dunning_messages", "m1", dict(opened_at="2026-02-01 11:00")),
    "clicked_before_sent": ("dunning_messages", "m1", dict(clicked_at="2026-02-01 11:00")),
    "instalment_count_below_1": ("payment_plans", "pp1", dict(instalment_count=0)),
    "sequence_below_1": ("payment_plan_instalments", "in1", dict(sequence=0)),
    "closed_before_opened": ("disputes", "d1", dict(closed_at="2026-01-20")),
}  # fmt: skip


def newer_version(entity: str, record_id: str, **changes) -> dict:
    """The fixture record's newest version, changed, as a version one hour later."""
    key = ENTITY_BY_NAME[entity].key
    latest = max((r for r in ROWS[entity] if r[key] == record_id), key=lambda r: r["updated_at"])
    updated = dt.datetime.fromisoformat(latest["updated_at"]) + dt.timedelta(hours=1)
    return {**latest, "updated_at": updated.isoformat(sep=" "), **changes}


def ranges_message(con, entity: str) -> str | None:
    """The failure message of raw.<entity>.ranges, or None when it passes."""
    [check] = [c for c in raw_checks() if c.asset == ("raw", entity) and c.name == "ranges"]
    [result] = run_checks(con, [check], QualityConfig(reference_time=NOW))
    return None if result.passed else result.message


@pytest.fixture
def con():
    con = duckdb.connect()
    build_clean_raw(con)
    yield con
    con.close()


def test_every_record_rule_has_an_offending_record():
    in_code = {rule.name for rules in RECORD_RULES.values() for rule in rules}
    assert in_code == set(OFFENDING), (
        f"record rules without an offending record here: {sorted(in_code - set(OFFENDING))}; "
        f"documented rules missing from RECORD_RULES: {sorted(set(OFFENDING) - in_code)}"
    )


@pytest.mark.parametrize("rule", OFFENDING)
def test_each_record_rule_fails_on_its_offending_record(con, rule):
    entity, record_id, changes = OFFENDING[rule]
    assert ranges_message(con, entity) is None  # the clean fixture passes
    insert(con, entity, [newer_version(entity, record_id, **changes)], f"{entity}/bad.csv")
    assert ranges_message(con, entity) == (
        f"raw.{entity}.ranges failed: {rule} = 1 (expected {rule} = 0): {record_id}."
    ), f"rule {rule} did not catch {changes}"


# The contract's clock-skew tolerance (CLOCK_SKEW), written out so that changing it fails here.
SKEW = dt.timedelta(minutes=15)
ORDERING = {rule.name: rule for rules in RECORD_RULES.values() for rule in rules if rule.later}


FAILS = "raw.{entity}.ranges failed: {rule} = 1 (expected {rule} = 0): {record_id}."


@pytest.mark.parametrize(
    ("rule", "before", "message"),
    [
        pytest.param(rule, before, message, id=f"{rule}-{label}")
        for rule in sorted(ORDERING)
        for before, message, label in [
            (SKEW, None, "15m"),
            (SKEW + dt.timedelta(seconds=1), FAILS, "15m01s"),
        ]
    ],
)
def test_each_ordering_rule_tolerates_15_minutes_of_clock_skew(con, rule, before, message):
    """The later event 15 minutes before the earlier one is clock skew (staging normalises it),
    not a failure; one second more is the rule's failure."""
    entity, record_id, changes = OFFENDING[rule]
    version = newer_version(entity, record_id, **changes)
    earlier = dt.datetime.fromisoformat(version[ORDERING[rule].earlier])
    version[ORDERING[rule].later] = (earlier - before).isoformat(sep=" ")
    insert(con, entity, [version], f"{entity}/skew.csv")
    expected = message and message.format(entity=entity, rule=rule, record_id=record_id)
    assert ranges_message(con, entity) == expected, f"{rule}, {before} before"


def _generic_rules() -> list[tuple[str, str]]:
    """(entity, rule) for every negative_* and *_out_of_range rule the contract derives."""
    config = QualityConfig(reference_time=NOW)
    record = {rule.name for rules in RECORD_RULES.values() for rule in rules}
    return [
        (entity.name, name)
        for entity in ENTITIES
        for name, _ in range_rules(entity, config)
        if name not in record and name != "updated_in_future"
    ]


@pytest.mark.parametrize(("entity", "rule"), _generic_rules(), ids="{0[0]}.{0[1]}".format)
def test_each_negative_and_out_of_range_rule_fails_on_its_offending_record(con, entity, rule):
    key = ENTITY_BY_NAME[entity].key
    record_id = ROWS[entity][0][key]
    if rule.startswith("negative_"):
        change = {rule.removeprefix("negative_"): -1}
    else:
        # 2100-01-01 is the first instant outside [2000, 2100). It can make an ordering rule fire
        # too (an issue date after the due date), hence "this rule is among the failures".
        change = {rule.removesuffix("_out_of_range"): "2100-01-01"}
    insert(con, entity, [newer_version(entity, record_id, **change)], f"{entity}/bad.csv")
    message = ranges_message(con, entity) or ""
    assert f" {rule} = 1 " in message, f"rule {rule} did not catch {change}: {message!r}"
