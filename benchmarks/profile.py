"""Where a build's time went: Dagster's step timings and dbt's own per-model timings.

A build is one Dagster run; its steps run one after another (one writer at a time), so the
process's wall time minus the sum of the steps is the start-up and orchestration overhead.
Inside the dbt step, the step's duration minus dbt's own `elapsed_time` (run_results.json) is
dbt's start-up (process start, manifest load) and Dagster's event handling.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Step key -> phase of the build, first match wins (keys as Dagster names the steps).
PHASES = (
    ("connectors", ("connectors__",)),
    ("raw checks", ("raw_quality",)),
    ("ingestion", ("raw__",)),
    ("risk score", ("risk__",)),
    ("dbt", ("arrears_dbt", "dbt")),
    ("mart checks", ("mart_quality",)),
    ("alerts", ("alerting__", "alert")),
    ("publish", ("publish",)),
)


def phase_of(step_key: str) -> str:
    for phase, prefixes in PHASES:
        if any(step_key.startswith(p) or (p == "dbt" and p in step_key) for p in prefixes):
            return phase
    return "other"


@dataclass
class Step:
    key: str
    phase: str
    status: str
    seconds: float
    start: float  # epoch seconds


@dataclass
class ModelTiming:
    unique_id: str
    status: str
    seconds: float
    materialized: str | None = None
    incremental_branch: bool | None = None  # compiled with is_incremental() true


@dataclass
class BuildProfile:
    run_id: str
    run_status: str
    run_start: float
    run_end: float
    steps: list[Step]
    # dbt: every node of the run's dbt invocations, slowest first (empty when not found);
    # dbt_elapsed is the sum of their elapsed times, run_results_path the largest invocation's.
    dbt_invocation_id: str | None = None
    dbt_elapsed: float | None = None
    dbt_models: list[ModelTiming] = field(default_factory=list)
    run_results_path: str | None = None

    @property
    def steps_total(self) -> float:
        return sum(s.seconds for s in self.steps)

    def phase_seconds(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for step in self.steps:
            totals[step.phase] = totals.get(step.phase, 0.0) + step.seconds
        return totals

    def dbt_step_seconds(self) -> float:
        return sum(s.seconds for s in self.steps if s.phase == "dbt")

    def dbt_steps(self) -> int:
        return sum(1 for s in self.steps if s.phase == "dbt")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["steps_total"] = self.steps_total
        data["phases"] = self.phase_seconds()
        return data


def _materialization_metadata(instance, run_id: str) -> list[dict]:
    import dagster as dg

    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100_000
    ).records
    out = []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        metadata = event.event_specific_data.materialization.metadata
        out.append({k: getattr(v, "value", v) for k, v in metadata.items()})
    return out


def find_run_results(invocation_id: str, roots: list[Path]) -> Path | None:
    """The run_results.json written by this dbt invocation (other builds may share a target/)."""
    for root in roots:
        if not root.exists():
            continue
        # run_results.<step>.json: the pipeline's copy of each dbt step's (another step's
        # invocation rewrites run_results.json itself).
        for path in sorted(root.rglob("run_results*.json")):
            try:
                meta = json.loads(path.read_text()).get("metadata", {})
            except (OSError, ValueError):
                continue
            if meta.get("invocation_id") == invocation_id:
                return path
    return None


def dbt_timings(run_results: dict, manifest: dict | None) -> list[ModelTiming]:
    nodes = (manifest or {}).get("nodes", {})
    timings = []
    for result in run_results.get("results", []):
        uid = result["unique_id"]
        config = nodes.get(uid, {}).get("config", {})
        materialized = config.get("materialized")
        incremental_branch = None
        if materialized == "incremental":
            # Only the incremental branch reads the model's own table ({{ this }}).
            relation = result.get("relation_name") or ""
            incremental_branch = bool(relation) and relation in (result.get("compiled_code") or "")
        timings.append(
            ModelTiming(
                unique_id=uid,
                status=str(result.get("status")),
                seconds=float(result.get("execution_time") or 0.0),
                materialized=materialized,
                incremental_branch=incremental_branch,
            )
        )
    return sorted(timings, key=lambda t: t.seconds, reverse=True)


def build_profile(dagster_home: Path, run_results_roots: list[Path]) -> BuildProfile | None:
    """Profile of the latest Dagster run of the instance at `dagster_home`."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_run_records(limit=1)
        if not runs:
            return None
        record = runs[0]
        run_id = record.dagster_run.run_id
        steps = [
            Step(
                key=s.step_key,
                phase=phase_of(s.step_key),
                status=str(getattr(s.status, "value", s.status)),
                seconds=(s.end_time or s.start_time or 0) - (s.start_time or 0),
                start=s.start_time or 0,
            )
            for s in instance.get_run_step_stats(run_id)
        ]
        invocation_ids = {
            m["invocation_id"]
            for m in _materialization_metadata(instance, run_id)
            if "invocation_id" in m
        }
    profile = BuildProfile(
        run_id=run_id,
        run_status=str(record.dagster_run.status.value),
        run_start=record.start_time or 0,
        run_end=record.end_time or 0,
        steps=sorted(steps, key=lambda s: s.start),
    )
    found = []
    for invocation_id in sorted(invocation_ids):
        path = find_run_results(invocation_id, run_results_roots)
        if path is None:
            continue
        run_results = json.loads(path.read_text())
        manifest_path = path.with_name("manifest.json")
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
        found.append((invocation_id, path, run_results, dbt_timings(run_results, manifest)))
    if found:
        invocation_id, path, _, _ = max(found, key=lambda f: len(f[3]))
        profile.dbt_invocation_id = invocation_id
        profile.run_results_path = str(path)
        profile.dbt_elapsed = sum(float(f[2].get("elapsed_time") or 0.0) for f in found)
        models = [m for f in found for m in f[3]]
        profile.dbt_models = sorted(models, key=lambda t: t.seconds, reverse=True)
    return profile
