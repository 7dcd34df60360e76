"""fct_payment_attempts is incremental: late-arriving and updated attempts must give exactly the
table a full rebuild gives, renumbering the attempts of the invoices they touch (and leave)."""

import shutil
from datetime import UTC, datetime

import duckdb

from tests.dbt.conftest import Warehouse

COLUMNS = "attempt_id, attempt_number, hours_since_previous_attempt, decline_class, previous_decline_class, is_retry"


def _late_rows(path):
    with duckdb.connect(str(path)) as con:
        (s09_attempt,) = con.execute(
            "select attempt_id from raw.payment_attempts where invoice_id = 'I-S09-04'"
        ).fetchone()
        loaded = datetime.now(UTC).replace(tzinfo=None)  # loads are stamped with the wall clock
        # An attempt on S07's February invoice that the billing system exported late: it sits
        # between the first attempt (Feb 1) and the retry of Feb 3.
        con.execute(
            """insert into raw.payment_attempts
            select * replace ('A900' as attempt_id, timestamp '2026-02-02 10:00' as attempted_at,
                timestamp '2026-02-02 10:00' as updated_at, 'late.csv' as _source_file,
                1 as _source_row, ?::timestamp as _loaded_at)
            from raw.payment_attempts where invoice_id = 'I-S07-02' and attempted_at = '2026-02-01 10:00'""",
            [loaded],
        )
        # A corrected version of S09's April decline: the processor re-coded it as fraud.
        con.execute(
            """insert into raw.payment_attempts
            select * replace ('fraudulent' as decline_code, timestamp '2026-05-01 09:00' as updated_at,
                'late.csv' as _source_file, 2 as _source_row, ?::timestamp as _loaded_at)
            from raw.payment_attempts where attempt_id = ?""",
            [loaded, s09_attempt],
        )
        # A corrected version of S10's first March attempt: it belonged to S04's March invoice.
        # I-S10-01's remaining attempts must be renumbered although none of them changed.
        con.execute(
            """insert into raw.payment_attempts
            select * replace ('I-S04-03' as invoice_id,
                (select customer_id from raw.payment_attempts where attempt_id = 'A019') as customer_id,
                timestamp '2026-05-02 09:00' as updated_at, 'late.csv' as _source_file,
                3 as _source_row, ?::timestamp as _loaded_at)
            from raw.payment_attempts where attempt_id = 'A049'""",
            [loaded],
        )
    return s09_attempt


def test_late_arrivals_match_a_full_rebuild(golden_warehouse, tmp_path):
    warehouse = Warehouse(tmp_path)
    shutil.copy(golden_warehouse.path, warehouse.path)
    s09_attempt = _late_rows(warehouse.path)
    # Stamp every existing row: the rows the incremental run rewrites lose the stamp, so the
    # run's scope can be read back (a full rebuild would rewrite all 52).
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute("update marts.fct_payment_attempts set processor = 'before'")

    warehouse.dbt("run", "--select", "fct_payment_attempts")
    rewritten = warehouse.query(
        "select attempt_id from marts.fct_payment_attempts where processor <> 'before' order by 1"
    )
    # Exactly the attempts of the four touched chains: I-S07-02 with the late A900, S09's
    # re-coded attempt, I-S04-03 that A049 joined and I-S10-01 that it left.
    assert [a for (a,) in rewritten] == sorted(
        ["A033", "A034", "A035", "A900", s09_attempt, "A019", "A020", "A049", "A050", "A051"]
    )
    incremental = warehouse.query(f"select {COLUMNS} from marts.fct_payment_attempts order by 1")
    chain = warehouse.query(
        "select attempt_number, hours_since_previous_attempt from marts.fct_payment_attempts "
        "where invoice_id = 'I-S07-02' order by attempted_at"
    )
    assert [(n, float(h) if h is not None else None) for n, h in chain] == [
        (1, None),
        (2, 24.0),
        (3, 24.0),
        (4, 48.0),
    ]
    assert warehouse.query(
        "select decline_class from marts.fct_payment_attempts where attempt_id = ?", [s09_attempt]
    ) == [("fraud",)]
    # A049 (Mar 10) now follows A019 (Mar 1) and A020 (Mar 7); A050 (Mar 12) and A051 (Mar 15)
    # are the first and second attempts left on I-S10-01.
    moved = warehouse.query(
        "select invoice_id, attempt_id, attempt_number, hours_since_previous_attempt "
        "from marts.fct_payment_attempts where invoice_id in ('I-S04-03', 'I-S10-01') "
        "order by invoice_id, attempted_at"
    )
    assert [(i, a, n, float(h) if h is not None else None) for i, a, n, h in moved] == [
        ("I-S04-03", "A019", 1, None),
        ("I-S04-03", "A020", 2, 144.0),
        ("I-S04-03", "A049", 3, 72.0),
        ("I-S10-01", "A050", 1, None),
        ("I-S10-01", "A051", 2, 72.0),
    ]
    assert len(incremental) == 53  # 52 golden attempts + the late A900

    warehouse.dbt("run", "--select", "fct_payment_attempts", "--full-refresh")
    rebuilt = warehouse.query(f"select {COLUMNS} from marts.fct_payment_attempts order by 1")
    assert incremental == rebuilt
