"""Injected incidents: where and when they happen, and what they do to payment attempts.

Each incident is placed at a seeded time in the last months of the data, apart from the others,
and recorded in the ground truth so that alerting can be scored against it. Outages and issuer
spikes act inside the failure model (so retries, dunning and recovery react to them as they would
in reality); the card-testing attack and the dispute wave add their own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orchestration.generator import catalog as cat
from orchestration.generator.timeutil import DAY, HOUR, MINUTE, iso

PROCESSOR_OUTAGE = "processor_outage"
CARD_TESTING = "card_testing"
ISSUER_SPIKE = "issuer_spike"
DISPUTE_SPIKE = "dispute_spike"
KINDS = (PROCESSOR_OUTAGE, CARD_TESTING, ISSUER_SPIKE, DISPUTE_SPIKE)
RUN_HOUR = 6  # local hour of the daily billing run (see simulate.BILLING_RUN_LOCAL_HOUR)


@dataclass
class Incident:
    kind: str
    dimension: str
    value: str
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive
    segment: int = -1  # code of `value` in its catalog (processor or country)
    failure_probability: float = 0.0
    codes: tuple[str, ...] = ()
    code_weights: tuple[float, ...] = ()
    details: dict = field(default_factory=dict)

    def ground_truth(self) -> dict:
        return {
            "type": self.kind,
            "dimension": self.dimension,
            "value": self.value,
            "start": iso(self.start),
            "end": iso(self.end),
            "details": self.details,
        }


def schedule(rng: np.random.Generator, t0: int, t1: int) -> list[Incident]:
    """Four incidents in separate slots of the last (up to) 100 days, after a month of history."""
    lo = max(t0 + 28 * DAY, t1 - 100 * DAY)
    hi = t1 - 4 * DAY
    if hi - lo < 20 * DAY:  # short histories: use what there is after the first week
        lo, hi = t0 + min(7 * DAY, (t1 - t0) // 4), t1 - 2 * DAY
    slot = (hi - lo) // len(KINDS)
    order = rng.permutation(len(KINDS))
    incidents = []
    for position, kind_index in enumerate(order):
        slot_start = lo + position * slot
        kind = KINDS[kind_index]
        incidents.append(_make(rng, kind, slot_start, slot_start + slot))
    return sorted(incidents, key=lambda i: i.start)


def _day_in(rng: np.random.Generator, lo: int, hi: int, duration: int) -> int:
    """Midnight of a random day such that [day, day + duration) fits before `hi` (when possible)."""
    first = -(-lo // DAY)
    last = max(first, (hi - duration) // DAY - 1)
    return int(rng.integers(first, last + 1)) * DAY


def _make(rng: np.random.Generator, kind: str, lo: int, hi: int) -> Incident:
    if kind == PROCESSOR_OUTAGE:
        # Card processors only, weighted by the traffic they carry; during the working day so the
        # outage hits real volume.
        processor = int(rng.choice(3, p=[0.55, 0.3, 0.15]))
        duration = int(rng.integers(2 * HOUR, 6 * HOUR + 1) // (15 * MINUTE) * (15 * MINUTE))
        # Over the start of a daily billing run (Europe 05:00 UTC, Americas 11:00 UTC), where
        # the processor carries most of its volume, so the outage hits real traffic.
        europe, americas = (RUN_HOUR - 1) % 24, (RUN_HOUR + 5) % 24
        run = {0: [europe, americas], 1: [europe], 2: [americas]}[processor]
        run_hour = int(rng.choice(run))
        start = _day_in(rng, lo, hi, DAY) + (run_hour - int(rng.integers(0, 2))) * HOUR
        p = round(float(rng.uniform(0.45, 0.65)), 2)
        return Incident(
            kind, "processor", cat.PROCESSORS[processor], start, start + duration, processor, p,
            ("processing_error", "issuer_not_available"), (0.6, 0.4),
            {"failure_probability": p, "decline_codes": ["processing_error", "issuer_not_available"]},
        )  # fmt: skip
    if kind == ISSUER_SPIKE:
        candidates = ["DE", "FR", "GB", "US", "ES", "IT", "NL"]
        weights = np.array([cat.COUNTRY_WEIGHTS[cat.COUNTRIES.index(c)] for c in candidates])
        country = candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]
        hours = int(rng.integers(6, 25))
        duration = hours * HOUR
        # Spanning the country's billing run, like an issuer failing during its busy morning.
        run_hour = (RUN_HOUR - int(cat.COUNTRY_UTC_OFFSET[cat.COUNTRIES.index(country)])) % 24
        before = int(rng.integers(1, min(hours - 2, 6) + 1))
        start = _day_in(rng, lo, hi, duration + DAY) + (run_hour - before) * HOUR
        p = round(float(rng.uniform(0.3, 0.45)), 2)
        return Incident(
            kind, "card_country", country, start, start + duration, cat.COUNTRIES.index(country), p,
            ("do_not_honor", "generic_decline"), (0.6, 0.4),
            {"failure_probability": p, "decline_codes": ["do_not_honor", "generic_decline"],
             "payment_methods": ["card", "wallet"]},
        )  # fmt: skip
    if kind == CARD_TESTING:
        duration = int(rng.integers(10, 31)) * MINUTE
        start = _day_in(rng, lo, hi, DAY) + int(rng.integers(0, 24 * 60)) * MINUTE
        attempts = int(rng.integers(300, 601))
        # `value` (the fake customer's id) is filled in by the generator, which owns ids.
        return Incident(
            kind, "customer_id", "", start, start + duration,
            details={"attempts": attempts, "trigger": "card_verification"},
        )  # fmt: skip
    duration = int(rng.integers(3, 6)) * DAY
    start = _day_in(rng, lo, hi, duration)
    multiplier = int(rng.integers(4, 9))
    return Incident(
        kind, "overall", "all", start, start + duration,
        details={"multiplier": multiplier, "reasons": ["fraudulent", "unrecognized"]},
    )  # fmt: skip


def vary_magnitudes(rng: np.random.Generator, incidents: list[Incident]) -> None:
    """Redraw each incident's size from barely detectable to obvious, for a power curve.

    `schedule` draws typical sizes (an outage failing 45-65 % of attempts for 2-6 h, disputes
    4-8x): every one is plainly visible at 4,000 customers, which the sample's tests rely on.
    Scoring a detector needs sizes along its whole curve, so here the strength is drawn from
    wide ranges (placement, segment and duration of days are kept)."""
    for inc in incidents:
        if inc.kind == PROCESSOR_OUTAGE:
            inc.failure_probability = round(float(rng.uniform(0.2, 0.9)), 2)
            duration = int(rng.integers(2, 25)) * 15 * MINUTE  # 30 min to 6 h
            inc.end = inc.start + duration
        elif inc.kind == ISSUER_SPIKE:
            inc.failure_probability = round(float(rng.uniform(0.2, 0.6)), 2)
        elif inc.kind == CARD_TESTING:
            inc.details["attempts"] = int(rng.integers(20, 601))
        else:
            inc.details["multiplier"] = int(rng.integers(2, 11))
        if inc.failure_probability:
            inc.details["failure_probability"] = inc.failure_probability


class IncidentModel:
    """Extra failures caused by outages and issuer spikes, drawn from a separate random stream
    so the base data's draws are not shifted by them."""

    def __init__(self, incidents: list[Incident], rng: np.random.Generator):
        self.incidents = incidents
        self.rng = rng
        self.failing = [i for i in incidents if i.kind in (PROCESSOR_OUTAGE, ISSUER_SPIKE)]
        self._code_ids = {id(i): np.array([cat.code(c) for c in i.codes]) for i in self.failing}

    def by_kind(self, kind: str) -> Incident | None:
        return next((i for i in self.incidents if i.kind == kind), None)

    def failures(self, t, processor, card_country, method) -> tuple[np.ndarray, np.ndarray]:
        """(failed, decline code) of the incidents for each attempt; code -1 where none hit."""
        n = np.size(t)
        failed = np.zeros(n, bool)
        codes = np.full(n, -1, np.int64)
        for inc in self.failing:
            inside = (t >= inc.start) & (t < inc.end)
            if not inside.any():
                continue
            if inc.kind == PROCESSOR_OUTAGE:
                hit = inside & (processor == inc.segment) & (method != cat.BANK)
            else:
                hit = (
                    inside
                    & (card_country == inc.segment)
                    & ((method == cat.CARD) | (method == cat.WALLET))
                )
            rows = np.flatnonzero(hit)
            rows = rows[self.rng.random(rows.size) < inc.failure_probability]
            failed[rows] = True
            codes[rows] = self.rng.choice(
                self._code_ids[id(inc)], rows.size, p=np.array(inc.code_weights)
            )
        return failed, codes
