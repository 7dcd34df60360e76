"""Publishing: readers see whole versions only, and a reader process sees a new version at once
even while it still holds the previous one open."""

import duckdb

from orchestration.publish import KEEP_VERSIONS, open_published, publish
from tests.reliability.warehouse_state import fingerprint


def _warehouse(path, value: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts; create schema if not exists raw")
        con.execute("create or replace table marts.totals as select ? as total", [value])
        con.execute("create or replace table raw.customers as select 'ann@example.com' as email")


def test_new_version_is_visible_while_an_old_connection_is_open(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "pub" / "arrears.duckdb"
    _warehouse(warehouse, 1)
    publish(warehouse, published)
    old_reader = open_published(published)
    assert old_reader.execute("select total from marts.totals").fetchone() == (1,)

    _warehouse(warehouse, 2)
    publish(warehouse, published)
    with open_published(published) as new_reader:
        assert new_reader.execute("select total from marts.totals").fetchone() == (2,)
    # The old reader keeps its consistent snapshot until it closes.
    assert old_reader.execute("select total from marts.totals").fetchone() == (1,)
    old_reader.close()


def test_published_copy_excludes_raw_pii_and_old_versions_are_pruned(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "pub" / "arrears.duckdb"
    for value in range(KEEP_VERSIONS + 2):
        _warehouse(warehouse, value)
        counts = publish(warehouse, published)
    assert counts == {"marts.totals": 1}
    with open_published(published) as con:
        schemas = {
            s
            for (s,) in con.execute(
                "select schema_name from information_schema.schemata"
            ).fetchall()
        }
        assert "raw" not in schemas and "marts" in schemas
    versions = list(published.parent.glob("arrears-*.duckdb"))
    assert len(versions) == KEEP_VERSIONS
    assert published.is_symlink() and published.resolve() in [v.resolve() for v in versions]


def _log(published) -> dict[str, tuple[int, str]]:
    with open_published(published) as con:
        rows = con.execute(
            "select table_name, row_count, written_in from ops.published_tables"
        ).fetchall()
    return {name: (count, written) for name, count, written in rows}


def test_a_publish_rewrites_only_the_tables_that_changed(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "pub" / "arrears.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema quality")
        con.execute("create table marts.daily as select range as day, 10 as paid from range(3)")
        con.execute("create table marts.monthly as select 1 as month, 30 as paid")
        con.execute("create table marts.retired as select 1 as x")
        con.execute("create table quality.check_results as select 'ranges' as check_name")
    publish(warehouse, published)
    first = published.resolve().name
    assert _log(published) == {
        "marts.daily": (3, first), "marts.monthly": (1, first), "marts.retired": (1, first),
        "quality.check_results": (1, first),
    }  # fmt: skip

    # A drop touches one day (its mart and one more check result); the monthly mart is the same
    # rows written in another order, and one mart is gone.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.daily set paid = 11 where day = 2")
        con.execute("insert into quality.check_results values ('values')")
        con.execute(
            "create or replace table marts.monthly as select * from marts.monthly order by month"
        )
        con.execute("drop table marts.retired")
    counts = publish(warehouse, published)
    second = published.resolve().name
    assert second != first
    assert counts == {"marts.daily": 3, "marts.monthly": 1, "quality.check_results": 2}
    assert _log(published) == {
        "marts.daily": (3, second), "marts.monthly": (1, first),
        "quality.check_results": (2, second),
    }  # fmt: skip

    # The same content as a publish from scratch, table by table.
    fresh = tmp_path / "fresh" / "arrears.duckdb"
    publish(warehouse, fresh)
    schemas = ("marts", "quality", "ops")
    partial, full = fingerprint(published, schemas), fingerprint(fresh, schemas)
    log = "ops.published_tables"  # says which version wrote each table: differs by design
    assert {k: v for k, v in partial.items() if k != log} == {
        k: v for k, v in full.items() if k != log
    }
    assert set(partial) == {"marts.daily", "marts.monthly", "quality.check_results", log}
    with open_published(published) as con:
        assert con.execute("select sum(paid) from marts.daily").fetchone() == (31,)
