"""Running checks: compute each frame in DuckDB, validate it with Great Expectations.

Great Expectations is imported here, inside the functions, and nowhere else: importing it costs
~10 s and only check runs need it. The GX project is the file context in data_quality/gx/; its
suites are rebuilt from code on every run with `add_or_update`, and its stores and Data Docs live
in the Data Docs folder the caller passes, so the repository is never written.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from data_quality.core import (
    Check,
    CheckResult,
    Expect,
    Probe,
    QualityConfig,
    column_of,
    jsonable,
)

log = logging.getLogger(__name__)

GX_PROJECT_ROOT = Path(__file__).parent  # the GX file context is data_quality/gx/
DATASOURCE, ASSET, BATCH = "arrears", "check_frames", "whole_frame"  # declared in the project
STORE_DIR = ".store"  # in the Data Docs folder, as in data_quality/gx/great_expectations.yml
KEEP_RUNS = 10  # validation results kept per suite (older ones and their pages are deleted)
GX_SEVERITY = {"ERROR": "critical", "WARN": "warning"}


def _context(docs_dir: Path | None):
    """The GX project in data_quality/gx/ with its stores under `docs_dir`; without a Data Docs
    folder, an in-memory context (nothing kept)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    if docs_dir is not None:
        context = gx.get_context(
            mode="file",
            project_root_dir=GX_PROJECT_ROOT,
            runtime_environment={"ARREARS_DATA_DOCS": str(docs_dir)},
        )
        source = context.data_sources.get(DATASOURCE)
        return context, source.get_asset(ASSET).get_batch_definition(BATCH)
    in_memory = {"store_backend": {"class_name": "InMemoryStoreBackend"}}
    config = DataContextConfig(
        stores={
            name: {"class_name": kind, **in_memory}
            for name, kind in (
                ("expectations_store", "ExpectationsStore"),
                ("validation_results_store", "ValidationResultsStore"),
                ("checkpoint_store", "CheckpointStore"),
                ("validation_definition_store", "ValidationDefinitionStore"),
            )
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas(DATASOURCE).add_dataframe_asset(ASSET)
    return context, asset.add_batch_definition_whole_dataframe(BATCH)


def build_suite(check: Check, config: QualityConfig):
    """The check's expectations as a GX suite (not saved)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(
        name=check.suite_name,
        notes=f"{check.description} Severity {check.severity}"
        f"{' (blocks downstream assets)' if check.blocking else ''}.",
        meta={"asset": check.asset_name, "check": check.name, "severity": check.severity},
    )
    for expect in check.expectations(config):
        expectation = getattr(gxe, expect.kind)(
            **expect.kwargs, severity=GX_SEVERITY[check.severity], notes=expect.expected
        )
        suite.add_expectation(expectation)
    return suite


def _observed_frame_values(check: Check, frame) -> dict[str, Any]:
    if check.observe is not None:
        return jsonable(check.observe(frame))
    if len(frame) == 1:
        return {k: jsonable(v) for k, v in frame.iloc[0].items()}
    return {"frame_rows": len(frame)}


def _unexpected(result) -> Any:
    """What GX saw for one failed expectation: the aggregate it observed or the bad values."""
    info = result.result or {}
    if "observed_value" in info:
        return jsonable(info["observed_value"])
    return jsonable(info.get("partial_unexpected_list"))


def _failure_text(check: Check, expect: Expect, result, frame, probe: Probe) -> tuple[str, list]:
    """A readable sentence for one failed expectation, and the offending examples."""
    exception = result.exception_info or {}
    if exception.get("raised_exception"):
        reason = exception.get("exception_message")
        return f"{expect.expected}: could not be evaluated ({reason})", []
    examples: list[str] = []
    if check.examples is not None:
        try:
            examples = check.examples(probe, expect.column)
        except duckdb.Error as exc:  # the examples are a courtesy; the verdict stands
            examples = [f"(examples unavailable: {str(exc).splitlines()[0]})"]
    if len(frame) == 1 and "column_B" in expect.kwargs:
        a, b = expect.kwargs["column_A"], expect.kwargs["column_B"]
        values = {c: jsonable(frame[c].iloc[0]) for c in (a, b)}
        text = f"{b} = {values[b]}, {a} = {values[a]} (expected {expect.expected})"
    elif len(frame) == 1 and expect.column in frame.columns:
        seen = jsonable(frame[expect.column].iloc[0])
        text = f"{expect.column} = {seen} (expected {expect.expected})"
    else:
        text = f"expected {expect.expected}"
        if not examples:
            examples = [str(v) for v in (_unexpected(result) or [])]
    if examples:
        text += f": {', '.join(examples)}"
    return text, examples


def _evaluate(check: Check, probe: Probe, context, batch, run_id) -> CheckResult:
    import great_expectations as gx

    config = probe.config
    expects = check.expectations(config)
    expected = "; ".join(e.expected for e in expects)
    started = time.perf_counter()
    try:
        frame = check.frame(probe)
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        return CheckResult(
            check, False, {"error": reason}, expected,
            f"{check.suite_name} could not be evaluated: {reason}",
            time.perf_counter() - started,
        )  # fmt: skip
    suite = context.suites.add_or_update(build_suite(check, config))
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=check.suite_name, data=batch, suite=suite)
    )
    outcome = validation.run(
        batch_parameters={"dataframe": frame}, result_format="SUMMARY", run_id=run_id
    )
    by_type_and_column = {
        (r.expectation_config.type, column_of(r.expectation_config.kwargs)): r
        for r in outcome.results
    }
    observed = _observed_frame_values(check, frame)
    failures = []
    for expect in expects:
        result = by_type_and_column[(_snake(expect.kind), expect.column)]
        if not result.success:
            text, examples = _failure_text(check, expect, result, frame, probe)
            failures.append(text)
            if examples:
                observed.setdefault("examples", {})[expect.column] = examples
    passed = bool(outcome.success)
    if passed:
        message = f"{check.suite_name}: passed ({len(expects)} expectation(s))."
    else:
        message = f"{check.suite_name} failed: " + "; ".join(failures) + "."
    return CheckResult(check, passed, observed, expected, message, time.perf_counter() - started)


def _snake(kind: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")


def run_checks(
    con: duckdb.DuckDBPyConnection,
    checks: list[Check],
    config: QualityConfig | None = None,
    *,
    docs_dir: Path | None = None,
    run_name: str | None = None,
    since: dict | None = None,
) -> list[CheckResult]:
    """Evaluate `checks` on the warehouse behind `con`; build Data Docs into `docs_dir` if given.
    `since`: per raw entity, the load time after which records are judged (`Probe.since`)."""
    from great_expectations.core.run_identifier import RunIdentifier

    config = config or QualityConfig()
    probe = Probe(con, config, since)
    context, batch = _context(docs_dir)
    run_id = RunIdentifier(run_name=run_name)
    results = []
    for check in checks:
        result = _evaluate(check, probe, context, batch, run_id)
        log.log(
            logging.INFO if result.passed else logging.WARNING,
            "%s (%.2fs)",
            result.message,
            result.seconds,
        )
        results.append(result)
    if docs_dir is not None and checks:
        started = time.perf_counter()
        _prune_old_results(docs_dir)
        _build_data_docs(context, checks, run_id)
        log.info("Data Docs updated in %s (%.1fs)", docs_dir, time.perf_counter() - started)
    return results


def _build_data_docs(context, checks: list[Check], run_id) -> None:
    """Render this run's suites and validation results, then the index (not every old page)."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    names = {c.suite_name for c in checks}
    validations = [
        key
        for key in context.validation_results_store.list_keys()
        if key.run_id == run_id and key.expectation_suite_identifier.name in names
    ]
    suites = [ExpectationSuiteIdentifier(name=name) for name in sorted(names)]
    context.build_data_docs(resource_identifiers=[*suites, *validations])


def _prune_old_results(docs_dir: Path, keep: int = KEEP_RUNS) -> None:
    """Keep the newest `keep` validation results per suite, and the pages rendered from them.

    Store layout: <suite name split on '.'>/<run name>/<run time>/<batch>.json; the site
    mirrors it under validations/ with .html files.
    """
    store = docs_dir / STORE_DIR / "validations"
    if not store.is_dir():
        return
    runs: dict[Path, list[Path]] = defaultdict(list)
    for path in store.rglob("*.json"):
        relative = path.relative_to(store)
        if len(relative.parts) >= 4:
            runs[Path(*relative.parts[:-3])].append(relative)
    for files in runs.values():
        files.sort(key=lambda p: p.parts[-2], reverse=True)  # run time, ISO-like: sorts by time
        for relative in files[keep:]:
            (store / relative).unlink(missing_ok=True)
            page = docs_dir / "validations" / relative.with_suffix(".html")
            page.unlink(missing_ok=True)
            for folder in (store / relative.parent, page.parent):
                if folder.is_dir() and not any(folder.iterdir()):
                    shutil.rmtree(folder, ignore_errors=True)


def check_and_record(
    con: duckdb.DuckDBPyConnection,
    checks: list[Check],
    config: QualityConfig | None = None,
    *,
    docs_dir: Path | None = None,
    run_id: str | None = None,
    definition: str | None = None,
) -> list[CheckResult]:
    """Run `checks` and append their results to `quality.check_results`.

    With `definition` (the pipeline's, orchestration/build_state.py), the raw checks in
    `SCOPED_CHECKS` judge only the records loaded since their entity last passed them under that
    definition, and the entities that pass move their mark (data_quality/watermarks.py) in the
    same transaction as the results.
    """
    from data_quality import watermarks
    from data_quality.raw import SCOPED_CHECKS
    from data_quality.results import write_results
    from orchestration.failpoints import failpoint

    entities = sorted({c.asset[1] for c in checks if c.asset[0] == "raw"}) if definition else []
    since = {
        name: mark
        for name, mark in watermarks.passed_through(con, definition or "").items()
        if name in entities
    }
    marks = watermarks.loaded_through(con, entities)
    results = run_checks(con, checks, config, docs_dir=docs_dir, run_name=run_id, since=since)
    con.execute("begin transaction")
    try:
        write_results(con, results, run_id)
        failpoint("quality.results_written")
        if entities:
            moved = watermarks.advance(con, results, marks, definition, SCOPED_CHECKS)
            log.info("Raw checks passed through the newest load: %s", ", ".join(moved) or "none")
        failpoint("quality.before_commit")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    failpoint("quality.after_commit")
    return results
