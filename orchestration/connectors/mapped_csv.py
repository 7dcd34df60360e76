"""Any billing system's CSV exports → contract rows, driven by a small YAML mapping file.

A mapping names, per contract entity, the export files to read, an optional row filter, and for
each contract column where its value comes from (docs/connectors.md has the reference; the
shipped examples are in `mappings/`):

    entities:
      payment_attempts:
        files: ["transactions*.csv"]
        where: {type: [purchase]}              # keep rows whose `type` is one of these
        columns:
          attempt_id: transaction_id           # a source column (case and spacing ignored)
          amount: {column: amount, unit: major}
          outcome: {column: status, values: {success: succeeded, declined: failed}}
          processor: {value: recurly}          # a constant
          name: {join: [first_name, last_name], separator: " "}
          invoice_id: {column: id, lookup: {files: "links*.csv", key: transaction_id, value: invoice_id}}

Values outside a value map are kept as they came (and counted in the report), so the ingestion
quarantines what the contract does not allow instead of the mapping guessing. Versions, orphans
and placeholders follow the same rules as the Stripe connector (`common.assign_versions`).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from orchestration.connectors.common import (
    MappingReport,
    Row,
    add_placeholder_customers,
    assign_versions,
    report_orphans,
    to_decimal,
    to_utc,
)
from orchestration.contract import ENTITY_BY_NAME

MAPPINGS_DIR = Path(__file__).parent / "mappings"
MAPPING_FILE = "mapping.yaml"  # a mapping kept next to the exports it describes
_SPEC_KEYS = {
    "column", "coalesce", "join", "separator", "value", "values", "unmapped", "default", "format",
    "timezone", "unit", "abs", "lookup",
}  # fmt: skip
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class MappingError(ValueError):
    """The mapping file is wrong; the message says where."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


@dataclass
class Defaults:
    timezone: str = "UTC"
    timestamp_format: str | None = None  # None: ISO-8601, Unix seconds/ms, or "... PST"
    amount_unit: str = "major"
    decimal_separator: str = "."
    thousands_separator: str = ""
    currency: str | None = None  # for exports without a currency column


@dataclass
class EntityMapping:
    entity: str
    files: list[str]
    columns: dict[str, dict]
    where: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Mapping:
    name: str
    defaults: Defaults
    entities: list[EntityMapping]


def _spec(entity: str, column: str, raw) -> dict:
    where = f"entities.{entity}.columns.{column}"
    if isinstance(raw, str):
        return {"column": raw}
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: expected a column name or a mapping, got {raw!r}")
    unknown = set(raw) - _SPEC_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not ({"column", "coalesce", "join", "value"} & set(raw)) and "default" not in raw:
        raise MappingError(f"{where}: needs one of column, coalesce, join, value")
    spec = dict(raw)
    lookup = spec.get("lookup")
    if lookup is not None and not (
        isinstance(lookup, dict)
        and {"key", "value"} <= set(lookup)
        and ("files" in lookup or "file" in lookup)
    ):
        raise MappingError(f"{where}: lookup needs files, key and value")
    if "values" in spec:
        spec["values"] = {_value_key(k): v for k, v in (spec["values"] or {}).items()}
    return spec


def _value_key(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def load_mapping(path_or_name: str | Path) -> Mapping:
    """A mapping from a YAML file, or a shipped one by name (`chargebee`, `recurly`)."""
    path = Path(path_or_name)
    if not path.exists():
        shipped = MAPPINGS_DIR / f"{path_or_name}.yaml"
        if not shipped.exists():
            names = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml")))
            raise MappingError(f"no mapping file {path_or_name!r} (shipped mappings: {names})")
        path = shipped
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from exc
    defaults = Defaults(**{k: v for k, v in (doc.get("defaults") or {}).items()})
    if defaults.amount_unit not in ("major", "minor"):
        raise MappingError(f"{path}: defaults.amount_unit must be major or minor")
    entities = []
    for name, body in (doc.get("entities") or {}).items():
        if name not in ENTITY_BY_NAME:
            raise MappingError(
                f"{path}: unknown entity {name!r} (contract: {', '.join(ENTITY_BY_NAME)})"
            )
        contract = ENTITY_BY_NAME[name]
        columns = {}
        for column, raw in (body.get("columns") or {}).items():
            if column not in contract.column_names:
                raise MappingError(f"{path}: {name} has no column {column!r}")
            columns[column] = _spec(name, column, raw)
        missing = [
            c.name for c in contract.columns
            if c.required and c.name not in columns and c.name != "updated_at"
            and not (name == "payment_attempts" and c.name == "attempt_number")
        ]  # fmt: skip
        if missing:
            raise MappingError(f"{path}: {name} must map required column(s) {', '.join(missing)}")
        files = body.get("files")
        files = [files] if isinstance(files, str) else list(files or [])
        if not files:
            raise MappingError(f"{path}: {name} needs `files` (glob patterns)")
        where = {_norm(k): {_value_key(x) for x in (v if isinstance(v, list) else [v])}
                 for k, v in (body.get("where") or {}).items()}  # fmt: skip
        entities.append(EntityMapping(name, files, columns, where))
    if not entities:
        raise MappingError(f"{path}: no entities mapped")
    return Mapping(doc.get("name") or path.stem, defaults, entities)


# ------------------------------------------------------------------------------ reading


def _encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(path.read_bytes(), final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1252"  # spreadsheet exports on Windows


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows keyed by normalised header name; the delimiter is sniffed (`,` `;` tab `|`)."""
    text = path.read_text(encoding=_encoding(path))
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=first.count)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [_norm(h) for h in next(reader, [])]
    return [
        dict(zip(header, fields, strict=False))
        for fields in reader
        if any(f.strip() for f in fields)
    ]


class CsvMapper:
    def __init__(self, mapping: Mapping, folder: Path, report: MappingReport):
        self.mapping, self.folder, self.report = mapping, folder, report
        self._lookups: dict[tuple, dict[str, str]] = {}
        self._files: dict[Path, list[dict[str, str]]] = {}

    def _rows_of(self, path: Path) -> list[dict[str, str]]:
        if path not in self._files:
            try:
                self._files[path] = read_csv(path)
            except (OSError, csv.Error, UnicodeDecodeError) as exc:
                self.report.unreadable.append(f"{path.name}: {exc}")
                self._files[path] = []
            self.report.objects_read[path.name] += len(self._files[path])
        return self._files[path]

    def _glob(self, patterns: list[str]) -> list[Path]:
        found = {p for pattern in patterns for p in self.folder.glob(pattern) if p.is_file()}
        return sorted(
            p for p in found if not p.name.startswith((".", "_")) and p.name != MAPPING_FILE
        )

    def _lookup(self, spec: dict) -> dict[str, str]:
        files = spec.get("files") or spec.get("file")
        files = [files] if isinstance(files, str) else list(files or [])
        cache_key = (tuple(files), spec.get("key"), spec.get("value"))
        if cache_key not in self._lookups:
            table = {}
            key, value = _norm(spec["key"]), _norm(spec["value"])
            for path in self._glob(files):
                for row in self._rows_of(path):
                    if row.get(key, "").strip() and row.get(value, "").strip():
                        table.setdefault(row[key].strip(), row[value].strip())
            self._lookups[cache_key] = table
        return self._lookups[cache_key]

    def _text(self, spec: dict, row: dict[str, str]) -> str | None:
        if "value" in spec:
            value = spec["value"]
            return (
                None
                if value is None
                else _value_key(value)
                if isinstance(value, bool)
                else str(value)
            )
        if "join" in spec:
            parts = [row.get(_norm(c), "").strip() for c in spec["join"]]
            text = spec.get("separator", " ").join(p for p in parts if p)
        else:
            names = spec["coalesce"] if "coalesce" in spec else [spec.get("column")]
            text = next(
                (
                    row.get(_norm(c), "").strip()
                    for c in names
                    if c and row.get(_norm(c), "").strip()
                ),
                "",
            )
        if text and "lookup" in spec:
            text = self._lookup(spec["lookup"]).get(text, "")
        return text or None

    def _number_text(self, text: str) -> str:
        d = self.mapping.defaults
        if d.thousands_separator:
            text = text.replace(d.thousands_separator, "")
        if d.decimal_separator != ".":
            text = text.replace(d.decimal_separator, ".")
        return text.replace(" ", "").lstrip("$€£¥")

    def _value(
        self, entity: str, column: str, spec: dict, row: dict[str, str], currency: str | None
    ):
        text = self._text(spec, row)
        if text is None:
            text = None if spec.get("default") is None else str(spec["default"])
        if text is None:
            return None
        contract_column = ENTITY_BY_NAME[entity].column(column)
        reported = False
        if "values" in spec:
            key = text.strip().lower()
            if key in spec["values"]:
                mapped = spec["values"][key]
                if mapped is None:
                    return None
                text = _value_key(mapped) if isinstance(mapped, bool) else str(mapped)
            else:
                unmapped = spec.get("unmapped", "keep")
                unmapped = "null" if unmapped is None else unmapped
                # Open columns (decline codes) keep what the map does not name, silently.
                if contract_column.allowed or "unmapped" in spec:
                    self.report.unknown_values[f"{entity}.{column}"][text] += 1
                reported = True
                if unmapped == "null":
                    return None
                if unmapped != "keep":
                    text = str(unmapped)
        kind = contract_column.type
        if kind == "TIMESTAMP":
            parsed = to_utc(
                text,
                fmt=spec.get("format") or self.mapping.defaults.timestamp_format,
                tz=spec.get("timezone") or self.mapping.defaults.timezone,
            )
            if parsed is None:
                self.report.notes[f"{entity}.{column}: unreadable timestamp → null"] += 1
            return parsed
        if kind.startswith("DECIMAL"):
            amount = to_decimal(
                self._number_text(text),
                currency,
                spec.get("unit") or self.mapping.defaults.amount_unit,
            )
            if amount is None:
                self.report.notes[f"{entity}.{column}: unreadable amount → null"] += 1
            elif spec.get("abs"):
                amount = abs(amount)
            return amount
        if kind in ("INTEGER", "BIGINT"):
            try:
                return int(float(self._number_text(text)))
            except ValueError:
                self.report.notes[f"{entity}.{column}: unreadable number → null"] += 1
                return None
        if kind == "BOOLEAN":
            key = text.strip().lower()
            if key in _TRUE or key in _FALSE:
                return key in _TRUE
            self.report.unknown_values[f"{entity}.{column}"][text] += 1
            return None
        text = text.strip()
        if column == "currency":
            text = text.upper()
        if contract_column.allowed and not reported:
            normal = text if column == "currency" else text.lower()
            if normal not in contract_column.allowed:
                self.report.unknown_values[f"{entity}.{column}"][text] += 1
        return text

    def map_rows(self) -> list[Row]:
        rows: list[Row] = []
        seq = 0
        for em in self.mapping.entities:
            files = self._glob(em.files)
            if not files:
                self.report.notes[f"{em.entity}: no file matches {', '.join(em.files)}"] += 1
            key_column = ENTITY_BY_NAME[em.entity].key
            for path in files:
                for source_row in self._rows_of(path):
                    seq += 1
                    if any(
                        source_row.get(col, "").strip().lower() not in allowed
                        for col, allowed in em.where.items()
                    ):
                        self.report.excluded[
                            f"{em.entity}: {path.name} row filtered by `where`"
                        ] += 1
                        continue
                    row = self._map_row(em, source_row)
                    if not row.get(key_column):
                        self.report.excluded[
                            f"{em.entity}: {path.name} row without {key_column}"
                        ] += 1
                        continue
                    base_at = row.pop("updated_at", None) or max(
                        (v for k, v in row.items() if isinstance(v, datetime)), default=None
                    )
                    if base_at is None:
                        self.report.excluded[
                            f"{em.entity}: {path.name} row without any timestamp"
                        ] += 1
                        continue
                    rows.append(Row(em.entity, row[key_column], base_at, seq, path.stem, row))
        _number_attempts(rows, {em.entity: em for em in self.mapping.entities})
        return rows

    def _map_row(self, em: EntityMapping, source_row: dict[str, str]) -> dict:
        row = {c: None for c in ENTITY_BY_NAME[em.entity].column_names if c != "updated_at"}
        currency = None
        if "currency" in em.columns:
            currency = self._value(em.entity, "currency", em.columns["currency"], source_row, None)
        currency = currency or (self.mapping.defaults.currency or "").upper() or None
        for column, spec in em.columns.items():
            if column != "currency":
                row[column] = self._value(em.entity, column, spec, source_row, currency)
        if "currency" in row:
            row["currency"] = currency
        return row


def _number_attempts(rows: list[Row], mappings: dict[str, EntityMapping]) -> None:
    """Attempt numbers, when the export has none: the order of attempts per invoice."""
    em = mappings.get("payment_attempts")
    if em is None or "attempt_number" in em.columns:
        return
    per_invoice: dict[str, dict[str, datetime]] = defaultdict(dict)
    for row in rows:
        if row.entity == "payment_attempts" and row.values.get("invoice_id"):
            first = per_invoice[row.values["invoice_id"]].get(row.key)
            at = row.values.get("attempted_at") or row.base_at
            per_invoice[row.values["invoice_id"]][row.key] = min(first, at) if first else at
    numbers = {}
    for attempts in per_invoice.values():
        for i, attempt_id in enumerate(sorted(attempts, key=lambda a: (attempts[a], a)), start=1):
            numbers[attempt_id] = i
    for row in rows:
        if row.entity == "payment_attempts":
            row.values["attempt_number"] = numbers.get(row.key)


def map_csv_folder(
    folder: Path, mapping: Mapping, connector: str = "mapped_csv"
) -> tuple[dict[str, list[dict]], MappingReport]:
    """Every export file of `folder` the mapping names → {entity: rows with updated_at, _source}."""
    report = MappingReport(connector)
    rows = CsvMapper(mapping, folder, report).map_rows()
    add_placeholder_customers(rows, report)
    report_orphans(rows, report)
    return assign_versions(rows, report), report
