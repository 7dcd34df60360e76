"""Property-based ingestion: generated odd or corrupted landing files, each loaded into its
own real DuckDB warehouse (a copy of a template holding the parents): 100 random files; for
every shape of every entity two files that end in a row of that shape; for every corruption of
every format two files damaged that way.

For every file: rows read = loaded + quarantined + already loaded, as the manifest records;
every data row ends up exactly once in raw or in the quarantine (by its row number); every
quarantined row carries its reason, code and source file; re-running the load changes nothing;
the same rows delivered again in another file load nothing new. For a file that reaches the
loader as written (no broken quoting or truncation), each row's fate is the one its shape
predicts, with the reason, and the loaded values are exactly those written.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from orchestration import ingest
from orchestration.contract import ENTITY_BY_NAME
from tests.reliability.landing_shapes import (
    AMOUNT,
    ENTITIES,
    FREE_TEXT,
    PARENT_ROWS,
    LandingFile,
    corruptions_for,
    landing_files,
    shapes_for,
)

EXAMPLES = 100


def _csv(entity: str, rows: list[dict]) -> str:
    columns = ENTITY_BY_NAME[entity].column_names
    lines = [",".join(columns)]
    lines += [",".join(r.get(c) or "" for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A warehouse holding the parents every generated row may reference."""
    root = tmp_path_factory.mktemp("template")
    landing = root / "landing"
    for entity, rows in PARENT_ROWS.items():
        (landing / entity).mkdir(parents=True)
        (landing / entity / "parents.csv").write_text(_csv(entity, rows), encoding="utf-8")
    with ingest.connect(root / "w.duckdb") as con:
        for entity in ENTITY_BY_NAME:
            report = ingest.load_entity(con, entity, landing, root / "rejected")
            assert report.rows_quarantined == 0
        con.execute("checkpoint")
    return root / "w.duckdb"


def _counts(con, entity: str) -> tuple[int, int, int]:
    return (
        con.execute(f"select count(*) from raw.{entity}").fetchone()[0],
        con.execute("select count(*) from raw._quarantine").fetchone()[0],
        con.execute("select count(*) from raw._load_manifest").fetchone()[0],
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same 100 files on every run and in CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(f=landing_files())
def test_every_generated_file_is_accounted_for_row_by_row(template, f: LandingFile):
    _assert_accounted_for(template, f)


@pytest.mark.parametrize(("entity", "shape"), [(e, s) for e in ENTITIES for s in shapes_for(e)])
def test_every_shape_of_every_entity_is_accounted_for(template, entity: str, shape: str):
    """The random draw need not hold every shape; this holds each one, in a file of its kind."""

    @settings(max_examples=2, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(f=landing_files(entity, shape))
    def check(f: LandingFile):
        assert f.rows[-1].shape in (shape, "guest_customer")
        _assert_accounted_for(template, f)

    check()


@pytest.mark.parametrize(
    ("file_format", "corruption"),
    [(f, c) for f in ("csv", "jsonl", "parquet") for c in corruptions_for(f)],
)
def test_every_corruption_of_every_format_is_accounted_for(template, file_format, corruption):
    """Each way a file can arrive damaged, in each format, by construction (not by the draw)."""

    @settings(max_examples=2, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(f=landing_files(file_format=file_format, corruption=corruption))
    def check(f: LandingFile):
        assert (f.file_format, f.corruption) == (file_format, corruption)
        _assert_accounted_for(template, f)

    check()


def _assert_accounted_for(template: Path, f: LandingFile) -> None:
    entity = ENTITY_BY_NAME[f.entity]
    with tempfile.TemporaryDirectory(prefix="arrears-prop-") as tmp:
        root = Path(tmp)
        landing, rejected = root / "landing", root / "rejected"
        shutil.copy(template, root / "w.duckdb")
        path = landing / f.entity / f"drop{f.suffix}"
        path.parent.mkdir(parents=True)
        path.write_bytes(f.content)
        source = f"{f.entity}/drop{f.suffix}"
        with ingest.connect(root / "w.duckdb") as con:
            before = _counts(con, f.entity)
            (result,) = ingest.load_entity(con, f.entity, landing, rejected).files

            # Rows read = loaded + quarantined + already loaded, and the manifest says so.
            read, loaded, quarantined = (
                result.rows_read,
                result.rows_loaded,
                result.rows_quarantined,
            )
            assert read == loaded + quarantined + result.rows_already_loaded
            assert result.rows_already_loaded == 0  # nothing of this file was loaded before
            manifest = con.execute(
                "select status, rows_read, rows_loaded, rows_quarantined, rows_already_loaded "
                "from raw._load_manifest where file_path = ?",
                [source],
            ).fetchone()
            assert manifest == (result.status, read, loaded, quarantined, 0)
            assert result.status in ("loaded", "empty", "rejected")
            if result.status != "loaded":
                assert (read, loaded, quarantined) == (0, 0, 0)
            if result.status == "rejected":
                assert (rejected / f.entity / f"drop{f.suffix}.error.txt").read_text()

            # Every data row is either in raw or in the quarantine, once, with its lineage.
            raw_rows = con.execute(
                f"select _source_row from raw.{f.entity} where _source_file = ?", [source]
            ).fetchall()
            held = con.execute(
                "select source_row, reason, reason_code, record is not null, entity "
                "from raw._quarantine where source_file = ? order by source_row",
                [source],
            ).fetchall()
            assert len(raw_rows) == loaded and len(held) == quarantined
            assert sorted([r for (r,) in raw_rows] + [r[0] for r in held]) == list(
                range(1, read + 1)
            )
            for _, reason, code, has_record, held_entity in held:
                assert reason and has_record and held_entity == f.entity
                assert code in ("invalid", "unknown_reference")
            after = _counts(con, f.entity)
            assert after == (before[0] + loaded, before[1] + quarantined, before[2] + 1)

            if f.exact:
                _assert_rows_as_predicted(con, f, result, held, source)

            # A re-run changes nothing: the file is known by its checksum.
            again = ingest.load_entity(con, f.entity, landing, rejected)
            assert again.files == [] and again.released_from_quarantine == 0
            assert _counts(con, f.entity) == after

            # The same rows delivered again in another file (other bytes): nothing new loads.
            if result.status == "loaded" and f.file_format != "parquet":
                copy = landing / f.entity / f"again{f.suffix}"
                copy.write_bytes(f.content + b"\n")
                (second,) = ingest.load_entity(con, f.entity, landing, rejected).files
                assert (second.rows_read, second.rows_loaded, second.rows_already_loaded) == (
                    read,
                    0,
                    loaded,
                )
                assert second.rows_quarantined == quarantined
                assert con.execute(f"select count(*) from raw.{f.entity}").fetchone()[0] == after[0]
                key = entity.key
                (dupes,) = con.execute(
                    f"select count(*) from (select {key}, updated_at from raw.{f.entity} "
                    "group by all having count(*) > 1)"
                ).fetchone()
                assert dupes == 0


def _assert_rows_as_predicted(con, f: LandingFile, result, held, source: str) -> None:
    if f.corruption == "empty":
        assert result.status == "empty"
        return
    assert result.status == "loaded"
    rows = f.expected_rows
    assert result.rows_read == len(rows)
    expected = {i + 1: r for i, r in enumerate(rows)}
    assert {row for row, *_ in held} == {i for i, r in expected.items() if not r.loads}, [
        (i, r.shape, r.expected_reason) for i, r in expected.items()
    ]
    for row_no, reason, code, *_ in held:
        shaped = expected[row_no]
        assert shaped.expected_reason in reason, (shaped.shape, reason)
        only_reference = shaped.reason is None and not shaped.duplicate
        assert code == ("unknown_reference" if only_reference else "invalid"), (shaped, reason)
    if f.file_format != "parquet":
        notes = con.execute(
            "select coalesce(error, '') from raw._load_manifest where file_path = ?", [source]
        ).fetchone()[0]
        try:
            f.content.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
        assert ("not valid UTF-8" in notes) == (not utf8)
    # The values loaded are the values written: ids, amounts to the cent, times in UTC.
    entity = ENTITY_BY_NAME[f.entity]
    amount = AMOUNT.get(f.entity)
    text = FREE_TEXT.get(f.entity)
    columns = [entity.key, "updated_at", amount or "null", text or "null"]
    loaded = con.execute(
        f"select {', '.join(columns)}, _source_row from raw.{f.entity} where _source_file = ?",
        [source],
    ).fetchall()
    for key, updated_at, value, free, row_no in loaded:
        shaped = expected[row_no]
        assert key == shaped.values[entity.key].strip()
        assert updated_at == shaped.times["updated_at"]
        if amount:
            assert value == Decimal(shaped.values[amount].strip()), (shaped.shape, value)
        if text and f.encoding in ("utf-8", "utf-8-sig", "cp1252") and shaped.values.get(text):
            assert free == shaped.values[text]
