"""Data-quality asset checks: the suites of `data_quality/` evaluated by Dagster after each load.

ERROR checks are blocking: when one fails, the assets built from the checked asset (the dbt
models, then `published_warehouse`) do not run, so the last published warehouse stays in place.
WARN checks only report. Every evaluation is also appended to `quality.check_results`.
"""

import functools

import dagster as dg

from data_quality.core import Check, CheckResult, QualityConfig
from data_quality.marts import mart_checks
from data_quality.raw import raw_checks
from orchestration import build_state
from orchestration.config import Settings
from orchestration.contract import ENTITIES, ENTITY_BY_NAME
from orchestration.defs.ingestion.assets import WRITER_POOL
from orchestration.warehouse import open_warehouse

RAW_CHECKS = raw_checks()
MART_CHECKS = mart_checks()


def asset_key(check: Check) -> dg.AssetKey:
    return dg.AssetKey(list(check.asset))


def check_spec(check: Check) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=check.name,
        asset=asset_key(check),
        description=f"[{check.severity}] {check.description}",
        blocking=check.blocking,
        additional_deps=[dg.AssetKey(list(d)) for d in check.deps],
    )


def _metadata(result: CheckResult) -> dict:
    metadata: dict = {"expected": result.expected, "seconds": round(result.seconds, 3)}
    for name, value in result.observed.items():
        if isinstance(value, (dict, list)):
            metadata[name] = dg.MetadataValue.json(value)
        elif value is not None:
            metadata[name] = value  # numbers stay numbers: Dagster plots them over runs
    return metadata


def evaluate(context: dg.AssetCheckExecutionContext, checks: list[Check], settings: Settings):
    """Run the selected checks on the warehouse, record them, and report them to Dagster."""
    from data_quality.runner import check_and_record  # imports GX (~10 s): only when checks run

    selected = [
        c
        for c in checks
        if dg.AssetCheckKey(asset_key(c), c.name) in context.selected_asset_check_keys
    ]
    with open_warehouse(settings) as con:
        results = check_and_record(
            con,
            selected,
            QualityConfig(),
            docs_dir=settings.data_docs_dir,
            run_id=context.run.run_id,
            definition=build_state.definition_digest(
                build_state.run_inputs(context.run.tags, settings)
            ),
        )
    for result in results:
        yield dg.AssetCheckResult(
            asset_key=asset_key(result.check),
            check_name=result.check.name,
            passed=result.passed,
            severity=dg.AssetCheckSeverity[result.check.severity],
            description=result.message,
            metadata=_metadata(result),
        )


def _checks_op(name: str, checks: list[Check], description: str) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=name,
        specs=[check_spec(c) for c in checks],
        can_subset=True,
        pool=WRITER_POOL,  # writes quality.check_results: one warehouse writer at a time
        description=description,
    )
    def _evaluate(context: dg.AssetCheckExecutionContext, settings: dg.ResourceParam[Settings]):
        yield from evaluate(context, checks, settings)

    return _evaluate


def _load_layers() -> list[list[str]]:
    """Raw entities grouped by depth in the reference graph (customers; subscriptions, ...)."""

    @functools.cache
    def depth(name: str) -> int:
        entity = ENTITY_BY_NAME[name]
        return 1 + max((depth(p) for p in entity.parents), default=-1)

    depths = {e.name: depth(e.name) for e in ENTITIES}
    return [[e for e, d in depths.items() if d == level] for level in sorted(set(depths.values()))]


# One op per load layer: a failing blocking check on a parent entity holds back the loading of
# its children, so an op spanning parents and children would form a cycle, which Dagster
# resolves by splitting every multi-asset — dbt included — into many steps.
raw_quality_checks = [
    _checks_op(
        f"raw_quality_layer_{level}",
        [c for c in RAW_CHECKS if c.asset[1] in entities],
        f"Great Expectations suites on the current state of raw {', '.join(entities)}.",
    )
    for level, entities in enumerate(_load_layers())
]


mart_quality_checks = _checks_op(
    "mart_quality_checks",
    MART_CHECKS,
    "Great Expectations suites across marts and sources: reconciliations, partitions, "
    "distributions (what dbt's column tests cannot say).",
)
