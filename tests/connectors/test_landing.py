"""Landing output: contract columns and types, same input → same bytes, stale files removed."""

import pyarrow.parquet as pq

from orchestration.connectors.common import contract_schema
from orchestration.connectors.run import import_stripe
from orchestration.contract import ENTITY_BY_NAME
from tests.connectors.crafted_stripe import write_crafted_stripe


def test_files_follow_the_contract_and_reruns_are_byte_identical(tmp_path):
    source = write_crafted_stripe(tmp_path / "stripe")
    landing = tmp_path / "landing"
    first = import_stripe(source, landing)
    for path in first.written:
        entity = path.parent.name
        schema = pq.read_schema(path)
        assert schema.names == ENTITY_BY_NAME[entity].column_names  # contract order
        assert schema.remove_metadata().equals(contract_schema(entity))
    snapshot = {p: p.read_bytes() for p in first.written}
    mtimes = {p: p.stat().st_mtime_ns for p in first.written}

    again = import_stripe(source, landing)
    assert again.written == [] and again.removed == []
    assert sorted(again.unchanged) == sorted(first.written)
    assert {p: p.read_bytes() for p in again.unchanged} == snapshot
    assert {p: p.stat().st_mtime_ns for p in again.unchanged} == mtimes  # not even touched

    # A dump removed from the source: its landing files go too (raw keeps what was loaded).
    (source / "2026-03-02_events.jsonl").unlink()
    third = import_stripe(source, landing)
    assert sorted(p.name for p in third.removed) == ["stripe--2026-03-02_events.parquet"] * 4
    assert not list(landing.rglob("*events*")) and not list(landing.rglob(".*"))


def test_two_sources_do_not_overwrite_each_other(tmp_path):
    a = write_crafted_stripe(tmp_path / "stripe")
    b = write_crafted_stripe(tmp_path / "eu_account")
    landing = tmp_path / "landing"
    assert import_stripe(a, landing).prefix == "stripe"
    second = import_stripe(b, landing)
    assert second.prefix == "stripe-eu_account" and second.removed == []
    names = sorted(p.name for p in (landing / "invoices").iterdir())
    assert names == [
        "stripe--2026-03-01_objects.parquet", "stripe--2026-03-02_events.parquet",
        "stripe-eu_account--2026-03-01_objects.parquet", "stripe-eu_account--2026-03-02_events.parquet",
    ]  # fmt: skip


def test_gzipped_dumps_read_like_plain_ones(tmp_path):
    import gzip

    plain = write_crafted_stripe(tmp_path / "plain")
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    for path in plain.iterdir():
        (zipped / (path.name + ".gz")).write_bytes(gzip.compress(path.read_bytes()))
    a = import_stripe(plain, tmp_path / "a", prefix="stripe")
    b = import_stripe(zipped, tmp_path / "b", prefix="stripe")
    assert [p.name for p in a.written] == [p.name for p in b.written]
    assert [p.read_bytes() for p in a.written] == [p.read_bytes() for p in b.written]
