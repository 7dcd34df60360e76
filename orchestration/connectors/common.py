"""Value conversions and the report every connector shares: money, time, contract-shaped tables."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import pyarrow as pa

from orchestration.contract import ENTITIES, ENTITY_BY_NAME, MIN_TIMESTAMP

# ISO 4217 minor-unit exponents where they differ from 2, as billing APIs count them.
# Stripe's zero-decimal list; ISK, HUF and TWD are sent with two decimals by Stripe for
# backwards compatibility, so they stay at the default.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
        "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# A placeholder record's version time: older than any real version, so a real one always wins.
PLACEHOLDER_UPDATED_AT = MIN_TIMESTAMP
PLACEHOLDER_SOURCE = "_placeholders"  # output group (file) of placeholder records
GUEST_PREFIX = "guest_"  # customer ids a connector made up for payments without a customer
# Customer of a refund or dispute whose charge is not in the source: an id no customer has, so
# the row waits in quarantine as `unknown_reference` (never `invalid` for a missing customer);
# once the charge arrives, the next run maps the row with the charge's customer.
UNKNOWN_CUSTOMER_PREFIX = "unknown_customer_of_"
_TIE_STEP = timedelta(microseconds=1)

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DECIMAL(18,2)": pa.decimal128(18, 2),
    "TIMESTAMP": pa.timestamp("us"),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}
_CENT = Decimal("0.01")
_INT_TEXT = re.compile(r"^[+-]?\d+$")
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+)$")
# Zone abbreviations seen in billing exports ("2012-01-19 11:16:41 PST"); strptime can't read them.
_ZONE_ABBREVIATIONS = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
    "AKST": -9, "AKDT": -8, "HST": -10, "JST": 9, "KST": 9, "IST": 5.5, "AEST": 10, "AEDT": 11,
}  # fmt: skip
_TRAILING_ZONE = re.compile(r"^(.*\d)\s+([A-Za-z]{1,5})$")


class ConnectorInputError(ValueError):
    """A source a connector cannot import at all (the message says what was found and what was
    expected); the CLI prints it and exits non-zero."""


def currency_exponent(currency: str | None) -> int:
    code = (currency or "").upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_decimal(value, currency: str | None, unit: str = "minor") -> Decimal | None:
    """An amount as a decimal in major units (euros, yen), or None when absent or unreadable.

    `unit="minor"`: integers are minor units (cents; yen have none). A value written with a
    decimal point ("10.00", 10.5) is taken as major units already: minor-unit fields never carry
    fractions, and some exports (dashboards, dj-stripe) write major units.
    `unit="major"`: every value is in major units.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()  # separators ("1,234.50", "10,50") are the mapped-CSV reader's job
        if not text:
            return None
        if _INT_TEXT.match(text):
            number, has_point = Decimal(text), False
        elif _DECIMAL_TEXT.match(text):
            number, has_point = Decimal(text), True
        else:
            return None
    elif isinstance(value, int):
        number, has_point = Decimal(value), False
    elif isinstance(value, float):
        if value != value:  # NaN: a missing value from a float column
            return None
        number, has_point = Decimal(repr(value)), not value.is_integer()
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None
        number, has_point = value, value.as_tuple().exponent < 0
    else:
        return None
    if unit == "minor" and not has_point:
        number = number.scaleb(-currency_exponent(currency))
    try:
        # DECIMAL(18,2): three-decimal currencies (outside the contract's list) are rounded.
        return number.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return None


def to_utc(value, *, fmt: str | None = None, tz: str = "UTC") -> datetime | None:
    """A timestamp as a naive UTC datetime, or None when absent or unreadable.

    Accepts Unix seconds (or milliseconds, from their size), ISO-8601 text with or without an
    offset, text with a trailing zone abbreviation (PST), `datetime`/`date` values, or text in a
    strptime `fmt`. Values without a zone are read in `tz`.
    """
    if value is None or isinstance(value, bool) or value == "":
        return None
    zone = ZoneInfo(tz) if tz != "UTC" else UTC
    if isinstance(value, (int, float, Decimal)) or (
        isinstance(value, str) and _INT_TEXT.match(value.strip())
    ):
        try:
            seconds = float(value)
        except ValueError:
            return None
        if seconds != seconds or seconds == 0:  # NaN, or 0 used by exports for "none"
            return None
        if abs(seconds) >= 1e11:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = _parse_text(value.strip(), fmt, zone)
        if parsed is None:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _parse_text(text: str, fmt: str | None, zone) -> datetime | None:
    offset = None
    match = _TRAILING_ZONE.match(text)
    if match and match.group(2).upper() in _ZONE_ABBREVIATIONS:
        text, offset = match.group(1), _ZONE_ABBREVIATIONS[match.group(2).upper()]
    try:
        parsed = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        return None
    if offset is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC) - timedelta(hours=offset)
    return parsed


def contract_schema(entity: str) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.type]) for c in ENTITY_BY_NAME[entity].columns]
    )


def contract_table(entity: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts keyed by contract column) as an Arrow table with exactly the contract columns,
    in contract order, with the contract types."""
    schema = contract_schema(entity)
    columns = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
    return pa.table(columns, schema=schema)


def slug(text: str) -> str:
    """A file-name-safe form of a label ('Invoices 2026-03.csv' → 'Invoices_2026-03.csv')."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_.")
    return re.sub(r"-{2,}", "-", cleaned) or "source"


@dataclass
class MappingReport:
    """What a connector read, mapped, kept aside or could not map — nothing is dropped silently."""

    connector: str
    objects_read: Counter = field(default_factory=Counter)  # per source object type / table
    rows_mapped: Counter = field(default_factory=Counter)  # per contract entity
    excluded: Counter = field(default_factory=Counter)  # why objects/rows were not mapped
    # "<entity>.<column> → <parent>": missing parent ids (kept; see docs/connectors.md)
    orphans: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    placeholders: Counter = field(default_factory=Counter)  # placeholder rows written, per entity
    # "<entity>.<column>": {source value: count} for values outside the contract's closed set,
    # passed through as they came (the ingestion quarantines them, visibly)
    unknown_values: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    notes: Counter = field(default_factory=Counter)  # mapping choices worth knowing, counted
    unreadable: list[str] = field(default_factory=list)  # files / lines that could not be parsed

    def orphan_counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in sorted(self.orphans.items()) if v}

    def as_dict(self) -> dict:
        return {
            "connector": self.connector,
            "objects_read": dict(sorted(self.objects_read.items())),
            "rows_mapped": dict(sorted(self.rows_mapped.items())),
            "excluded": dict(sorted(self.excluded.items())),
            "orphans": self.orphan_counts(),
            "orphan_examples": {k: sorted(v)[:5] for k, v in sorted(self.orphans.items()) if v},
            "placeholders": dict(sorted(self.placeholders.items())),
            "unknown_values": {k: dict(v) for k, v in sorted(self.unknown_values.items()) if v},
            "notes": dict(sorted(self.notes.items())),
            "unreadable": self.unreadable[:50],
        }


@dataclass
class Row:
    """One mapped state of one record, before versions are assigned."""

    entity: str
    key: str
    base_at: datetime  # version time before tie-breaking
    seq: int  # observation order within the source
    source: str  # output group: the source file it was read from
    values: dict  # contract columns except updated_at


def add_placeholder_customers(rows: list[Row], report: MappingReport) -> None:
    """Customers referenced but absent from the source get a placeholder record: only the id is
    known, `created_at` is the first time it was referenced, and its version time is older than
    any real one, so a real customer record, whenever it arrives, supersedes it."""
    known = {r.key for r in rows if r.entity == "customers"}
    first_seen: dict[str, datetime] = {}
    for row in rows:
        customer = row.values.get("customer_id")
        if (
            row.entity == "customers"
            or not customer
            or customer in known
            or customer.startswith(UNKNOWN_CUSTOMER_PREFIX)
        ):
            continue
        entity = ENTITY_BY_NAME[row.entity]
        event_at = next((row.values[c.name] for c in entity.columns if c.type == "TIMESTAMP"), None)
        event_at = event_at or row.base_at
        first_seen[customer] = min(first_seen.get(customer, event_at), event_at)
        if not customer.startswith(GUEST_PREFIX):
            report.orphans[f"{row.entity}.customer_id → customers"].add(customer)
    for customer, created in sorted(first_seen.items()):
        values = {
            "customer_id": customer, "email": None, "name": None, "country": None,
            "verification_status": None, "created_at": created,
        }  # fmt: skip
        rows.append(
            Row("customers", customer, PLACEHOLDER_UPDATED_AT, 0, PLACEHOLDER_SOURCE, values)
        )
        report.placeholders["customers"] += 1


def report_orphans(rows: list[Row], report: MappingReport) -> None:
    """References to records absent from the source (customers aside: placeholders cover them).
    They are kept; the ingestion's reference check holds them until the parent arrives."""
    keys = defaultdict(set)
    for row in rows:
        keys[row.entity].add(row.key)
    for row in rows:
        for column in ENTITY_BY_NAME[row.entity].columns:
            value = row.values.get(column.name)
            parent = column.parent
            if parent and parent != "customers" and value is not None and value not in keys[parent]:
                report.orphans[f"{row.entity}.{column.name} → {parent}"].add(value)


def assign_versions(rows: list[Row], report: MappingReport) -> dict[str, list[dict]]:
    """One version per distinct state of a record, with distinct, ordered `updated_at`.

    States are ordered by their own time, then by observation order. Consecutive identical states
    are one version (a record seen in ten dumps is loaded once). A state whose time does not
    exceed the previous version's is placed 1 µs after it, so no two states of a record share an
    `updated_at` (the ingestion keeps one row per record and `updated_at`).
    Returns {entity: rows}, each row with `updated_at` and `_source`.
    """
    by_key: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_key[(row.entity, row.key)].append(row)
    out: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for (entity, key), versions in by_key.items():
        versions.sort(key=lambda r: (r.base_at, r.seq))
        previous_state, previous_at = None, None
        for row in versions:
            state = tuple(sorted((k, repr(v)) for k, v in row.values.items()))
            if state == previous_state:
                updated_at = previous_at
            else:
                updated_at = row.base_at
                if previous_at is not None and updated_at <= previous_at:
                    updated_at = previous_at + _TIE_STEP
                previous_state, previous_at = state, updated_at
            # the same version seen twice in one source file is written once
            out[entity][(row.source, key, updated_at)] = {
                **row.values,
                "updated_at": updated_at,
                "_source": row.source,
            }
    result = {}
    for entity in (e.name for e in ENTITIES):
        entity_rows = [out[entity][k] for k in sorted(out[entity])]
        if entity_rows:
            result[entity] = entity_rows
            report.rows_mapped[entity] = len(entity_rows)
    return result


def without_source(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "_source"} for r in rows]
