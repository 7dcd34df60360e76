"""Running a connector: read a source, map it, write contract files into landing, keep a report.

`run_import(kind, path, settings)` is what the CLI (`arrears import ...`) and the Dagster assets
call. Kinds:
- `stripe`: a folder (or one file) of Stripe API objects, JSON or JSON Lines, optionally gzipped;
- `stripe_tables`: warehouse-synced Stripe tables — a folder of CSV/Parquet files, a DuckDB
  database file, or a Postgres URI;
- `mapped_csv`: a folder of CSV exports plus a mapping (a `mapping.yaml` in the folder, a YAML
  path, or the name of a shipped one: `chargebee`, `recurly`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.connectors.common import MappingReport, slug
from orchestration.connectors.landing import write_landing
from orchestration.connectors.mapped_csv import MAPPING_FILE, load_mapping, map_csv_folder
from orchestration.connectors.stripe_objects import (
    Observation,
    map_stripe_observations,
    parse_json_text,
)
from orchestration.connectors.stripe_tables import TableSource, observations_from_tables

STRIPE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass
class ImportResult:
    kind: str
    source: str
    prefix: str  # output file prefix in every landing entity folder
    report: MappingReport
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    report_path: Path | None = None

    def summary(self) -> str:
        r = self.report
        rows = ", ".join(f"{e} {n}" for e, n in sorted(r.rows_mapped.items())) or "nothing"
        lines = [
            f"{self.kind} import of {self.source}: {rows}.",
            f"Landing files: {len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed.",
        ]
        if r.placeholders:
            lines.append(
                f"Placeholder customers (referenced, not in the source): {r.placeholders['customers']}."
            )
        for what, count in r.orphan_counts().items():
            lines.append(f"Orphan references {what}: {count} (kept; see the report).")
        for column, values in sorted(r.unknown_values.items()):
            lines.append(f"Values outside the contract in {column}: {dict(values)}.")
        for why, count in sorted(r.excluded.items()):
            lines.append(f"Not mapped — {why}: {count}.")
        if r.unreadable:
            lines.append(f"Unreadable: {len(r.unreadable)} (first: {r.unreadable[0]}).")
        if self.report_path:
            lines.append(f"Report: {self.report_path}")
        return "\n".join(lines)


def _source_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder or file: {root}")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
        and p.name.lower().endswith(suffixes)
    )


def _source_label(root: Path, path: Path) -> str:
    """Output group of a source file: its path below the source folder, without extension."""
    relative = path.relative_to(root) if root.is_dir() else Path(path.name)
    name = relative.as_posix()
    for suffix in sorted(STRIPE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)].replace("/", "_")
    return relative.with_suffix("").as_posix().replace("/", "_")


def read_stripe_source(root: Path, report: MappingReport) -> list[Observation]:
    """Observations from every JSON / JSON Lines file under `root`, in file-name order (name dumps
    so they sort in time order, e.g. with an ISO date: that order breaks ties between states)."""
    observations: list[Observation] = []
    for path in _source_files(root, STRIPE_SUFFIXES):
        raw = path.read_bytes()
        try:
            text = (gzip.decompress(raw) if path.name.lower().endswith(".gz") else raw).decode(
                "utf-8-sig"
            )
        except (OSError, UnicodeDecodeError) as exc:
            report.unreadable.append(f"{path.name}: {exc}")
            continue
        unreadable_before = len(report.unreadable)
        found = parse_json_text(text, _source_label(root, path), report, len(observations))
        if not found and len(report.unreadable) == unreadable_before:
            report.excluded[
                "file without an object of a mapped type (e.g. balance transactions)"
            ] += 1
        observations.extend(found)
    return observations


def default_prefix(kind: str, path: Path | str, mapping_name: str | None = None) -> str:
    """`stripe`, `stripe_tables`, `mapped_csv-<mapping>`; a source folder not named after its kind
    adds its name, so two sources never overwrite each other's landing files."""
    base = kind if mapping_name is None else f"{kind}-{slug(mapping_name)}"
    name = Path(str(path)).name
    if mapping_name is None and name and name.split(".")[0] != kind:
        base = f"{base}-{slug(Path(name).stem)}"
    return base


def import_stripe(
    path: Path, landing_dir: Path, *, livemode: str = "auto", prefix: str | None = None
) -> ImportResult:
    prefix = prefix or default_prefix("stripe", path)
    report = MappingReport(prefix)
    observations = read_stripe_source(Path(path), report)
    rows, mapped_report = map_stripe_observations(observations, livemode=livemode, connector=prefix)
    mapped_report.unreadable[:0] = report.unreadable
    return _write("stripe", str(path), prefix, rows, mapped_report, landing_dir)


def import_stripe_tables(
    location: Path | str, landing_dir: Path, *, schema: str | None = None, livemode: str = "auto",
    prefix: str | None = None,
) -> ImportResult:  # fmt: skip
    prefix = prefix or default_prefix("stripe_tables", location)
    report = MappingReport(prefix)
    source = TableSource(location, schema)
    try:
        observations = observations_from_tables(source, report)
    finally:
        source.close()
    rows, mapped_report = map_stripe_observations(observations, livemode=livemode, connector=prefix)
    # what was read is counted per table, the mapping counts per object type: keep both
    mapped_report.objects_read.update(report.objects_read)
    mapped_report.excluded.update(report.excluded)
    return _write("stripe_tables", str(location), prefix, rows, mapped_report, landing_dir)


def import_mapped_csv(
    path: Path, landing_dir: Path, *, mapping: str | Path | None = None, prefix: str | None = None
) -> ImportResult:
    path = Path(path)
    if mapping is None:
        mapping = path / MAPPING_FILE if (path / MAPPING_FILE).exists() else path.name
    loaded = load_mapping(mapping)
    prefix = prefix or default_prefix("mapped_csv", path, loaded.name)
    rows, report = map_csv_folder(path, loaded, connector=prefix)
    return _write("mapped_csv", str(path), prefix, rows, report, landing_dir)


def _write(kind, source, prefix, rows, report, landing_dir) -> ImportResult:
    files = write_landing(Path(landing_dir), prefix, rows)
    return ImportResult(kind, source, prefix, report, **files)


def write_report(result: ImportResult, reports_dir: Path) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{result.prefix}.json"
    body = {
        "kind": result.kind,
        "source": result.source,
        "landing_files": {
            "written": [p.name for p in result.written],
            "unchanged": [p.name for p in result.unchanged],
            "removed": [p.name for p in result.removed],
        },
        **result.report.as_dict(),
    }
    path.write_text(json.dumps(body, indent=2, sort_keys=False, default=str) + "\n")
    result.report_path = path
    return path


def reports_dir(settings) -> Path:
    return settings.connector_reports_dir


# The connector kinds and the options each takes (besides `prefix`); the CLI's flags and the
# settings both go through `connector_options`.
OPTIONS = {
    "stripe": ("livemode",),
    "stripe_tables": ("livemode", "schema"),
    "mapped_csv": ("mapping",),
}
KINDS = tuple(OPTIONS)


def connector_options(kind: str, **values: str | None) -> dict[str, str]:
    """The options of `values` that are set and that `kind` takes (the others are left out)."""
    return {name: values[name] for name in OPTIONS[kind] if values.get(name)}


def run_import(kind: str, path: Path | str, settings, **options) -> ImportResult:
    """Map the source at `path` into `settings.landing_dir` and write its report.

    Options: `livemode` (stripe, stripe_tables: auto | live | test | all), `schema`
    (stripe_tables), `mapping` (mapped_csv), `prefix` (all: landing file prefix).
    """
    if kind == "stripe":
        result = import_stripe(Path(path), settings.landing_dir, **options)
    elif kind == "stripe_tables":
        result = import_stripe_tables(path, settings.landing_dir, **options)
    elif kind == "mapped_csv":
        result = import_mapped_csv(Path(path), settings.landing_dir, **options)
    else:
        raise ValueError(f"unknown connector {kind!r}; one of {', '.join(KINDS)}")
    write_report(result, reports_dir(settings))
    return result
