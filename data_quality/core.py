"""What a check is: a frame computed in DuckDB plus the GX expectations it must meet.

A check is small data: GX expectations are named by class and keyword arguments here and only
built by `data_quality.runner`, so defining (and listing) checks never imports Great Expectations.
The frames are aggregates (counts, shares, distinct values), not raw rows: validating 10M
payment attempts row by row in pandas would take minutes, while DuckDB aggregates them in
seconds and GX then judges a one-row summary.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pandas as pd

Severity = Literal["ERROR", "WARN"]  # ERROR checks block downstream assets; WARN ones report

UNSET = "∅"  # how a missing value is shown in value-set frames ("plan=∅")


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds and the reference time. Defaults are the ones documented in docs/data_quality.md."""

    # "Now" for freshness and for "not in the future"; a parameter so results are reproducible.
    reference_time: dt.datetime | None = None
    # Volume: the newest load compared with the median of the loads before it.
    volume_window: int = 10
    volume_load_gap: dt.timedelta = dt.timedelta(minutes=10)  # files closer are one load
    volume_min_baseline_rows: int = 100  # smaller baselines are too noisy to judge a ratio
    volume_min_ratio: float = 0.1  # a drop of 90% or more is flagged
    volume_max_ratio: float = 10.0  # a 10x jump or more is flagged
    # Freshness: maximum age of the newest record, per entity (hours).
    freshness_max_age_hours: Mapping[str, float] = field(
        default_factory=lambda: {"invoices": 48.0, "payment_attempts": 48.0}
    )
    # Distributions (decline codes and classes among failed attempts) are judged against the
    # data's own history, never against constants: billing systems differ in their code lists
    # and decline mixes. The last `decline_recent_days` are compared with the history before.
    decline_recent_days: int = 7
    # p-chart limits: earlier share ± z·√(p(1−p)/n_recent). z = 3 gives a one-sided false-alarm
    # rate of 0.13 % per check and build (about one false warning per two years of daily builds).
    drift_z: float = 3.0
    # ...and never tighter than this, so a history without any unknown code is no zero tolerance.
    drift_min_shift: float = 0.02
    # Fewer failed attempts before the recent window than this is no baseline: not judged.
    drift_min_baseline: int = 50
    # Money reconciliations: differences below this are rounding (decimal(18,2) amounts).
    amount_tolerance: float = 0.005

    def now(self) -> dt.datetime:
        if self.reference_time is not None:
            return self.reference_time
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Expect:
    """One GX expectation: its class name in `great_expectations.expectations` and arguments."""

    kind: str
    kwargs: Mapping[str, Any]
    expected: str  # what must hold, for people: "due_before_issue = 0"

    @property
    def column(self) -> str | None:
        """The frame column judged (for a pair expectation, the one holding the limit)."""
        return column_of(self.kwargs)


def column_of(kwargs: Mapping[str, Any]) -> str | None:
    return kwargs.get("column") or kwargs.get("column_A")


def none_of(column: str) -> Expect:
    """The frame's count column must be 0."""
    return Expect(
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": 0, "max_value": 0},
        f"{column} = 0",
    )


def between(column: str, low: float | None, high: float | None, *, strict: bool = False) -> Expect:
    lt = "<" if strict else "≤"
    text = " ".join(
        p for p in (f"{low:g} {lt}" if low is not None else "", column,
                    f"{lt} {high:g}" if high is not None else "") if p
    )  # fmt: skip
    kwargs: dict[str, Any] = {"column": column, "min_value": low, "max_value": high}
    if strict:
        kwargs |= {"strict_min": low is not None, "strict_max": high is not None}
    return Expect("ExpectColumnValuesToBeBetween", kwargs, text)


def present(column: str) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", {"column": column}, f"{column} is known")


def in_set(column: str, values: list[str], label: str) -> Expect:
    return Expect(
        "ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}, f"{label}"
    )


def equal_set(column: str, values: list[str], label: str) -> Expect:
    return Expect(
        "ExpectColumnDistinctValuesToEqualSet", {"column": column, "value_set": values}, label
    )


def drift_limits(
    config: QualityConfig,
    earlier_hits: int,
    earlier_n: int,
    recent_n: int,
    dispersion: float = 1.0,
) -> tuple[float | None, float | None]:
    """Lower and upper p-chart limits for the recent share of something, from its earlier share
    (None, None without a baseline or recent data: nothing to judge). `dispersion` widens the
    binomial sigma where the history itself varies more than chance (Laney's p'-chart)."""
    if earlier_n < config.drift_min_baseline or not recent_n:
        return None, None
    share = earlier_hits / earlier_n
    sigma = max(dispersion, 1.0) * (share * (1 - share) / recent_n) ** 0.5
    spread = max(config.drift_z * sigma, config.drift_min_shift)
    return max(0.0, share - spread), min(1.0, share + spread)


def dispersion(windows: list[tuple[int, int]]) -> float:
    """Standard deviation of the windows' standardised shares around their pooled share: 1 when
    they vary as independent trials would, more when attempts cluster (retries of one invoice
    fail alike, billing runs bunch customers). Windows as (hits, n)."""
    windows = [(h, n) for h, n in windows if n]
    hits, total = sum(h for h, _ in windows), sum(n for _, n in windows)
    if len(windows) < 3 or not 0 < hits < total:
        return 1.0
    share = hits / total
    z = [(h / n - share) / (share * (1 - share) / n) ** 0.5 for h, n in windows]
    mean = sum(z) / len(z)
    return (sum((v - mean) ** 2 for v in z) / (len(z) - 1)) ** 0.5


def at_most(column: str, limit: str, label: str) -> Expect:
    """`column` ≤ `limit`, both frame columns; not judged where either is missing."""
    return _pair(limit, column, f"{column} ≤ {limit} ({label})")


def at_least(column: str, limit: str, label: str) -> Expect:
    """`column` ≥ `limit`, both frame columns; not judged where either is missing."""
    return _pair(column, limit, f"{column} ≥ {limit} ({label})")


def _pair(greater: str, smaller: str, expected: str) -> Expect:
    kwargs = {"column_A": greater, "column_B": smaller, "or_equal": True,
              "ignore_row_if": "either_value_is_missing"}  # fmt: skip
    return Expect("ExpectColumnPairValuesAToBeGreaterThanB", kwargs, expected)


def one_row(values: Mapping[str, Any]) -> pd.DataFrame:
    """A one-row frame keeping each value's own type (no int → float upcast beside a None)."""
    return pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in values.items()})


class Probe:
    """A connection to the warehouse plus per-run caches shared by the checks of one run."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        config: QualityConfig,
        since: dict[str, Any] | None = None,
    ):
        self.con = con
        self.config = config
        # Per raw entity, the load time through which its records last passed every scoped
        # check (data_quality/watermarks.py): those checks judge only records loaded later.
        self.since: dict[str, Any] = since or {}
        self.cache: dict[str, Any] = {}

    def frame(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()[0]
        )


@dataclass(frozen=True)
class Check:
    """One Dagster asset check = one GX suite = one frame and its expectations."""

    asset: tuple[str, ...]  # Dagster asset key path, e.g. ("raw", "invoices")
    name: str  # unique per asset, e.g. "ranges"
    severity: Severity
    description: str
    frame: Callable[[Probe], pd.DataFrame]
    expectations: Callable[[QualityConfig], list[Expect]]
    # Offending examples for a failed expectation's column (ids, values), fetched on failure only.
    examples: Callable[[Probe, str], list[str]] | None = None
    deps: tuple[tuple[str, ...], ...] = ()  # other assets the frame reads (parents, raw sources)
    # What to report as observed for a multi-row frame (one-row frames report their values).
    observe: Callable[[pd.DataFrame], dict[str, Any]] | None = None

    @property
    def asset_name(self) -> str:
        return ".".join(self.asset)

    @property
    def suite_name(self) -> str:
        return f"{self.asset_name}.{self.name}"

    @property
    def blocking(self) -> bool:
        return self.severity == "ERROR"


@dataclass
class CheckResult:
    check: Check
    passed: bool
    observed: dict[str, Any]  # frame values (one-row frames) and GX's unexpected values
    expected: str  # every expectation, "; "-joined
    message: str  # one readable paragraph: what failed, by how much, examples
    seconds: float = 0.0


def jsonable(value: Any) -> Any:
    """Frame and GX values as plain JSON types (numpy scalars, decimals, timestamps, NaN)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (dt.datetime, pd.Timestamp)):
        value = value.item()  # numpy scalar
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return None if pd.isna(value) else value.isoformat(sep=" ")
    if value is pd.NaT or (not isinstance(value, (int,)) and pd.isna(value)):
        return None
    return value
