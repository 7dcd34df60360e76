"""How far each raw entity's records have passed the scoped raw checks (`raw.SCOPED_CHECKS`).

`raw._check_watermarks` holds, per entity, the newest `_loaded_at` of it and its parents at the
start of the last evaluation in which every scoped check of the entity passed, and the
definition (orchestration/build_state.py `definition_digest`: the checks' code, the contract,
the settings) it passed under. The next evaluation judges only the records loaded after it.

Rows written by hand (or by a loader bug) with an old `_loaded_at` would slip under the mark: the
mark also keeps the entity's row count, and when the rows loaded up to the mark no longer number
that (rows inserted or deleted below it), the mark is ignored and every record is judged again.
A row updated in place below the mark is not detected.

The mark moves in the same transaction as the results (`runner.check_and_record`): a failed
evaluation leaves it where it was, so its records are judged again (a blocked build stays
blocked until a corrected version arrives), and a crashed one leaves both unwritten. A changed
definition ignores the mark: everything is judged again under the new rules.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from data_quality.core import CheckResult
from orchestration.contract import ENTITY_BY_NAME

TABLE = "raw._check_watermarks"
DDL = f"""
create table if not exists {TABLE} (
    entity varchar primary key,
    loaded_through timestamp not null,  -- records loaded up to here passed every scoped check
    rows_through bigint not null,       -- the entity's rows loaded up to the mark, then
    definition varchar not null,        -- under this definition of the checks and settings
    evaluated_at timestamp not null     -- UTC
)"""


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    query = (
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = '_check_watermarks'"
    )
    return bool(con.execute(query).fetchone()[0])


def passed_through(con: duckdb.DuckDBPyConnection, definition: str) -> dict[str, dt.datetime]:
    """The entities' marks recorded under `definition` (the others are judged whole)."""
    if not _exists(con):
        return {}
    rows = con.execute(
        f"select entity, loaded_through, rows_through from {TABLE} where definition = ?",
        [definition],
    ).fetchall()
    return {
        name: mark
        for name, mark, count in rows
        if con.execute(f"select count(*) from raw.{name} where _loaded_at <= ?", [mark]).fetchone()[
            0
        ]
        == count
    }


def loaded_through(con: duckdb.DuckDBPyConnection, entities) -> dict[str, tuple]:
    """Per entity, the newest load of it or its parents (where its mark moves if it passes) and
    its row count (every row is loaded up to that mark)."""
    marks = {}
    for name in entities:
        tables = [name, *ENTITY_BY_NAME[name].parents]
        newest = " union all ".join(f"select max(_loaded_at) as t from raw.{t}" for t in tables)
        (mark,) = con.execute(f"select max(t) from ({newest})").fetchone()
        (rows,) = con.execute(f"select count(*) from raw.{name}").fetchone()
        marks[name] = (mark, rows)
    return marks


def advance(
    con: duckdb.DuckDBPyConnection,
    results: list[CheckResult],
    marks: dict[str, tuple],
    definition: str,
    scoped: tuple[str, ...],
) -> list[str]:
    """Move the marks of the entities whose every scoped check ran and passed (in the caller's
    transaction). Returns the entities moved."""
    con.execute(DDL)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    moved = []
    for name, (mark, rows) in marks.items():
        verdicts = [
            r.passed for r in results if r.check.asset == ("raw", name) and r.check.name in scoped
        ]
        expected = {c for c in scoped if _applies(name, c)}
        ran = {r.check.name for r in results if r.check.asset == ("raw", name)} & expected
        if mark is None or ran != expected or not all(verdicts):
            continue
        con.execute(
            f"insert or replace into {TABLE} values (?, ?, ?, ?, ?)",
            [name, mark, rows, definition, now],
        )
        moved.append(name)
    return moved


def _applies(entity: str, check: str) -> bool:
    from data_quality.raw import reference_rules

    return check != "references" or bool(reference_rules(ENTITY_BY_NAME[entity]))
