"""Loading landing files into `raw.<entity>`: validate every row, quarantine the bad ones.

Each file is loaded in one DuckDB transaction (all its good rows, its quarantined rows and its
manifest entry commit together, or nothing does), so a crash mid-file leaves no trace and the
next run loads it whole. The manifest keys files by content checksum: the same bytes are never
loaded twice, whatever the file is called.
"""

from __future__ import annotations

import duckdb

from orchestration.contract import ENTITIES, LINEAGE_COLUMNS, Entity

MANIFEST_DDL = """
create table if not exists raw._load_manifest (
    file_path varchar not null,
    entity varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    rows_already_loaded bigint not null, -- versions identical to ones from an earlier file
    status varchar not null,          -- loaded | empty | rejected
    error varchar,                    -- why rejected, or notes (encoding, ignored columns)
    loaded_at timestamp not null,
    primary key (entity, sha256)
)"""

QUARANTINE_DDL = """
create table if not exists raw._quarantine (
    entity varchar not null,
    source_file varchar not null,
    source_row bigint,
    reason varchar not null,
    reason_code varchar not null,     -- invalid | unknown_reference (retried on every load)
    record json,
    quarantined_at timestamp not null,
    replayed_at timestamp
)"""


def raw_table_ddl(entity: Entity) -> str:
    cols = ",\n    ".join(f"{c.name} {c.type}" for c in (*entity.columns, *LINEAGE_COLUMNS))
    return f"create table if not exists raw.{entity.name} (\n    {cols}\n)"


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for entity in ENTITIES:
        con.execute(raw_table_ddl(entity))
        # A warehouse made before optional columns joined the contract gains them (null).
        for c in entity.columns:
            con.execute(f"alter table raw.{entity.name} add column if not exists {c.name} {c.type}")
    con.execute(MANIFEST_DDL)
    con.execute(QUARANTINE_DDL)


# --------------------------------------------------------------------------------------------
# Reading a landing file into a staging table of text columns, one row per data row.
# --------------------------------------------------------------------------------------------

import codecs  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

from orchestration.contract import (  # noqa: E402
    CURRENCIES,
    ENTITY_BY_NAME,
    EXCERPT,
    FILE_FORMATS,
    Column,
    ColumnSql,
    Rule,
    rules,
)
from orchestration.failpoints import failpoint  # noqa: E402
from orchestration.landing import discover_files as discover_files  # noqa: E402

# Callers and tests open the warehouse as `ingest.connect(path)`: the project's one connect().
from orchestration.warehouse import connect as connect  # noqa: E402

log = logging.getLogger(__name__)

BATCH_ROWS = 200_000  # rows per batch handed from Python readers to DuckDB; bounds memory
STAGE = "_stage"  # per-connection temp table holding one file's rows as text


class UnreadableFile(Exception):
    """The file as a whole cannot be parsed; it is set aside with this message."""


@dataclass
class FileLoadResult:
    path: Path
    entity: str
    status: str  # loaded | rejected | empty | skipped (already loaded)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_already_loaded: int = 0  # versions identical to ones loaded from an earlier file
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Windows-1252/Latin-1."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        path.read_bytes().decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"  # decodes any byte string


def _normalise(name: str) -> str:
    return name.strip().strip('"').lstrip("\ufeff").strip().lower().replace(" ", "_")


def _map_header(entity: Entity, header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Contract column → position in the file (case/space-insensitive), and the ignored extras."""
    wanted = set(entity.column_names)
    positions: dict[str, int] = {}
    extras = []
    for i, raw_name in enumerate(header):
        name = _normalise(raw_name)
        if name in wanted and name not in positions:
            positions[name] = i
        else:
            extras.append(raw_name)
    return positions, extras


def _check_required_columns(entity: Entity, present: set[str]) -> list[str]:
    """Raise when a required column is absent (every row would fail); return absent optionals."""
    missing_required = [c.name for c in entity.columns if c.required and c.name not in present]
    if missing_required:
        raise UnreadableFile(
            f"missing required column(s) {', '.join(missing_required)}; "
            f"the {entity.name} contract needs: {', '.join(entity.column_names)}"
        )
    return [c for c in entity.column_names if c not in present]


def _sniff_delimiter(header_line: str, entity: Entity) -> str:
    """The delimiter that splits the header into the most contract column names."""
    names = set(entity.column_names)
    best, best_hits = ",", -1
    for delim in (",", ";", "\t", "|"):
        hits = sum(_normalise(part) in names for part in header_line.split(delim))
        if hits > best_hits:
            best, best_hits = delim, hits
    return best


def _csv_batches(path: Path, entity: Entity, result: FileLoadResult) -> Iterator[pa.Table]:
    encoding = _detect_encoding(path)
    if encoding != "utf-8-sig":
        result.notes.append(f"read as {encoding} (not valid UTF-8)")
    with path.open("r", encoding=encoding, newline="") as fh:
        header_line = fh.readline()
        if not header_line.strip():
            raise UnreadableFile("no header line")
        delimiter = _sniff_delimiter(header_line, entity)
        if delimiter != ",":
            result.notes.append(f"delimiter {delimiter!r}")
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter, strict=False)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise UnreadableFile(f"header is not valid CSV: {exc}") from exc
        positions, extras = _map_header(entity, header)
        missing = _check_required_columns(entity, set(positions))
        _note_columns(result, extras, missing)
        yield from _rows_to_batches(_csv_records(reader, header, positions, path), entity)


def _csv_records(reader, header, positions, path) -> Iterator[tuple[int, dict | None, str | None]]:
    """(data row number, {column: text}, problem) for every data row of the file."""
    row_no = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. NUL byte, unterminated quote at EOF
            row_no += 1
            yield row_no, None, f"unreadable CSV row: {exc}"
            continue
        row_no += 1
        if not fields or fields == [""]:
            row_no -= 1  # blank lines are not data rows
            continue
        if fields == header:
            yield row_no, None, "repeated header line"
            continue
        if len(fields) != len(header):
            yield (
                row_no,
                dict(zip(header, fields, strict=False)),
                f"expected {len(header)} fields, found {len(fields)}",
            )
            continue
        yield row_no, {col: fields[i] for col, i in positions.items()}, None


def _jsonl_batches(path: Path, entity: Entity, result: FileLoadResult) -> Iterator[pa.Table]:
    encoding = _detect_encoding(path)
    if encoding != "utf-8-sig":
        result.notes.append(f"read as {encoding} (not valid UTF-8)")
    seen: set[str] = set()

    def records() -> Iterator[tuple[int, dict | None, str | None]]:
        with path.open("r", encoding=encoding) as fh:
            row_no = 0
            for line in fh:
                if not line.strip():
                    continue
                row_no += 1
                try:
                    # Decimals, not floats: 1234567890123456.78 would load as ...456.80.
                    obj = json.loads(line, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    yield row_no, {"_line": line[:1000]}, f"invalid JSON: {exc.msg}"
                    continue
                if not isinstance(obj, dict):
                    yield row_no, {"_line": line[:1000]}, "JSON line is not an object"
                    continue
                normalised = {_normalise(k): v for k, v in obj.items()}
                seen.update(normalised)
                yield row_no, {c: _json_text(normalised.get(c)) for c in entity.column_names}, None

    yield from _rows_to_batches(records(), entity)
    if seen:
        extras = sorted(seen - set(entity.column_names))
        missing = [c for c in entity.column_names if c not in seen]
        _note_columns(result, extras, missing)
        if any(entity.column(c).required for c in missing):
            # Rows were staged already; their per-row validation reports the missing values.
            result.notes.append("required column(s) absent from every line")


def _json_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _note_columns(result: FileLoadResult, extras: list[str], missing: list[str]) -> None:
    if extras:
        result.notes.append(f"ignored column(s) not in the contract: {', '.join(extras)}")
    if missing:
        result.notes.append(f"optional column(s) absent, loaded as null: {', '.join(missing)}")


def _rows_to_batches(records, entity: Entity) -> Iterator[pa.Table]:
    names = entity.column_names
    buf: dict[str, list] = {"_source_row": [], "_problem": [], "_raw": []}
    buf.update({c: [] for c in names})

    def flush() -> pa.Table:
        table = pa.table(
            {
                "_source_row": pa.array(buf["_source_row"], pa.int64()),
                "_problem": pa.array(buf["_problem"], pa.string()),
                "_raw": pa.array(buf["_raw"], pa.string()),
                **{c: pa.array(buf[c], pa.string()) for c in names},
            }
        )
        for values in buf.values():
            values.clear()
        return table

    for row_no, values, problem in records:
        buf["_source_row"].append(row_no)
        buf["_problem"].append(problem)
        if problem is not None:
            buf["_raw"].append(json.dumps(values, ensure_ascii=False) if values else None)
            for c in names:
                buf[c].append(None)
        else:
            buf["_raw"].append(None)
            for c in names:
                buf[c].append(values.get(c))
        if len(buf["_source_row"]) >= BATCH_ROWS:
            yield flush()
    if buf["_source_row"]:
        yield flush()


def _parquet_column(source: str, source_type: str, column: Column) -> str:
    """Stage a column typed when the file already holds the contract's type (nothing to parse,
    which is most of the cost at scale); anything else as text, parsed and explained like CSV."""
    quoted = f'"{source}"'
    if column.type != "VARCHAR":
        if source_type == column.type:
            return f"{quoted} as {column.name}"
        if column.type == "TIMESTAMP" and source_type == "TIMESTAMP WITH TIME ZONE":
            return f"({quoted} at time zone 'UTC') as {column.name}"
        if column.type == "TIMESTAMP" and source_type in (
            "TIMESTAMP_NS",
            "TIMESTAMP_MS",
            "TIMESTAMP_S",
        ):
            return f"{quoted}::timestamp as {column.name}"
    return f"cast({quoted} as varchar) as {column.name}"


def _stage_parquet(con, path: Path, source_file: str, entity: Entity, result) -> None:
    try:
        described = con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(path)],
        ).fetchall()
    except duckdb.Error as exc:
        raise UnreadableFile(f"not a readable Parquet file: {_first_line(exc)}") from exc
    columns = [name for name, _ in described]
    source_types = dict(described)
    positions, extras = _map_header(entity, columns)
    missing = _check_required_columns(entity, set(positions))
    _note_columns(result, extras, missing)
    select = ", ".join(
        _parquet_column(columns[positions[c.name]], source_types[columns[positions[c.name]]], c)
        if c.name in positions
        else f"null::varchar as {c.name}"
        for c in entity.columns
    )
    try:
        con.execute(
            f"""create or replace temp table {STAGE} as
            select ?::varchar as _source_file, file_row_number + 1 as _source_row,
                   null::varchar as _problem,
                   null::varchar as _raw, {select}
            from read_parquet(?, file_row_number = true)""",
            [source_file, str(path)],
        )
    except duckdb.Error as exc:
        raise UnreadableFile(f"Parquet file could not be read: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def stage_file(con, path: Path, source_file: str, entity: Entity, result) -> None:
    """Fill the temp table `_stage` with the file's rows as text, one row per data row."""
    kind = FILE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFile(
            f"unsupported file type {path.suffix!r}; accepted: {', '.join(sorted(FILE_FORMATS))}"
        )
    if kind == "parquet":
        _stage_parquet(con, path, source_file, entity, result)
        return
    cols = ", ".join(f"{c} varchar" for c in entity.column_names)
    con.execute(
        f"create or replace temp table {STAGE} "
        f"(_source_file varchar, _source_row bigint, _problem varchar, _raw varchar, {cols})"
    )
    batches = _csv_batches if kind == "csv" else _jsonl_batches
    try:
        for batch in batches(path, entity, result):
            con.register("_batch", batch)
            con.execute(f"insert into {STAGE} select ?, * from _batch", [source_file])
            con.unregister("_batch")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"cannot decode text: {exc}") from exc


# --------------------------------------------------------------------------------------------
# Validating staged rows against the contract, and writing raw + quarantine + manifest.
# --------------------------------------------------------------------------------------------


def _text(column: Column, staged_typed: bool) -> str:
    return column.name if staged_typed else f"nullif(trim({column.name}), '')"


def _typed(column: Column, staged_typed: bool) -> str:
    text = _text(column, staged_typed)
    if staged_typed:
        return text
    if column.allowed == CURRENCIES:  # `currency`, `balance_currency`: codes are upper case
        return f"upper({text})"
    if column.allowed:
        return f"lower({text})"
    if column.type == "VARCHAR":
        return text
    if column.type == "TIMESTAMP":
        return f"(try_cast({text} as timestamptz) at time zone 'UTC')"
    return f"try_cast({text} as {column.type})"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _unparseable(column: Column, staged_typed: bool) -> list[str]:
    """A value whose text is not of the column's type: a parsing fact, so ingestion's own."""
    if column.type == "VARCHAR" or staged_typed:
        return []
    text, excerpt = _text(column, staged_typed), f"left({column.name}, {EXCERPT})"
    return [
        f"case when {text} is not null and t_{column.name} is null then "
        f"'unparseable {column.name} (expected {column.type.lower()}): ''' || {excerpt} || '''' end"
    ]


def _row_reasons(entity: Entity, staged_typed: dict[str, bool]) -> list[str]:
    """SQL expressions yielding a reason text (or null) for a staged row: the contract's rules,
    column by column, then the record's. A version stamped in the future is quarantined here,
    so that one row can never block the build as a whole in the raw checks."""

    def columns(name: str) -> ColumnSql:
        text = _text(entity.column(name), staged_typed[name])
        return ColumnSql(value=f"t_{name}", text=text, source=name)

    checked = rules(entity, now="(now() at time zone 'UTC')")

    def reasons(of: list[Rule]) -> list[str]:
        return [f"case when {r.predicate(columns)} then {r.reason_sql(columns)} end" for r in of]

    by_column = [
        reason
        for c in entity.columns
        for reason in _unparseable(c, staged_typed[c.name])
        + reasons([r for r in checked if r.column == c.name])
    ]
    return by_column + reasons([r for r in checked if r.column is None])


def _references(entity: Entity) -> list[tuple[Column, str, str]]:
    """(column, parent entity, parent key) of every reference."""
    return [
        (column, column.parent, ENTITY_BY_NAME[column.parent].key)
        for column in entity.columns
        if column.parent
    ]


def _check_staged(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Build temp table `_checked`: typed values, row problems, reference problems, duplicates.

    Written for scale, where one file holds millions of rows: a single pass over the staged
    rows; each parent table is probed only for the keys this file mentions (a full parent
    grows with every file); duplicates are numbered only where a version occurs twice.
    """
    staged_types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = ? and table_catalog = 'temp'",
            [STAGE],
        ).fetchall()
    )
    staged_typed = {c.name: staged_types[c.name] != "VARCHAR" for c in entity.columns}
    typed = ", ".join(f"{_typed(c, staged_typed[c.name])} as t_{c.name}" for c in entity.columns)
    row_reasons = _row_reasons(entity, staged_typed)
    references = _references(entity)
    known = [
        f"""known_{column.name} as (
            select distinct {parent_key} as known_key from raw.{parent}
            where {parent_key} in (select t_{column.name} from typed))"""
        for column, parent, parent_key in references
    ]
    joins = "".join(
        f" left join known_{column.name} on t_{column.name} = known_{column.name}.known_key"
        for column, _, _ in references
    )
    ref_reasons = [
        f"case when t_{column.name} is not null and known_{column.name}.known_key is null then "
        f"'unknown {column.name} ''' || left(t_{column.name}, {EXCERPT}) || "
        f"''' (no such {parent[:-1].replace('_', ' ')})' end"
        for column, parent, _ in references
    ] or ["null::varchar"]
    stage_columns = ", ".join(
        f"typed.{c}"
        for c in ("_source_file", "_source_row", "_problem", "_raw", *entity.column_names)
    )
    con.execute(
        f"""
        create or replace temp table _checked as
        with typed as (select *, {typed} from {STAGE}){"".join(", " + k for k in known)}
        select {stage_columns}, {", ".join(f"t_{c}" for c in entity.column_names)},
            -- A structurally broken row (wrong field count, bad JSON) has one reason only.
            case when _problem is not null then [_problem] else
                list_filter([{", ".join(row_reasons)}], lambda x: x is not null)
            end as row_reasons,
            list_filter([{", ".join(ref_reasons)}], lambda x: x is not null) as ref_reasons,
            null::varchar as duplicate_reason
        from typed{joins}"""
    )
    # The same version twice in one file is ambiguous: keep the first, flag the rest.
    key, ts = f"t_{entity.key}", "t_updated_at"
    con.execute(
        f"""
        update _checked set duplicate_reason =
            'duplicate of an earlier row with the same {entity.key} and updated_at'
        from (
            select _source_file, _source_row
            from _checked
            semi join (
                select {key}, {ts} from _checked where len(row_reasons) = 0
                group by all having count(*) > 1
            ) as repeated using ({key}, {ts})
            where len(row_reasons) = 0
            qualify row_number() over (
                partition by {key}, {ts} order by _source_file, _source_row) > 1
        ) as later
        where _checked._source_file = later._source_file
            and _checked._source_row = later._source_row"""
    )


def _insert_good_rows(
    con: duckdb.DuckDBPyConnection, entity: Entity, loaded_at: datetime
) -> tuple[int, int]:
    """Insert valid rows not already in raw (same key + updated_at). Returns (loaded, skipped)."""
    cols = ", ".join(entity.column_names)
    typed_cols = ", ".join(f"t_{c}" for c in entity.column_names)
    key = entity.key
    con.execute(
        """create or replace temp view _good as
        select * from _checked
        where len(row_reasons) = 0 and len(ref_reasons) = 0 and duplicate_reason is null"""
    )
    (good,) = con.execute("select count(*) from _good").fetchone()
    (loaded,) = con.execute(
        f"""insert into raw.{entity.name} ({cols}, _source_file, _source_row, _loaded_at)
        select {typed_cols}, _source_file, _source_row, ?::timestamp
        from _good g
        where not exists (
            select 1 from raw.{entity.name} r
            where r.{key} = g.t_{key} and r.updated_at = g.t_updated_at
        )""",
        [loaded_at],
    ).fetchone()
    return loaded, good - loaded


def _insert_quarantine(con: duckdb.DuckDBPyConnection, entity: Entity, loaded_at: datetime) -> int:
    # The row's original text, as JSON: built for quarantined rows only (it is costly at scale).
    record = ", ".join(f"{_quote(c)}: {c}" for c in entity.column_names)
    (count,) = con.execute(
        f"""insert into raw._quarantine
        select {_quote(entity.name)}, _source_file, _source_row,
            array_to_string(list_concat(row_reasons, ref_reasons,
                case when duplicate_reason is null then [] else [duplicate_reason] end), '; '),
            case when len(row_reasons) = 0 and duplicate_reason is null
                then 'unknown_reference' else 'invalid' end,
            coalesce(_raw::json, to_json({{{record}}})), ?::timestamp, null
        from _checked
        where len(row_reasons) > 0 or len(ref_reasons) > 0 or duplicate_reason is not null""",
        [loaded_at],
    ).fetchone()
    return count


# --------------------------------------------------------------------------------------------
# Files → raw: discovery, one transaction per file, set-aside of unreadable files.
# --------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def load_file(
    con: duckdb.DuckDBPyConnection,
    entity_name: str,
    path: Path,
    landing_dir: Path,
    rejected_dir: Path,
) -> FileLoadResult:
    """Load one landing file atomically. Already-loaded content is skipped by checksum."""
    entity = ENTITY_BY_NAME[entity_name]
    result = FileLoadResult(path=path, entity=entity_name, status="loaded")
    source_file = (
        str(path.relative_to(landing_dir)) if path.is_relative_to(landing_dir) else str(path)
    )
    sha = file_sha256(path)
    size = path.stat().st_size
    seen = con.execute(
        "select status from raw._load_manifest where entity = ? and sha256 = ?", [entity_name, sha]
    ).fetchone()
    if seen:
        result.status = "skipped"
        if seen[0] == "rejected" and path.exists():
            _set_aside(path, landing_dir, rejected_dir, None)
        return result

    loaded_at = _now()
    con.execute("begin transaction")
    try:
        if size == 0:
            result.status = "empty"
        else:
            stage_file(con, path, source_file, entity, result)
            (result.rows_read,) = con.execute(f"select count(*) from {STAGE}").fetchone()
            _check_staged(con, entity)
            result.rows_loaded, result.rows_already_loaded = _insert_good_rows(
                con, entity, loaded_at
            )
            result.rows_quarantined = _insert_quarantine(con, entity, loaded_at)
        failpoint("ingest.before_commit")
    except UnreadableFile as exc:
        con.execute("rollback")
        con.execute("begin transaction")
        result.status, result.error = "rejected", str(exc)
        result.rows_read = result.rows_loaded = result.rows_quarantined = 0
    except Exception:
        con.execute("rollback")
        raise
    con.execute(
        "insert into raw._load_manifest values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source_file, entity_name, sha, size, result.rows_read, result.rows_loaded,
            result.rows_quarantined, result.rows_already_loaded, result.status,
            result.error if result.status == "rejected" else ("; ".join(result.notes) or None),
            loaded_at,
        ],
    )  # fmt: skip
    con.execute("commit")
    failpoint("ingest.after_commit")
    if result.status == "rejected":
        _set_aside(path, landing_dir, rejected_dir, result.error)
    return result


def _set_aside(path: Path, landing_dir: Path, rejected_dir: Path, error: str | None) -> None:
    """Move an unreadable file out of the landing folder, with a report beside it."""
    relative = (
        path.relative_to(landing_dir) if path.is_relative_to(landing_dir) else Path(path.name)
    )
    target = rejected_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if error is not None:
        target.with_name(target.name + ".error.txt").write_text(
            f"file: {relative}\nrejected at: {_now():%Y-%m-%d %H:%M:%S} UTC\nreason: {error}\n"
            "Fix the file and drop it into the landing folder again; "
            "its new content will be loaded.\n"
        )
    shutil.move(str(path), target)


def retry_unknown_references(con: duckdb.DuckDBPyConnection, entity_name: str) -> int:
    """Re-check quarantined rows whose only fault was a reference to a record not yet loaded.

    Files arrive in any order (invoices before their customer): once the parent is loaded,
    the child loads as if it had arrived in order. Returns the number of rows released.
    """
    entity = ENTITY_BY_NAME[entity_name]
    (pending,) = con.execute(
        "select count(*) from raw._quarantine where entity = ? and reason_code = 'unknown_reference'"
        " and replayed_at is null",
        [entity_name],
    ).fetchone()
    if not pending:
        return 0
    cols = ", ".join(f"json_extract_string(record, '$.{c}') as {c}" for c in entity.column_names)
    con.execute("begin transaction")
    try:
        con.execute(
            f"""create or replace temp table {STAGE} as
            select source_file as _source_file, source_row as _source_row, null::varchar as _problem,
                   null::varchar as _raw, {cols}
            from raw._quarantine
            where entity = ? and reason_code = 'unknown_reference' and replayed_at is null""",
            [entity_name],
        )
        _check_staged(con, entity)
        loaded, _ = _insert_good_rows(con, entity, _now())
        con.execute(
            """update raw._quarantine q set replayed_at = ?
            from _good g
            where q.entity = ? and q.source_file = g._source_file and q.source_row = g._source_row
              and q.replayed_at is null""",
            [_now(), entity_name],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return loaded


@dataclass
class EntityLoadReport:
    entity: str
    files: list[FileLoadResult]
    released_from_quarantine: int

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files) + self.released_from_quarantine

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rejected(self) -> list[FileLoadResult]:
        return [f for f in self.files if f.status == "rejected"]


def load_entity(
    con: duckdb.DuckDBPyConnection, entity_name: str, landing_dir: Path, rejected_dir: Path
) -> EntityLoadReport:
    create_raw_schema(con)
    results = []
    for path in discover_files(landing_dir, entity_name):
        result = load_file(con, entity_name, path, landing_dir, rejected_dir)
        if result.status != "skipped":
            log.info(
                "%s %s: %s — read %d, loaded %d, quarantined %d, already loaded %d%s",
                entity_name, result.path.name, result.status, result.rows_read,
                result.rows_loaded, result.rows_quarantined, result.rows_already_loaded,
                f" — {result.error}" if result.error else "",
            )  # fmt: skip
        results.append(result)
    released = retry_unknown_references(con, entity_name)
    resolve_fixed_rows(con, entity_name)
    return EntityLoadReport(entity_name, [r for r in results if r.status != "skipped"], released)


# --------------------------------------------------------------------------------------------
# Quarantine: list, export for fixing, and mark rows whose fixed version has been loaded.
# --------------------------------------------------------------------------------------------


def resolve_fixed_rows(con: duckdb.DuckDBPyConnection, entity_name: str) -> int:
    """Mark quarantined rows whose key and `updated_at` have since been loaded (a fixed copy
    was dropped into the landing folder). Returns how many were marked."""
    entity = ENTITY_BY_NAME[entity_name]
    (count,) = con.execute(
        f"""update raw._quarantine q set replayed_at = ?
        where q.entity = ? and q.replayed_at is null and exists (
            select 1 from raw.{entity.name} r
            where r.{entity.key} = json_extract_string(q.record, '$.{entity.key}')
              and r.updated_at = try_cast(json_extract_string(q.record, '$.updated_at')
                                          as timestamptz) at time zone 'UTC')""",
        [_now(), entity_name],
    ).fetchone()
    return count


def export_quarantine(con: duckdb.DuckDBPyConnection, entity_name: str, out: Path) -> int:
    """Write the entity's pending quarantined rows as a contract CSV to fix and drop back.

    The file has the contract columns plus `_reason`, `_source_file`, `_source_row` (ignored on
    load, as any column outside the contract), so a fixed copy loads as a normal landing file.
    """
    entity = ENTITY_BY_NAME[entity_name]
    cols = ", ".join(f"json_extract_string(record, '$.{c}') as {c}" for c in entity.column_names)
    out.parent.mkdir(parents=True, exist_ok=True)
    (count,) = con.execute(
        "select count(*) from raw._quarantine where entity = ? and replayed_at is null",
        [entity_name],
    ).fetchone()
    con.execute(
        f"""copy (
            select {cols}, reason as _reason, source_file as _source_file, source_row as _source_row
            from raw._quarantine where entity = {_quote(entity_name)} and replayed_at is null
            order by source_file, source_row
        ) to {_quote(str(out))} (header, delimiter ',')"""
    )
    return count
