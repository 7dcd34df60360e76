"""Connector assets: real billing sources → contract files in the landing folder.

One asset per connector kind, upstream of the raw ingestion: each reads its source folder under
`<ARREARS_HOME>/sources/` (absent folder: nothing to do), maps it and writes Parquet files into
landing, which the ingestion then validates and loads like any other drop. Two non-blocking
checks per asset surface what a messy export contains: references to records the source lacks,
and values the contract does not allow.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from orchestration.config import Settings
from orchestration.connectors.run import KINDS, ImportResult, connector_options, run_import

GROUP = "connectors"
CONNECTOR_ASSET_KEYS = [dg.AssetKey(["connectors", kind]) for kind in KINDS]


def source_locations(settings) -> dict[str, Path | str]:
    """Source per connector. The warehouse-table source may be a Postgres URI, kept as text."""
    tables = settings.stripe_tables_source
    return {
        "stripe": settings.stripe_source,
        "stripe_tables": tables if str(tables).startswith("postgres") else Path(tables),
        "mapped_csv": settings.mapped_csv_source,
    }


def _options(kind: str, settings: Settings) -> dict:
    """Connector options from settings."""
    return connector_options(
        kind, livemode=settings.stripe_livemode, schema=settings.stripe_tables_schema
    )


def _checks(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("orphan_references", asset=key, blocking=False,
                          description="References to records the source does not contain."),
        dg.AssetCheckSpec("values_outside_contract", asset=key, blocking=False,
                          description="Source values the contract does not allow (quarantined on load)."),
    ]  # fmt: skip


def _results(key: dg.AssetKey, results: list[ImportResult]) -> dg.MaterializeResult:
    orphans: dict[str, int] = {}
    placeholders = 0
    unknown: dict[str, dict] = {}
    rows: dict[str, int] = {}
    for r in results:
        for what, n in r.report.orphan_counts().items():
            orphans[what] = orphans.get(what, 0) + n
        placeholders += r.report.placeholders.get("customers", 0)
        for column, values in r.report.unknown_values.items():
            unknown.setdefault(column, {}).update(values)
        for entity, n in r.report.rows_mapped.items():
            rows[entity] = rows.get(entity, 0) + n
    metadata = {
        "sources": dg.MetadataValue.json([r.source for r in results]),
        "rows_mapped": dg.MetadataValue.json(rows),
        "files_written": sum(len(r.written) for r in results),
        "files_unchanged": sum(len(r.unchanged) for r in results),
        "files_removed": sum(len(r.removed) for r in results),
        "reports": dg.MetadataValue.json([str(r.report_path) for r in results]),
    }
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                asset_key=key, check_name="orphan_references", passed=not orphans,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "orphans": dg.MetadataValue.json(orphans),
                    "placeholder_customers": placeholders,
                    "total": sum(orphans.values()),
                },
            ),
            dg.AssetCheckResult(
                asset_key=key, check_name="values_outside_contract", passed=not unknown,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"values": dg.MetadataValue.json(unknown)},
            ),
        ],
    )  # fmt: skip


def _connector_asset(kind: str, description: str, deps=()) -> dg.AssetsDefinition:
    key = dg.AssetKey(["connectors", kind])

    @dg.asset(key=key, deps=list(deps), group_name=GROUP, kinds={"python", "parquet"},
              check_specs=_checks(key), description=description)  # fmt: skip
    def _run(
        context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
    ) -> dg.MaterializeResult:
        location = source_locations(settings)[kind]
        targets = _targets(kind, location, _options(kind, settings))
        results = []
        for target, options in targets:
            result = run_import(kind, target, settings, **options)
            context.log.info(result.summary())
            results.append(result)
        if not targets:
            context.log.info(f"No source at {location}: nothing to import.")
        return _results(key, results)

    return _run


def _targets(kind: str, location: Path | str, options: dict) -> list[tuple[Path | str, dict]]:
    if isinstance(location, str):  # a Postgres URI
        return [(location, options)]
    if kind == "mapped_csv":  # one sub-folder per mapping: sources/mapped_csv/<mapping>/
        if not location.is_dir():
            return []
        return [
            (p, options)
            for p in sorted(location.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_"))
        ]
    if kind == "stripe_tables" and location.is_file():  # a DuckDB database file
        return [(location, options)]
    if location.is_dir() and any(location.iterdir()):
        return [(location, options)]
    return []


STRIPE_API_KEY = dg.AssetKey(["connectors", "stripe_api"])


@dg.asset(key=STRIPE_API_KEY, group_name=GROUP, kinds={"python"})
def stripe_api_pull(
    context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    """Optional: new Stripe objects and events from the API → a dump in sources/stripe/api/.
    Does nothing unless a Stripe API key is configured (`settings.stripe_api_key`)."""
    from orchestration.connectors.stripe_api import pull, stripe_client

    api_key = settings.stripe_api_key
    if not api_key:
        context.log.info("No Stripe API key configured: the Stripe source is files only.")
        return dg.MaterializeResult(metadata={"pulled": 0})
    written = pull(source_locations(settings)["stripe"] / "api", stripe_client(api_key))
    return dg.MaterializeResult(
        metadata={"pulled": sum(written.values()), "dumps": dg.MetadataValue.json(written)}
    )


stripe_objects_asset = _connector_asset(
    "stripe",
    "Stripe API objects (JSON / JSON Lines dumps, webhook events) from sources/stripe/ → landing.",
    deps=[STRIPE_API_KEY],
)
stripe_tables_asset = _connector_asset(
    "stripe_tables",
    "Warehouse-synced Stripe tables (Fivetran, Airbyte; CSV/Parquet folder or DuckDB file) → landing.",
)
mapped_csv_asset = _connector_asset(
    "mapped_csv",
    "Other billing systems' CSV exports, one folder per YAML mapping under sources/mapped_csv/ → landing.",
)


@dg.sensor(
    job_name="build_warehouse",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def connector_sources_sensor(
    context: dg.SensorEvaluationContext, settings: dg.ResourceParam[Settings]
):
    """Start a build when a connector source changes (a new Stripe dump, a new export), once its
    files have been still for a minute, so a half-copied dump is not read."""
    import time

    signature, fresh = {}, False
    for location in source_locations(settings).values():
        if isinstance(location, str) or not location.is_dir():
            continue
        for path in location.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                fresh = fresh or time.time() - stat.st_mtime < 60
                signature[str(path)] = [stat.st_size, stat.st_mtime]
    digest = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:16]
    if fresh or not signature or digest == context.cursor:
        return dg.SkipReason("no settled change in the connector sources")
    context.update_cursor(digest)
    from orchestration.defs.ingestion.assets import build_tags

    return dg.RunRequest(
        run_key=f"sources-{digest}",
        tags={"trigger": "connector_sources_sensor", **build_tags(settings)},
    )
