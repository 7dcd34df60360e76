"""What the published warehouse was built from, so a build with nothing new does nothing.

Every successful build records, beside the warehouse (`last_build.json`), the inputs it started
from and what it left behind:

- `inputs`: a digest per kind of input, taken *before* its ingestion began (a file that lands
  while the build runs is therefore never counted as built): the landing files (path, size,
  modification time), the connectors' source folders, pending alert acknowledgements, the dbt
  project's files, the pipeline's own code, the settings and the library versions;
- the warehouse file's size and modification time (and its write-ahead log's) once the publish
  had read it, so any later write — a failed or partial run, a run started from the UI, dbt by
  hand — makes the record stale;
- the published version it swapped in, the data's own clock (`as_of`) and the newest record of
  each entity whose freshness is checked against the wall clock.

A build first compares the current inputs and files with that record (`assess`, a few
directory listings and small file hashes, no Dagster import). When everything is the same, the
published copy is exactly what a build would publish again and the build stops there. The one
result that moves with the wall clock is the WARN freshness check: a quiet day that crosses its
limit (or a build that had crossed it) builds, so the staleness warning gets recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT, Settings
from orchestration.contract import ENTITIES
from orchestration.landing import discover_files

RECORD_NAME = "last_build.json"
# The run tag carrying the inputs a build started from (set by whoever launches the run).
INPUTS_TAG = "arrears/inputs"

# Everything dbt parses; a change to any of these makes the saved manifest stale, and the
# published marts possibly different.
DBT_INPUTS = (
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "models",
    "macros",
    "seeds",
    "tests",
)
# The pipeline's own code: ingestion, checks, alerting and publishing shape the result too.
CODE_DIRS = ("orchestration", "data_quality")
LIBRARIES = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations")

# What each input digest is, for the log line that says why a build runs.
INPUT_NAMES = {
    "landing": "new or changed landing files",
    "sources": "new or changed connector sources",
    "acknowledgements": "new alert acknowledgements",
    "dbt_project": "the dbt project changed",
    "code": "the pipeline's code changed",
    "settings": "the settings changed",
    "libraries": "library versions changed",
}


def _digest(items) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _stat(path: Path) -> list | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _listing(folder: Path, files) -> list:
    return [[str(p.relative_to(folder)), *(_stat(p) or [])] for p in files]


def _contents(root: Path, names) -> list:
    """(relative path, sha256) of every file under `root/<name>`: small text files, read whole."""
    out = []
    for name in names:
        path = root / name
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest = hashlib.sha256(file.read_bytes()).hexdigest()
                out.append([str(file.relative_to(root)), digest])
    return out


def dbt_project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    return _digest(_contents(project_dir, DBT_INPUTS))


def live_source(settings: Settings) -> str | None:
    """A source that can change without a file changing here: no build may be skipped."""
    if settings.stripe_api_key:
        return "a Stripe API key is configured: new objects are pulled on every build"
    if str(settings.stripe_tables_source or "").startswith("postgres"):
        return "the Stripe tables are read from a database on every build"
    return None


def current_inputs(settings: Settings) -> dict[str, str]:
    """A digest per kind of input (see INPUT_NAMES), as of now.

    Files are listed relative to their folder, and the settings digest leaves out paths: where
    things are does not change what a build computes (the same files copied elsewhere with their
    times build the same warehouse), while the record itself sits beside the warehouse and names
    the published version it expects.
    """
    landing = settings.landing_dir
    sources = {}
    for kind, folder in (
        ("stripe", settings.stripe_source),
        ("mapped_csv", settings.mapped_csv_source),
        ("stripe_tables", settings.stripe_tables_source),
    ):
        path = Path(folder) if folder else None
        if path and path.is_dir():
            sources[kind] = _listing(path, sorted(p for p in path.rglob("*") if p.is_file()))
        elif path and path.is_file():
            sources[kind] = _stat(path)
    # Secrets included (only a digest is kept). The Stripe tables' location is text: a folder
    # (listed above) or a database URI (a live source, never skipped).
    values = {
        name: value
        for name, value in dataclasses.asdict(settings).items()
        if not isinstance(value, Path) and name != "stripe_tables_source"
    }
    return {
        "landing": _digest(
            {e.name: _listing(landing, discover_files(landing, e.name)) for e in ENTITIES}
        ),
        "sources": _digest(sources),
        "acknowledgements": _digest(_stat(settings.alert_acknowledgements_path)),
        "dbt_project": dbt_project_digest(),
        "code": _digest(_contents(REPO_ROOT, CODE_DIRS)),
        "settings": _digest(values),
        "libraries": _digest({name: _version(name) for name in LIBRARIES}),
    }


def definition_digest(inputs: dict[str, str]) -> str:
    """What the models compute, apart from the data: the dbt project, the code, the settings and
    the libraries (from `current_inputs`). The incremental models keep rows only while it is
    unchanged (dbt var `build_definition`); after an upgrade or a changed setting they recompute
    every row, where a stale row would otherwise survive until its invoice is touched."""
    return _digest(
        {name: inputs.get(name) for name in ("dbt_project", "code", "settings", "libraries")}
    )


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def record_path(settings: Settings) -> Path:
    return settings.warehouse_path.parent / RECORD_NAME


def warehouse_files(settings: Settings) -> dict[str, list | None]:
    """Size and mtime of the warehouse and its write-ahead log (a killed writer leaves its
    committed changes in the log, not yet in the file)."""
    wal = settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")
    return {"file": _stat(settings.warehouse_path), "wal": _stat(wal)}


@dataclass(frozen=True)
class Freshness:
    """The newest record of an entity whose age is checked against the wall clock."""

    newest: datetime | None
    limit_hours: float

    def stale(self, now: datetime) -> bool:
        return self.newest is None or now - self.newest > timedelta(hours=self.limit_hours)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def write_record(
    settings: Settings,
    *,
    run_id: str,
    inputs: dict[str, str],
    warehouse: dict[str, list | None],
    published_version: str,
    data_as_of: datetime | None,
    freshness: dict[str, Freshness],
    now: datetime | None = None,
) -> dict:
    """Record a successful build (written atomically: a crash leaves the previous record, whose
    published version no longer matches, so the next build runs)."""
    now = now or _now()
    record = {
        "run_id": run_id,
        "finished_at": now.isoformat(),
        "inputs": inputs,
        "warehouse": warehouse,
        "published_version": published_version,
        "data_as_of": data_as_of.isoformat() if data_as_of else None,
        "freshness": {
            name: {
                "newest": f.newest.isoformat() if f.newest else None,
                "limit_hours": f.limit_hours,
                "stale": f.stale(now),
            }
            for name, f in freshness.items()
        },
    }
    path = record_path(settings)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    os.replace(tmp, path)
    return record


def forget(settings: Settings) -> None:
    """A publish whose inputs are unknown (a run started from the UI): the next build runs."""
    record_path(settings).unlink(missing_ok=True)


@dataclass(frozen=True)
class Assessment:
    current: bool
    message: str  # why a build runs, or what the published copy is
    record: dict | None


def assess(settings: Settings, inputs: dict[str, str], now: datetime | None = None) -> Assessment:
    """Whether the published warehouse is exactly what a build from `inputs` would publish."""
    now = now or _now()
    if reason := live_source(settings):
        return Assessment(False, reason, None)
    try:
        record = json.loads(record_path(settings).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return Assessment(False, "no successful build recorded", None)
    build = f"build {record['run_id'][:8]} ({record['finished_at'][:16].replace('T', ' ')} UTC)"
    changed = [INPUT_NAMES[k] for k in INPUT_NAMES if record["inputs"].get(k) != inputs.get(k)]
    if changed:
        return Assessment(False, f"{'; '.join(changed)} since {build}", record)
    if warehouse_files(settings) != record["warehouse"]:
        return Assessment(
            False, f"the warehouse was written after {build} (a failed or partial run)", record
        )
    published = settings.published_path
    if not published.exists() or published.resolve().name != record["published_version"]:
        return Assessment(False, f"the published copy is not the one of {build}", record)
    for name, f in record["freshness"].items():
        newest = datetime.fromisoformat(f["newest"]) if f["newest"] else None
        if Freshness(newest, f["limit_hours"]).stale(now) != f["stale"]:
            return Assessment(
                False,
                f"the newest {name} record is now older than {f['limit_hours']:g} h "
                "(the freshness check must say so)",
                record,
            )
    as_of = record["data_as_of"]
    return Assessment(
        True,
        f"Nothing new landed since {build}; the published warehouse is current"
        + (f" (data as of {as_of[:16].replace('T', ' ')} UTC)" if as_of else "")
        + ". Nothing was rebuilt or republished.",
        record,
    )
