"""Sample billing data: a realistic subscription business written to a landing folder.

`generate(GeneratorConfig(...), out_dir)` simulates customers, subscriptions, invoices, payment
attempts with retries and dunning, payment plans, escalations, disputes and refunds, injects
incidents (unless told not to) and writes every contract entity as monthly files, plus the
incidents' ground truth next to (never inside) the landing folder. Same seed, same bytes.
See docs/sample_data.md.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from orchestration.contract import ENTITIES
from orchestration.generator import catalog as cat
from orchestration.generator.columns import ip_strings
from orchestration.generator.incidents import (
    CARD_TESTING,
    DISPUTE_SPIKE,
    ISSUER_SPIKE,
    PROCESSOR_OUTAGE,
    Incident,
    IncidentModel,
    schedule,
    vary_magnitudes,
)
from orchestration.generator.realistic import add_realistic_shapes
from orchestration.generator.simulate import CardTesting, Chunk, World, make_bins
from orchestration.generator.tables import device_id, entity_id, to_arrow
from orchestration.generator.timeutil import DAY, add_months
from orchestration.generator.writer import LandingWriter

__all__ = ["GenerationSummary", "GeneratorConfig", "generate"]

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1)
PROFILES = ("standard", "realistic")


@dataclass(frozen=True)
class GeneratorConfig:
    customers: int = 2000
    months: int = 12
    seed: int = 7
    incidents: bool = True
    file_format: str = "parquet"  # parquet | csv | jsonl
    # Fixed, not "now": the same config always yields the same data. It starts `months` earlier.
    end: datetime = datetime(2026, 11, 24)
    # Customers simulated together; bounds memory. Part of the data's identity (as the seed).
    chunk_customers: int = 50_000
    progress: bool = True
    # `standard`: the simulation alone. `realistic`: plus the odd shapes of real exports ($0
    # trials and coupons, clock skew, guests, one-off charges, a backfill; generator/realistic.py).
    profile: str = "standard"
    # Incident sizes: typical (each plainly visible; what the sample's tests were written
    # against) or `varied_incidents`, from barely detectable to obvious (the alert-quality
    # benchmark's power curve; incidents.vary_magnitudes).
    varied_incidents: bool = False


@dataclass
class GenerationSummary:
    out_dir: Path
    ground_truth_path: Path
    file_format: str
    start: datetime
    end: datetime
    rows: dict[str, int]
    files: list[Path]
    incidents: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    shapes: dict[str, int] = field(default_factory=dict)  # what the realistic profile added

    def __str__(self) -> str:
        width = max(len(e.name) for e in ENTITIES)
        lines = [
            f"Sample billing data {self.start:%Y-%m-%d} → {self.end:%Y-%m-%d} "
            f"({self.file_format}, {len(self.files)} files) in {self.out_dir}",
        ]
        lines += [f"  {e.name:<{width}}  {self.rows.get(e.name, 0):>12,} rows" for e in ENTITIES]
        lines.append(f"  {'total':<{width}}  {sum(self.rows.values()):>12,} rows")
        if self.incidents:
            lines.append(f"Injected incidents (ground truth: {self.ground_truth_path}):")
            for inc in self.incidents:
                segment = f"{inc['dimension']}={inc['value']}"
                lines.append(f"  {inc['type']:<17} {segment:<31} {inc['start']} → {inc['end']}")
        else:
            lines.append(f"No incidents injected (ground truth: {self.ground_truth_path}).")
        if self.shapes:
            lines.append("Realistic profile shapes added: " + ", ".join(
                f"{name} {count}" for name, count in self.shapes.items()))  # fmt: skip
        lines.append(f"Generated in {self.seconds:.1f} s.")
        return "\n".join(lines)


def _epoch_seconds(moment: datetime) -> int:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return int((moment - _EPOCH).total_seconds())


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent PCG64 stream per purpose (and per chunk), all derived from the seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def generate(
    config: GeneratorConfig, out_dir: Path, ground_truth_path: Path | None = None
) -> GenerationSummary:
    began = time.perf_counter()
    if config.customers < 1 or config.months < 1 or config.chunk_customers < 1:
        raise ValueError("customers, months and chunk_customers must be positive")
    if config.profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {config.profile!r}")
    out_dir = Path(out_dir)
    truth_path = (
        Path(ground_truth_path) if ground_truth_path else out_dir.parent / "ground_truth.json"
    )
    if truth_path.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"the ground truth must not be inside the landing folder {out_dir}")

    t1 = _epoch_seconds(config.end)
    t0 = int(add_months(np.array([t1]), -config.months)[0])
    incidents: list[Incident] = schedule(_rng(config.seed, 0), t0, t1) if config.incidents else []
    if config.varied_incidents:
        vary_magnitudes(_rng(config.seed, 6), incidents)
    model = IncidentModel(incidents, _rng(config.seed, 1))
    world = World(t0, t1, make_bins(_rng(config.seed, 2)), model)
    testing = model.by_kind(CARD_TESTING)
    if testing is not None:
        testing.value = entity_id("customers", config.customers, config.seed)

    writer = LandingWriter(out_dir, config.file_format, t0, t1)
    observed = _Observed(incidents)
    offsets: dict[str, int] = defaultdict(int)
    spike_disputes = 0
    bar = tqdm(
        total=config.customers, unit="customer", desc="Generating", disable=not config.progress
    )
    try:
        for number, first in enumerate(range(0, config.customers, config.chunk_customers)):
            n = min(config.chunk_customers, config.customers - first)
            chunk = Chunk(world, _rng(config.seed, 3, number), n, first)
            tables, counts = chunk.run()
            spike_disputes += chunk.spike_disputes
            _write(writer, tables, offsets, config.seed, observed)
            for name, count in counts.items():
                offsets[name] += count
            bar.update(n)
            log.info("customers %d-%d: %d invoices, %d payment attempts", first, first + n - 1,
                     counts["invoices"], counts.get("payment_attempts", 0))  # fmt: skip
        if testing is not None:
            attack = CardTesting(world, _rng(config.seed, 4), config.customers, testing)
            tables, counts = attack.run()
            _write(writer, tables, offsets, config.seed, observed)
            observed.card_testing(
                testing, tables["payment_attempts"], config.customers, config.seed
            )
        shapes = {}
        if config.profile == "realistic":
            shapes = add_realistic_shapes(writer, config.customers, t0, t1, _rng(config.seed, 5))
    finally:
        bar.close()
        files = writer.close()

    truth = []
    for inc in incidents:
        inc.details["observed"] = observed.report(inc)
        if inc.kind == DISPUTE_SPIKE:
            inc.details["extra_disputes"] = spike_disputes
        truth.append(inc.ground_truth())
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    scratch = truth_path.with_suffix(".json.part")
    scratch.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, truth_path)
    return GenerationSummary(
        out_dir=out_dir, ground_truth_path=truth_path, file_format=config.file_format,
        start=_EPOCH + np.timedelta64(t0, "s").item(), end=_EPOCH + np.timedelta64(t1, "s").item(),
        rows=dict(writer.rows), files=files, incidents=truth, seconds=time.perf_counter() - began,
        shapes=shapes,
    )  # fmt: skip


def _write(writer: LandingWriter, tables: dict, offsets: dict, seed: int, observed) -> None:
    for entity in ENTITIES:
        cols = tables.get(entity.name)
        if not cols:
            continue
        table = to_arrow(entity, cols, offsets, seed)
        writer.write(entity.name, table, np.asarray(cols["updated_at"]))
        observed.add(entity.name, cols)


class _Observed:
    """What the data actually shows around each incident, for the ground truth's `details`."""

    def __init__(self, incidents: list[Incident]):
        self.incidents = incidents
        self.counts: dict[tuple[str, str], int] = defaultdict(int)  # (incident type, name)

    def add(self, entity: str, cols: dict) -> None:
        if entity == "payment_attempts":
            t = cols["attempted_at"]
            failed = cols["outcome"] == 1
            method = cols["payment_method"]
            for inc in self.incidents:
                if inc.kind == PROCESSOR_OUTAGE:
                    seg = (cols["processor"] == inc.segment) & (method != cat.BANK)
                elif inc.kind == ISSUER_SPIKE:
                    seg = (cols["card_country"] == inc.segment) & (
                        (method == cat.CARD) | (method == cat.WALLET)
                    )
                else:
                    continue
                inside = seg & (t >= inc.start) & (t < inc.end)
                self._count(inc, "attempts_in_window", inside.sum())
                self._count(inc, "failed_in_window", (inside & failed).sum())
                outside = seg & ~((t >= inc.start) & (t < inc.end))
                self._count(inc, "attempts_outside", outside.sum())
                self._count(inc, "failed_outside", (outside & failed).sum())
        if entity == "disputes":
            first = cols["updated_at"] == cols["opened_at"]  # one row per dispute: its opening
            first |= cols["kind"] == 1  # fraud reports have a single version
            opened = cols["opened_at"][first & (cols["kind"] == 0)]
            for inc in self.incidents:
                if inc.kind == DISPUTE_SPIKE:
                    self._count(
                        inc,
                        "chargebacks_in_window",
                        ((opened >= inc.start) & (opened < inc.end)).sum(),
                    )
                    before = (opened >= inc.start - 28 * DAY) & (opened < inc.start)
                    self._count(inc, "chargebacks_28_days_before", before.sum())

    def card_testing(self, inc: Incident, attempts: dict, customer: int, seed: int) -> None:
        """The attack chunk holds the fake customer's attempts and nothing else."""
        failed = attempts["outcome"] == 1
        self._count(inc, "attempts_in_window", failed.size)
        self._count(inc, "failed_in_window", failed.sum())
        self._count(inc, "distinct_cards", np.unique(attempts["card_fingerprint"]).size)
        self._count(inc, "distinct_bins", np.unique(attempts["card_bin"]).size)
        inc.details["device_id"] = device_id(customer, seed)
        inc.details["ip_address"] = ip_strings(attempts["ip_address"][:1])[0].as_py()

    def _count(self, inc: Incident, name: str, value) -> None:
        self.counts[(inc.kind, name)] += int(value)

    def report(self, inc: Incident) -> dict:
        got = {name: v for (kind, name), v in self.counts.items() if kind == inc.kind}
        if "attempts_in_window" in got:
            got["failure_rate_in_window"] = round(
                got["failed_in_window"] / max(got["attempts_in_window"], 1), 4
            )
        if "attempts_outside" in got:
            got["failure_rate_outside"] = round(
                got["failed_outside"] / max(got["attempts_outside"], 1), 4
            )
        if "chargebacks_in_window" in got:
            days = (inc.end - inc.start) / DAY
            got["chargebacks_per_day_in_window"] = round(got["chargebacks_in_window"] / days, 2)
            got["chargebacks_per_day_before"] = round(got["chargebacks_28_days_before"] / 28, 2)
        return got
