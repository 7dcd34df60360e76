"""Publishing: readers see whole versions only, and a reader process sees a new version at once
even while it still holds the previous one open."""

import duckdb

from orchestration.publish import KEEP_VERSIONS, open_published, publish


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
