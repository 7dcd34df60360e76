"""The per-record raw checks judge only the records loaded since their entity last passed them
(data_quality/watermarks.py): an evaluation that fails, or dies before its commit, is done
again next time; a changed definition judges everything again."""

import datetime as dt

import duckdb
import pytest

from data_quality import watermarks
from data_quality.core import QualityConfig
from data_quality.raw import SCOPED_CHECKS, raw_checks
from data_quality.runner import check_and_record
from tests.quality.fixtures import LOADED_AT, NOW, build_clean_raw, insert

# The invoices' per-record checks; their references reach subscriptions and customers.
INVOICE_CHECKS = [c for c in raw_checks() if c.asset == ("raw", "invoices")]
SCOPED = [c for c in INVOICE_CHECKS if c.name in SCOPED_CHECKS]
CONFIG = QualityConfig(reference_time=NOW)


@pytest.fixture
def con():
    con = duckdb.connect()
    build_clean_raw(con)  # 3 invoices (i1 in two versions), loaded at LOADED_AT
    yield con
    con.close()


def invoice(invoice_id: str, customer_id: str, updated_at: str) -> dict:
    """An open invoice of subscription s1 (customer c1's): with c2 it disagrees with s1."""
    return dict(
        invoice_id=invoice_id, subscription_id="s1", customer_id=customer_id, currency="EUR",
        amount_due=49, amount_paid=0, issued_at="2026-03-02", due_at="2026-04-09",
        status="open", billing_reason="subscription_cycle", updated_at=updated_at,
    )  # fmt: skip


def land(con, entity: str, rows: list[dict], hour: int) -> None:
    insert(con, entity, rows, f"{entity}/day-{hour}.csv", LOADED_AT + dt.timedelta(hours=hour))


def evaluate(con, definition: str = "d1") -> dict[str, tuple[bool, dict]]:
    results = check_and_record(con, SCOPED, CONFIG, run_id="r", definition=definition)
    return {r.check.name: (r.passed, r.observed) for r in results}


def marks(con) -> dict:
    return dict(con.execute(f"select entity, loaded_through from {watermarks.TABLE}").fetchall())


def test_only_records_loaded_since_the_last_pass_are_judged(con):
    first = evaluate(con)
    assert all(passed for passed, _ in first.values())
    # i1 (its paid version), i2, i3: the current records, all judged the first time.
    assert first["references"][1]["records_checked"] == 3
    assert first["ranges"][1]["records_checked"] == 3
    assert marks(con) == {"invoices": LOADED_AT}

    # A new invoice whose customer is not its subscription's: reported alone, the three old
    # ones are not judged again.
    land(con, "invoices", [invoice("i4", "c2", "2026-03-31 07:00")], hour=1)
    second = evaluate(con)
    passed, observed = second["references"]
    assert not passed
    assert observed["records_checked"] == 1
    assert observed["customer_id_differs_from_subscription"] == 1
    assert observed["examples"] == {"customer_id_differs_from_subscription": ["i4"]}
    assert second["ranges"][1]["records_checked"] == 1
    assert marks(con) == {"invoices": LOADED_AT}  # failed: not moved

    # The next day: i4 still bad (judged again: its evaluation never passed) and a new bad i5.
    land(con, "invoices", [invoice("i5", "c2", "2026-03-31 08:00")], hour=2)
    passed, observed = evaluate(con)["references"]
    assert not passed
    assert observed["records_checked"] == 2
    assert observed["examples"] == {"customer_id_differs_from_subscription": ["i4", "i5"]}

    # Corrected versions of both land: they pass and the mark moves to the newest load.
    fixes = [invoice("i4", "c1", "2026-03-31 09:00"), invoice("i5", "c1", "2026-03-31 09:00")]
    land(con, "invoices", fixes, hour=3)
    third = evaluate(con)
    assert all(passed for passed, _ in third.values())
    assert third["references"][1]["records_checked"] == 2
    assert marks(con) == {"invoices": LOADED_AT + dt.timedelta(hours=3)}

    # One more bad invoice: only it is judged and reported; the old bad versions of i4 and i5
    # (no longer current) and the passed records are not.
    land(con, "invoices", [invoice("i6", "c2", "2026-03-31 10:00")], hour=4)
    passed, observed = evaluate(con)["references"]
    assert (passed, observed["records_checked"], observed["examples"]) == (
        False, 1, {"customer_id_differs_from_subscription": ["i6"]},
    )  # fmt: skip

    # A changed definition (code, contract, settings) judges every current record again:
    # i1, i2, i3, i4, i5 and i6.
    passed, observed = evaluate(con, definition="d2")["references"]
    assert (passed, observed["records_checked"]) == (False, 6)


def test_a_new_parent_version_rejudges_its_children(con):
    evaluate(con)
    # s1 moves to customer c2: its invoices i1 and i3 (customer c1) now disagree with it.
    land(con, "subscriptions", [dict(
        subscription_id="s1", customer_id="c2", plan="growth", billing_interval="month",
        amount=49, currency="EUR", status="active", started_at="2026-01-01",
        updated_at="2026-03-31 07:00",
    )], hour=1)  # fmt: skip
    passed, observed = evaluate(con)["references"]
    assert not passed
    assert observed["records_checked"] == 2
    assert observed["examples"] == {"customer_id_differs_from_subscription": ["i1", "i3"]}


def test_an_evaluation_that_dies_before_its_commit_is_done_again(con, monkeypatch):
    evaluate(con)
    land(con, "invoices", [invoice("i4", "c1", "2026-03-31 07:00")], hour=1)
    (recorded,) = con.execute("select count(*) from quality.check_results").fetchone()

    def die(*args, **kwargs):
        raise RuntimeError("killed while moving the marks")

    monkeypatch.setattr(watermarks, "advance", die)
    with pytest.raises(RuntimeError):
        evaluate(con)
    # Neither the results nor the mark: the evaluation left no trace.
    assert con.execute("select count(*) from quality.check_results").fetchone()[0] == recorded
    assert marks(con) == {"invoices": LOADED_AT}

    monkeypatch.undo()
    again = evaluate(con)
    assert again["references"] == (True, again["references"][1])
    assert again["references"][1]["records_checked"] == 1  # i4, judged again
    assert marks(con) == {"invoices": LOADED_AT + dt.timedelta(hours=1)}


def test_a_row_written_below_the_mark_by_hand_makes_everything_judged_again(con):
    evaluate(con)
    # A loader bug copies i2 with an old load time and a due date before its issue date.
    con.execute(
        "insert into raw.invoices by name select * replace ("
        "timestamp '2026-02-01' as due_at, timestamp '2026-02-02 01:00' as updated_at) "
        "from raw.invoices where invoice_id = 'i2'"
    )
    passed, observed = evaluate(con)["ranges"]
    assert not passed
    assert observed["records_checked"] == 3  # i1, i2 (the bad copy, now current), i3
    assert observed["due_before_issue"] == 1
    assert marks(con) == {"invoices": LOADED_AT}
