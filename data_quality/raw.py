"""Checks on the raw billing tables, derived from the data contract.

They validate the CURRENT state of each entity (latest version per key, as the staging models
read it), not just the newest file: a build blocked by bad data stays blocked on every re-run
until a corrected version of the records arrives. In the pipeline, the per-record checks (values,
ranges, unique versions, references: SCOPED_CHECKS) judge only the records loaded since the
entity last passed them all (`Probe.since`, data_quality/watermarks.py); a record that passed
and has no newer version cannot fail them later, except through a new parent version, which
the references check follows. The others are cheap global invariants (schema, volume,
freshness) or a distribution over the whole history (decline codes). Ingestion already quarantines rows that
break the contract one row at a time; these checks are the second line (a table altered by
hand, a bug in a loader) and cover what one row cannot show: versions, references between
entities, volumes, freshness and distributions.
"""

from __future__ import annotations

import pandas as pd

from data_quality.core import (
    UNSET,
    Check,
    Expect,
    Probe,
    QualityConfig,
    at_most,
    between,
    drift_limits,
    equal_set,
    in_set,
    none_of,
    one_row,
    present,
)
from orchestration.contract import (
    ENTITIES,
    ENTITY_BY_NAME,
    FRAUD_DECLINE_CODES,
    HARD_DECLINE_CODES,
    LINEAGE_COLUMNS,
    RECORD_RULES,
    SOFT_DECLINE_CODES,
    Column,
    Entity,
    Rule,
    rules,
)

KNOWN_DECLINE_CODES = (*SOFT_DECLINE_CODES, *HARD_DECLINE_CODES, *FRAUD_DECLINE_CODES)
EXAMPLES = 5  # offending ids quoted in a failure message

# Columns that, when a child and the parent it references both carry them, must agree
# (an invoice's customer is its subscription's customer; a refund is in its payment's currency).
SHARED_COLUMNS = ("customer_id", "currency")


# The checks whose verdict is about single records (or a record and its parents): scoped to
# the records loaded since the entity's watermark.
SCOPED_CHECKS = ("values", "ranges", "unique_versions", "references")


def loaded_since(value) -> str:
    """A `_loaded_at` bound as SQL, to the microsecond (ingestion's clock)."""
    return f"timestamp '{value:%Y-%m-%d %H:%M:%S.%f}'"


def _new_keys(entity: Entity, since, column: str | None = None) -> str:
    return (
        f"{column or entity.key} in (select {entity.key} from raw.{entity.name} "
        f"where _loaded_at > {loaded_since(since)})"
    )


def current(entity: Entity, since=None) -> str:
    """The latest version of each record — the same rule (and the same rowid technique) as the
    dbt macro `latest_versions`. With `since`, only the records whose latest version was loaded
    after it (the others were judged by an earlier evaluation)."""
    scope = f" where {_new_keys(entity, since)}" if since else ""
    newer = f" and _loaded_at > {loaded_since(since)}" if since else ""
    return (
        f"(select * from raw.{entity.name} where rowid in (select rowid from raw.{entity.name}"
        f"{scope} qualify row_number() over (partition by {entity.key} "
        f"order by updated_at desc, _loaded_at desc, _source_row desc) = 1){newer})"
    )


def _ts(value) -> str:
    return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"


def contract_rules(entity: Entity, config: QualityConfig) -> list[Rule]:
    """The contract's rules of a record (`orchestration.contract.rules`), the ones ingestion
    quarantines rows by, judged here on the current records at the configured reference time."""
    return rules(entity, now=_ts(config.now()))


def range_rules(entity: Entity, config: QualityConfig) -> list[tuple[str, str]]:
    """(name, predicate) of the rules the `ranges` check counts."""
    return [(r.name, r.predicate()) for r in contract_rules(entity, config) if r.check == "ranges"]


def _skew_rules(entity: Entity) -> list[Rule]:
    return [rule for rule in RECORD_RULES.get(entity.name, ()) if rule.later]


def _profile(probe: Probe, entity: Entity) -> dict:
    """One pass over the entity's current state: every aggregate the per-entity checks need."""
    key = f"profile:{entity.name}"
    if key in probe.cache:
        return probe.cache[key]
    aggregates = ["count(*) as records"]
    for c in entity.columns:
        if c.allowed:
            aggregates.append(f'histogram({c.name}) as "values:{c.name}"')
    for rule in contract_rules(entity, probe.config):
        aggregates.append(f'count(*) filter (where {rule.predicate()}) as "rule:{rule.name}"')
    for rule in _skew_rules(entity):
        aggregates.append(
            f'count(*) filter (where {rule.later} < {rule.earlier}) as "skew:{rule.name}"'
        )
    source = current(entity, probe.since.get(entity.name))
    cursor = probe.con.execute(f"select {', '.join(aggregates)} from {source}")
    names = [d[0] for d in cursor.description]
    profile = dict(zip(names, cursor.fetchone(), strict=True))
    probe.cache[key] = profile
    return profile


def _example_ids(
    probe: Probe, entity: Entity, predicate: str, source: str | None = None
) -> list[str]:
    """Up to EXAMPLES ids of current records matching `predicate`. `source` is the from clause
    when the predicate needs joins (the records under the alias `c`)."""
    rows = probe.con.execute(
        f"select c.{entity.key} "
        f"{source or f'from {current(entity, probe.since.get(entity.name))} c'} where {predicate} "
        f"order by 1 limit {EXAMPLES}"
    ).fetchall()
    return [str(r[0]) for r in rows]


# --- schema: columns and types ---------------------------------------------------------------


def _expected_signature(entity: Entity) -> list[str]:
    return [f"{c.name} {c.type}" for c in (*entity.columns, *LINEAGE_COLUMNS)]


def schema_check(entity: Entity) -> Check:
    def frame(probe: Probe) -> pd.DataFrame:
        return probe.frame(
            "select column_name || ' ' || data_type as column_signature "
            "from information_schema.columns where table_schema = 'raw' and table_name = ? "
            "order by ordinal_position",
            [entity.name],
        )

    def expectations(config: QualityConfig) -> list[Expect]:
        return [
            equal_set(
                "column_signature",
                _expected_signature(entity),
                f"raw.{entity.name} has exactly the contract's columns and types",
            )
        ]

    def examples(probe: Probe, column: str) -> list[str]:
        actual = set(frame(probe)["column_signature"])
        expected = set(_expected_signature(entity))
        return [f"missing {s}" for s in sorted(expected - actual)] + [
            f"unexpected {s}" for s in sorted(actual - expected)
        ]

    return Check(
        asset=("raw", entity.name),
        name="schema",
        severity="ERROR",
        description="Columns and DuckDB types match the data contract exactly.",
        frame=frame,
        expectations=expectations,
        examples=examples,
        observe=lambda f: {"columns": len(f)},
    )


# --- values: required values present, closed value sets respected -----------------------------


def _allowed_pairs(entity: Entity) -> list[str]:
    pairs = []
    for c in entity.columns:
        if c.allowed:
            pairs += [f"{c.name}={v}" for v in c.allowed]
            if not c.required:
                pairs.append(f"{c.name}={UNSET}")
    return pairs


def values_check(entity: Entity) -> Check:
    def frame(probe: Probe) -> pd.DataFrame:
        profile = _profile(probe, entity)
        rows = []
        for c in entity.columns:
            nulls = profile.get(f"rule:missing_{c.name}") or 0
            if c.allowed:
                histogram = profile[f"values:{c.name}"] or {}
                rows += [(f"{c.name}={v}", n) for v, n in sorted(histogram.items())]
                unset = profile["records"] - sum(histogram.values())
                if unset:
                    rows.append((f"{c.name}={UNSET}", unset))
            elif nulls:
                rows.append((f"{c.name}={UNSET}", nulls))
        return pd.DataFrame(rows, columns=["column_value", "records"])

    def expectations(config: QualityConfig) -> list[Expect]:
        return [
            in_set(
                "column_value",
                _allowed_pairs(entity),
                "every required value present and every value in its contract set",
            )
        ]

    def examples(probe: Probe, column: str) -> list[str]:
        values = frame(probe)
        bad = values[~values["column_value"].isin(_allowed_pairs(entity))]
        return [f"{r.column_value} ({r.records} record(s))" for r in bad.itertuples()]

    return Check(
        asset=("raw", entity.name),
        name="values",
        severity="ERROR",
        description="Required columns are filled and statuses, currencies and other closed sets "
        "hold only contract values (current version of each record).",
        frame=frame,
        expectations=expectations,
        examples=examples,
        # the distribution of every closed-set column, e.g. {"status=open": 2, ...}
        observe=lambda f: dict(zip(f["column_value"], f["records"], strict=True)),
    )


# --- ranges: amounts, plausible timestamps, order of events within a record --------------------


def ranges_check(entity: Entity) -> Check:
    def frame(probe: Probe) -> pd.DataFrame:
        profile = _profile(probe, entity)
        counts = {name: profile[f"rule:{name}"] for name, _ in range_rules(entity, probe.config)}
        # Not failures: events out of order within the clock-skew tolerance, which staging moves
        # to the earlier event's time. Recorded so the normalisation is never silent.
        skew = {f"{r.name}_within_skew": profile[f"skew:{r.name}"] for r in _skew_rules(entity)}
        return pd.DataFrame([{"records_checked": profile["records"]} | counts | skew])

    def expectations(config: QualityConfig) -> list[Expect]:
        return [none_of(name) for name, _ in range_rules(entity, config)]

    def examples(probe: Probe, column: str) -> list[str]:
        predicate = dict(range_rules(entity, probe.config))[column]
        return _example_ids(probe, entity, predicate)

    return Check(
        asset=("raw", entity.name),
        name="ranges",
        severity="ERROR",
        description="Amounts ≥ 0, timestamps within the contract window and not in the future, "
        "events in order within a record (due after issue, ...).",
        frame=frame,
        expectations=expectations,
        examples=examples,
    )


# --- unique versions --------------------------------------------------------------------------


def unique_versions_check(entity: Entity) -> Check:
    key = entity.key

    def versions(probe: Probe) -> str:
        """The versions of the records that got one since the watermark (all without one)."""
        since = probe.since.get(entity.name)
        return f"raw.{entity.name}" + (f" where {_new_keys(entity, since)}" if since else "")

    def frame(probe: Probe) -> pd.DataFrame:
        return probe.frame(
            f"select count(*) - count(distinct ({key}, updated_at)) as duplicate_versions "
            f"from {versions(probe)}"
        )

    def examples(probe: Probe, column: str) -> list[str]:
        rows = probe.con.execute(
            f"select {key}, updated_at, count(*) from {versions(probe)} group by all "
            f"having count(*) > 1 order by 1, 2 limit {EXAMPLES}"
        ).fetchall()
        return [f"{k} @ {u} ({n} rows)" for k, u, n in rows]

    return Check(
        asset=("raw", entity.name),
        name="unique_versions",
        severity="ERROR",
        description=f"One row per ({key}, updated_at): every version is unambiguous, so the "
        "latest version of a record is well defined.",
        frame=frame,
        expectations=lambda config: [none_of("duplicate_versions")],
        examples=examples,
    )


# --- references between entities -------------------------------------------------------------


def _parents(entity: Entity) -> list[tuple[Column, Entity, str]]:
    """(reference column, the entity it points to, that entity's alias in `_reference_from`)."""
    return [(c, ENTITY_BY_NAME[c.parent], f"p_{c.name}") for c in entity.columns if c.parent]


def reference_rules(entity: Entity) -> list[tuple[str, str, str]]:
    """(rule name, join alias setup, predicate): orphans and disagreements with the parent."""
    rules = []
    for c, parent, alias in _parents(entity):
        rules.append(
            (
                f"unknown_{c.name}",
                c.name,
                f"c.{c.name} is not null and {alias}.{parent.key} is null",
            )
        )
        for shared in SHARED_COLUMNS:
            if shared != c.name and shared in entity.column_names and shared in parent.column_names:
                rules.append(
                    (
                        f"{shared}_differs_from_{parent.name[:-1]}",
                        c.name,
                        f"c.{shared} <> {alias}.{shared}",
                    )
                )
    return rules


def _reference_from(entity: Entity) -> str:
    joins = [
        f"left join {current(parent)} {alias} on c.{c.name} = {alias}.{parent.key}"
        for c, parent, alias in _parents(entity)
    ]
    return f"from {current(entity)} c " + " ".join(joins)


def _reference_scope(entity: Entity, since) -> str:
    """The records `references` judges: with `since`, the records loaded after it and the
    records whose parent got a new version after it (its customer or currency may differ now)."""
    if not since:
        return "true"
    touched = [f"c._loaded_at > {loaded_since(since)}"] + [
        _new_keys(parent, since, f"c.{c.name}") for c, parent, _ in _parents(entity)
    ]
    return f"({' or '.join(touched)})"


def references_check(entity: Entity) -> Check:
    rules = reference_rules(entity)

    def frame(probe: Probe) -> pd.DataFrame:
        aggregates = ", ".join(
            f'count(*) filter (where {predicate}) as "{name}"' for name, _, predicate in rules
        )
        scope = _reference_scope(entity, probe.since.get(entity.name))
        return probe.frame(
            f"select count(*) as records_checked, {aggregates} "
            f"{_reference_from(entity)} where {scope}"
        )

    def examples(probe: Probe, column: str) -> list[str]:
        predicate = next(p for name, _, p in rules if name == column)
        scope = _reference_scope(entity, probe.since.get(entity.name))
        return _example_ids(probe, entity, f"{scope} and ({predicate})", _reference_from(entity))

    return Check(
        asset=("raw", entity.name),
        name="references",
        severity="ERROR",
        description="Every reference points to an existing record, and a record agrees with "
        f"its parent on {' and '.join(SHARED_COLUMNS)} where both carry it.",
        frame=frame,
        expectations=lambda config: [none_of(name) for name, _, _ in rules],
        examples=examples,
        deps=tuple(("raw", p) for p in entity.parents),
    )


# --- volume compared with recent loads ---------------------------------------------------------


def volume_check(entity: Entity) -> Check:
    def frame(probe: Probe) -> pd.DataFrame:
        config = probe.config
        if not probe.table_exists("raw", "_load_manifest"):
            return one_row({"latest_load_rows": None, "ratio": None})
        # A load is a burst of files: the ones ingested less than `volume_load_gap` apart (a
        # backfill of monthly files is one load, a daily drop the next one).
        return probe.frame(
            """
            with files as (
                select loaded_at, rows_read,
                    coalesce(loaded_at - lag(loaded_at) over (order by loaded_at) > ?, true)
                        as starts_load
                from raw._load_manifest
                where entity = ? and status in ('loaded', 'empty')
            ),
            numbered as (
                select *, sum(starts_load::int) over (order by loaded_at
                    rows unbounded preceding) as load_no
                from files
            ),
            loads as (
                select load_no, sum(rows_read) as rows, count(*) as files,
                    min(loaded_at) as started_at,
                    row_number() over (order by load_no desc) as recency
                from numbered group by load_no
            ),
            baseline as (
                select median(rows) as rows, count(*) as loads
                from loads where recency between 2 and 1 + ?
            )
            select l.started_at as latest_load_at, l.files as latest_load_files,
                l.rows as latest_load_rows, b.rows as baseline_rows, b.loads as baseline_loads,
                case when b.rows >= ? then round(l.rows / b.rows, 4) end as ratio
            from baseline b left join loads l on l.recency = 1
            """,
            [
                config.volume_load_gap,
                entity.name,
                config.volume_window,
                config.volume_min_baseline_rows,
            ],
        )

    def expectations(config: QualityConfig) -> list[Expect]:
        return [between("ratio", config.volume_min_ratio, config.volume_max_ratio, strict=True)]

    return Check(
        asset=("raw", entity.name),
        name="volume",
        severity="WARN",
        description="Rows in the newest load vs the median of the previous loads "
        "(raw._load_manifest): a drop of 90% or a 10x jump is flagged.",
        frame=frame,
        expectations=expectations,
    )


# --- freshness ---------------------------------------------------------------------------------


def freshness_check(entity: Entity) -> Check:
    def frame(probe: Probe) -> pd.DataFrame:
        return probe.frame(
            "select max(updated_at) as newest_updated_at, "
            "round(date_diff('second', max(updated_at), ?) / 3600, 2) as age_hours "
            f"from raw.{entity.name}",
            [probe.config.now()],
        )

    def expectations(config: QualityConfig) -> list[Expect]:
        limit = config.freshness_max_age_hours.get(entity.name, 48.0)
        return [present("age_hours"), between("age_hours", None, limit)]

    return Check(
        asset=("raw", entity.name),
        name="freshness",
        severity="WARN",
        description="Age of the newest record (max updated_at) relative to the reference time.",
        frame=frame,
        expectations=expectations,
    )


# --- decline codes: known or flagged -----------------------------------------------------------


def decline_codes_check() -> Check:
    entity = ENTITY_BY_NAME["payment_attempts"]
    known = ", ".join(f"'{c}'" for c in KNOWN_DECLINE_CODES)

    def _marked(probe: Probe) -> str:
        days = probe.config.decline_recent_days
        return f"""
            with attempts as {current(entity)},
            marked as (
                select attempt_id, outcome, lower(trim(decline_code)) as code,
                    lower(trim(decline_code)) not in ({known}) as is_unknown,
                    attempted_at > (select max(attempted_at) from attempts)
                        - interval {days} day as is_recent
                from attempts
            )"""

    def frame(probe: Probe) -> pd.DataFrame:
        counts = probe.frame(
            f"""{_marked(probe)}
            select
                count(*) filter (where outcome = 'failed') as failed_attempts,
                count(*) filter (where outcome = 'failed' and is_unknown) as unknown,
                count(*) filter (where outcome = 'failed' and code is null) as without_code,
                count(*) filter (where outcome = 'failed' and is_recent) as recent_failed,
                count(*) filter (where outcome = 'failed' and is_recent and is_unknown)
                    as recent_unknown,
                count(*) filter (where outcome = 'failed' and is_recent and code is null)
                    as recent_without_code,
                count(*) filter (where outcome = 'succeeded' and code is not null)
                    as succeeded_with_code
            from marked"""
        ).iloc[0]
        failed, recent = int(counts.failed_attempts), int(counts.recent_failed)
        earlier = failed - recent
        config = probe.config
        _, unknown_limit = drift_limits(
            config, int(counts.unknown - counts.recent_unknown), earlier, recent
        )
        _, without_code_limit = drift_limits(
            config, int(counts.without_code - counts.recent_without_code), earlier, recent
        )
        return one_row(
            {
                "failed_attempts": failed,
                "unknown_code_share": counts.unknown / failed if failed else None,
                "failed_without_code_share": counts.without_code / failed if failed else None,
                "succeeded_with_code": int(counts.succeeded_with_code),
                "recent_failed_attempts": recent,
                "recent_unknown_code_share": counts.recent_unknown / recent if recent else None,
                "recent_unknown_code_share_limit": unknown_limit,
                "recent_without_code_share": (
                    counts.recent_without_code / recent if recent else None
                ),
                "recent_without_code_share_limit": without_code_limit,
            }
        )

    def expectations(config: QualityConfig) -> list[Expect]:
        window = f"last {config.decline_recent_days} days vs before"
        return [
            at_most("recent_unknown_code_share", "recent_unknown_code_share_limit", window),
            at_most("recent_without_code_share", "recent_without_code_share_limit", window),
            none_of("succeeded_with_code"),
        ]

    def examples(probe: Probe, column: str) -> list[str]:
        if column == "recent_unknown_code_share_limit":
            rows = probe.con.execute(
                f"""{_marked(probe)}
                select code, count(*) from marked
                where outcome = 'failed' and is_unknown and is_recent
                group by 1 order by 2 desc, 1 limit {EXAMPLES}"""
            ).fetchall()
            return [f"{code} ({n})" for code, n in rows]
        predicate = {
            "recent_without_code_share_limit": "outcome = 'failed' and decline_code is null",
            "succeeded_with_code": "outcome = 'succeeded' and decline_code is not null",
        }[column]
        return _example_ids(probe, entity, predicate)

    return Check(
        asset=("raw", "payment_attempts"),
        name="decline_codes",
        severity="WARN",
        description="The shares of failed attempts with a code outside DOMAIN.md's lists, or "
        "without a code, do not jump in the last days against the data's own history (a "
        "processor renaming its codes would make retries and fraud metrics blind); a "
        "successful attempt has no decline code.",
        frame=frame,
        expectations=expectations,
        examples=examples,
    )


def raw_checks(config: QualityConfig | None = None) -> list[Check]:
    """Every raw check, in a stable order (entities in load order, then family)."""
    config = config or QualityConfig()
    checks = []
    for entity in ENTITIES:
        checks += [
            schema_check(entity),
            values_check(entity),
            ranges_check(entity),
            unique_versions_check(entity),
        ]
        if reference_rules(entity):
            checks.append(references_check(entity))
        checks.append(volume_check(entity))
        if entity.name in config.freshness_max_age_hours:
            checks.append(freshness_check(entity))
        if entity.name == "payment_attempts":
            checks.append(decline_codes_check())
    return checks
