"""Hypothesis strategies for odd and corrupted landing files, each with its expected outcome.

A file is a list of rows, each built from one *shape* (a valid row, a zero amount, clock skew
inside or beyond the tolerance, a missing parent, a one-off charge, a guest customer, a
duplicate or newer version, a future `updated_at`, an unknown enum value, a huge or negative
amount, a backfill from years ago, ...), serialised as CSV, JSON Lines or Parquet, then maybe
corrupted as a whole (broken quoting, a bad encoding, truncation, an empty file). For every row
whose file is readable as written, the shape says whether it must load or be quarantined and
why: the test compares the warehouse with that, number for number.

The parents every row may point at (`PARENT_ROWS`) are loaded once into a template warehouse.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from orchestration.contract import CLOCK_SKEW, ENTITY_BY_NAME

SKEW = int(CLOCK_SKEW.total_seconds())
TS_FORMATS = ("iso_z", "space", "offset")

# The records every generated row may reference, loaded before any generated file.
PARENT_ROWS = {
    "customers": [
        {"customer_id": "c1", "name": "Zoë Müller", "country": "DE", "verification_status":
         "verified", "created_at": "2020-01-01", "updated_at": "2020-01-01"},
        # A guest: billed one-off, never subscribed.
        {"customer_id": "c_guest", "created_at": "2021-06-01", "updated_at": "2021-06-01"},
    ],
    "subscriptions": [
        {"subscription_id": "s1", "customer_id": "c1", "plan": "growth",
         "billing_interval": "month", "amount": "49.00", "currency": "EUR", "status": "active",
         "started_at": "2020-01-01", "updated_at": "2020-01-01"},
    ],
    "invoices": [
        {"invoice_id": "in_p1", "subscription_id": "s1", "customer_id": "c1", "currency": "EUR",
         "amount_due": "49.00", "amount_paid": "49.00", "issued_at": "2020-02-01",
         "due_at": "2020-02-01", "paid_at": "2020-02-01", "status": "paid",
         "updated_at": "2020-02-01"},
    ],
    "payment_attempts": [
        {"attempt_id": "ch_p1", "invoice_id": "in_p1", "customer_id": "c1",
         "attempted_at": "2020-02-01", "amount": "49.00", "currency": "EUR",
         "payment_method": "card", "processor": "stripe", "outcome": "succeeded",
         "updated_at": "2020-02-01"},
    ],
}  # fmt: skip

ENTITIES = (
    "customers",
    "subscriptions",
    "invoices",
    "payment_attempts",
    "dunning_messages",
    "disputes",
)
ID_PREFIX = {
    "customers": "cus_",
    "subscriptions": "sub_",
    "invoices": "in_",
    "payment_attempts": "ch_",
    "dunning_messages": "msg_",
    "disputes": "dp_",
}
# (later, earlier) event pairs that the contract's ordering rules judge, per entity.
ORDERED = {
    "subscriptions": [("canceled_at", "started_at", "canceled_before_start")],
    "invoices": [
        ("due_at", "issued_at", "due_before_issue"),
        ("paid_at", "issued_at", "paid_before_issue"),
    ],
    "dunning_messages": [
        ("opened_at", "sent_at", "opened_before_sent"),
        ("clicked_at", "sent_at", "clicked_before_sent"),
    ],
    "disputes": [("closed_at", "opened_at", "closed_before_opened")],
}
AMOUNT = {
    "subscriptions": "amount",
    "invoices": "amount_due",
    "payment_attempts": "amount",
    "disputes": "amount",
}
# A closed-set column per entity for unknown values, and a free-text column for odd bytes.
ENUM = {
    "customers": "verification_status",
    "subscriptions": "status",
    "invoices": "status",
    "payment_attempts": "payment_method",
    "dunning_messages": "channel",
    "disputes": "kind",
}
FREE_TEXT = {
    "customers": "name",
    "subscriptions": "plan",
    "payment_attempts": "processor",
    "dunning_messages": "template",
    "disputes": "reason",
}
NON_ASCII = ("Zoë Müller", "Renée Faÿ", "Åsa Øberg", "Núñez Travel", "crème brûlée")


@dataclass
class Row:
    """One generated row: contract column → text (None = empty), and its fate."""

    values: dict[str, str | None]
    times: dict[str, datetime]  # the intended UTC value of every timestamp written
    shape: str
    reason: str | None = None  # a fault of the row itself: a text its quarantine reason holds
    ref_reason: str | None = None  # a reference to a record that does not exist
    duplicate: bool = False  # the same key and updated_at as an earlier valid row of the file
    json_numbers: set[str] = field(default_factory=set)  # written as JSON numbers, not text

    @property
    def expected_reason(self) -> str | None:
        """None when the row must load, else a text its quarantine reason contains."""
        if self.reason:
            return self.reason
        if self.duplicate:
            return "duplicate of an earlier row with the same"
        return self.ref_reason

    @property
    def loads(self) -> bool:
        return self.expected_reason is None


def fmt_ts(moment: datetime, style: str) -> str:
    if style == "space":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == "offset":
        return (moment + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Base times from 2000 to mid-2026: years of backfill, never in the future.
_base_time = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2026, 6, 1)).map(
    lambda d: d.replace(microsecond=0)
)
_money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@st.composite
def valid_row(draw, entity: str, index: int) -> Row:
    t = draw(_base_time)
    key = ENTITY_BY_NAME[entity].key
    rid = f"{ID_PREFIX[entity]}{index}"
    amount = draw(_money)
    later = t + timedelta(seconds=draw(st.integers(0, 90 * 86400)))
    times: dict[str, datetime] = {"updated_at": later}
    values: dict[str, str | None] = {key: rid}
    if entity == "customers":
        values |= {"name": draw(st.sampled_from(NON_ASCII)), "country": "FR",
                   "verification_status": "verified", "email": f"{rid}@example.com"}  # fmt: skip
        times["created_at"] = t
    elif entity == "subscriptions":
        values |= {"customer_id": "c1", "plan": "growth", "billing_interval": "month",
                   "amount": str(amount), "currency": "EUR", "status": "active"}  # fmt: skip
        times["started_at"] = t
    elif entity == "invoices":
        paid = draw(st.booleans())
        values |= {"subscription_id": "s1", "customer_id": "c1", "currency": "EUR",
                   "amount_due": str(amount), "amount_paid": str(amount if paid else 0),
                   "status": "paid" if paid else "open",
                   "billing_reason": "subscription_cycle"}  # fmt: skip
        times |= {"issued_at": t, "due_at": t + timedelta(days=14)}
        if paid:
            times["paid_at"] = later
    elif entity == "payment_attempts":
        values |= {"invoice_id": "in_p1", "customer_id": "c1", "amount": str(amount),
                   "currency": "EUR", "payment_method": "card", "processor": "stripe",
                   "outcome": "failed", "decline_code": "insufficient_funds",
                   "attempt_number": "2", "trigger": "automatic_retry"}  # fmt: skip
        times["attempted_at"] = t
    elif entity == "dunning_messages":
        values |= {"customer_id": "c1", "invoice_id": "in_p1", "channel": "email",
                   "template": "payment_failed"}  # fmt: skip
        times |= {"sent_at": t, "opened_at": later}
    elif entity == "disputes":
        values |= {"attempt_id": "ch_p1", "customer_id": "c1", "amount": str(amount),
                   "currency": "EUR", "kind": "chargeback", "reason": "fraudulent",
                   "status": "lost"}  # fmt: skip
        times |= {"opened_at": t, "closed_at": later}
    return Row(values, times, "valid")


def _unknown_value(column: str):
    allowed = ENTITY_BY_NAME_COLUMNS[column]
    norm = str.upper if column.endswith("currency") else str.lower
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyzEUR_- ", min_size=1, max_size=12).filter(
        lambda v: v.strip() != "" and norm(v.strip()) not in allowed
    )


ENTITY_BY_NAME_COLUMNS = {
    c.name: c.allowed
    for e in ENTITY_BY_NAME.values()
    for c in e.columns
    if c.allowed and c.name in (*ENUM.values(), "currency")
}


def _later(draw, row: Row, entity: str, *, beyond: bool) -> Row:
    later, earlier, rule = draw(st.sampled_from(ORDERED[entity]))
    seconds = draw(st.integers(SKEW + 1, 10**7) if beyond else st.integers(1, SKEW))
    row.times[later] = row.times[earlier] - timedelta(seconds=seconds)
    if later == "clicked_at":  # a click needs no open, but keep the open coherent
        row.times["opened_at"] = row.times[earlier]
    if beyond:
        row.reason = f"{rule}: `{later}` before `{earlier}`"
    return row


def shapes_for(entity: str, *, with_earlier_rows: bool = True) -> list[str]:
    """Every shape a row of `entity` can take (the versions need an earlier row to copy)."""
    shapes = ["valid", "whitespace_case", "missing_parent", "future_updated_at", "unknown_enum",
              "missing_required", "unparseable_time", "out_of_range_time", "old_backfill"]  # fmt: skip
    if entity in AMOUNT:
        shapes += ["zero_amount", "huge_amount", "too_huge_amount", "negative_amount",
                   "minus_zero"]  # fmt: skip
    if entity in ORDERED:
        shapes += ["skew_within", "skew_at_tolerance", "skew_beyond"]
    if entity == "invoices":
        shapes += ["one_off_invoice", "guest_invoice", "paid_more_than_due"]
    if entity == "payment_attempts":
        shapes += ["one_off_charge", "unknown_decline_code", "attempt_number_0", "guest_charge"]
    if entity == "dunning_messages":
        shapes += ["no_invoice_message"]
    if with_earlier_rows:
        shapes += ["duplicate_version", "newer_version"]
    return shapes


@st.composite
def shaped_row(
    draw, entity: str, index: int, earlier_rows: list[Row], shape: str | None = None
) -> Row:
    if shape is None:
        shape = draw(st.sampled_from(shapes_for(entity, with_earlier_rows=bool(earlier_rows))))
    row = draw(valid_row(entity, index))
    row.shape = shape
    key = ENTITY_BY_NAME[entity].key
    amount = AMOUNT.get(entity)
    if shape == "whitespace_case":
        column = ENUM[entity]
        row.values[column] = f"  {row.values.get(column, 'verified').upper()} "
    elif shape == "missing_parent":
        if entity == "customers":  # no parent: a customer with no subscription is a guest
            row.shape = "guest_customer"
        else:
            row.values["customer_id"] = "c_missing"
            row.ref_reason = "unknown customer_id 'c_missing' (no such customer)"
    elif shape == "future_updated_at":
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        ahead = draw(st.integers(25 * 3600, 20 * 365 * 86400))
        row.times["updated_at"] = now + timedelta(seconds=ahead)
        row.reason = "updated_at in the future"
    elif shape == "unknown_enum":
        column = ENUM[entity]
        row.values[column] = draw(_unknown_value(column))
        row.reason = f"unknown {column} '"
    elif shape == "missing_required":
        column = draw(st.sampled_from([key, "updated_at"]))
        row.values[column] = None
        row.times.pop(column, None)
        row.reason = f"missing {column}"
    elif shape == "unparseable_time":
        row.values["updated_at"] = draw(st.sampled_from(["31/12/2025", "yesterday", "2026-13-01"]))
        row.times.pop("updated_at")
        row.reason = "unparseable updated_at (expected timestamp)"
    elif shape == "out_of_range_time":
        row.times["updated_at"] = draw(st.sampled_from([datetime(1999, 12, 31, 23, 59, 59),
                                                        datetime(1970, 1, 1)]))  # fmt: skip
        row.reason = "updated_at out of range [2000, 2100)"
    elif shape == "old_backfill":
        shift = timedelta(days=draw(st.integers(365, 9 * 365)))
        first = min(row.times.values())
        shift = min(shift, first - datetime(2000, 1, 1))
        row.times = {k: v - shift for k, v in row.times.items()}
    elif shape == "zero_amount":
        row.values[amount] = draw(st.sampled_from(["0", "0.00", "0.0"]))
        if entity == "invoices":
            row.values["amount_paid"] = "0"
    elif shape == "huge_amount":
        row.values[amount] = "9999999999999999.99"
        row.json_numbers.add(amount)
        if entity == "invoices":
            row.values["amount_paid"] = "0"
    elif shape == "too_huge_amount":
        row.values[amount] = "10000000000000000"
        row.reason = f"unparseable {amount} (expected decimal(18,2))"
        if entity == "invoices":
            row.values["amount_paid"] = "0"
    elif shape == "negative_amount":
        row.values[amount] = "-" + str(draw(_money))
        row.reason = f"negative {amount}: -"
        if entity == "invoices":
            row.values["amount_paid"] = "0"
    elif shape == "minus_zero":
        row.values[amount] = "-0.00"  # a sign on nothing: zero, not negative
        if entity == "invoices":
            row.values["amount_paid"] = "0"
    elif shape in ("skew_within", "skew_at_tolerance", "skew_beyond"):
        row = _later(draw, row, entity, beyond=shape == "skew_beyond")
        if shape == "skew_at_tolerance":
            later, earlier, _ = ORDERED[entity][0]
            row.times[later] = row.times[earlier] - CLOCK_SKEW
    elif shape == "one_off_invoice":
        row.values["subscription_id"] = None
        row.values["billing_reason"] = "manual"
    elif shape == "guest_invoice":
        row.values |= {"subscription_id": None, "customer_id": "c_guest", "billing_reason": None}
    elif shape == "paid_more_than_due":
        row.values["amount_paid"] = str(Decimal(row.values["amount_due"]) + Decimal("0.01"))
        row.reason = "paid_more_than_due"
    elif shape == "one_off_charge":
        row.values |= {"invoice_id": None, "trigger": "customer_initiated", "attempt_number": None}
    elif shape == "guest_charge":
        row.values |= {"invoice_id": None, "customer_id": "c_guest", "outcome": "succeeded",
                       "decline_code": None, "attempt_number": None}  # fmt: skip
    elif shape == "unknown_decline_code":
        row.values["decline_code"] = draw(st.sampled_from(["call_issuer", "zz-99", "Ünbekannt"]))
    elif shape == "attempt_number_0":
        row.values["attempt_number"] = "0"
        row.reason = "attempt_number_below_1"
    elif shape == "no_invoice_message":
        row.values["invoice_id"] = None
        row.values["template"] = "card_expiring"
    elif shape == "duplicate_version":
        # The same row again, byte for byte (an export that repeats a line).
        source = draw(st.sampled_from(earlier_rows))
        row = _copy(source, shape)
    elif shape == "newer_version":
        # The same record later (open → paid): a new version, unless the source's fault was
        # its updated_at (then the shape is a plain copy of a fault).
        versioned = [r for r in earlier_rows if r.reason is None or "updated_at" not in r.reason]
        source = draw(st.sampled_from(versioned or earlier_rows))
        row = _copy(source, shape)
        if versioned and "updated_at" in row.times:
            row.times["updated_at"] += timedelta(hours=draw(st.integers(1, 24 * 30)))
    return row


def _copy(source: Row, shape: str) -> Row:
    return replace(source, values=dict(source.values), times=dict(source.times), shape=shape,
                   json_numbers=set(source.json_numbers), duplicate=False)  # fmt: skip


def mark_duplicates(entity: str, rows: list[Row]) -> None:
    """The contract's rule for one file: of rows without a fault of their own that share a key
    and `updated_at`, the first loads and the later ones are quarantined."""
    key = ENTITY_BY_NAME[entity].key
    seen = set()
    for row in rows:
        version = (row.values.get(key), row.times.get("updated_at"))
        if row.reason is None and None not in version:
            row.duplicate = version in seen
            seen.add(version)


@dataclass
class LandingFile:
    entity: str
    rows: list[Row]
    file_format: str  # csv | jsonl | parquet
    ts_style: str
    delimiter: str = ","
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | cp1252 | stray_byte
    corruption: str = "none"
    cut: float = 0.5  # where a truncation cuts, as a share of the bytes
    content: bytes = b""

    @property
    def suffix(self) -> str:
        return {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[self.file_format]

    @property
    def exact(self) -> bool:
        """Whether every row reaches the loader as written (the shapes' oracle applies)."""
        return self.corruption in ("none", "crlf", "blank_lines", "header_only", "empty")

    @property
    def expected_rows(self) -> list[Row]:
        return [] if self.corruption in ("header_only", "empty") else self.rows


def _columns(entity: str, rows: list[Row]) -> list[str]:
    """The contract's columns that any row fills, in contract order (optional ones left out)."""
    used = {k for r in rows for k, v in r.values.items() if v is not None} | {
        k for r in rows for k in r.times
    }
    entity_def = ENTITY_BY_NAME[entity]
    return [c.name for c in entity_def.columns if c.required or c.name in used]


def _texts(row: Row, columns: list[str], style: str) -> dict[str, str | None]:
    out = {}
    for c in columns:
        if c in row.times:
            out[c] = fmt_ts(row.times[c], style)
        else:
            out[c] = row.values.get(c)
    return out


def render(f: LandingFile) -> bytes:
    columns = _columns(f.entity, f.rows)
    texts = [_texts(r, columns, f.ts_style) for r in f.rows]
    if f.corruption == "empty":
        return b""
    if f.file_format == "parquet":
        table = pa.table({c: pa.array([t[c] for t in texts], pa.string()) for c in columns})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        data = sink.getvalue()
        if f.corruption == "truncated":
            data = data[: max(1, int(len(data) * f.cut))]
        return data
    if f.file_format == "jsonl":
        lines = []
        for row, t in zip(f.rows, texts, strict=True):
            obj = {}
            for c in columns:
                if t[c] is None:
                    continue
                # Amounts as a billing system's JSON has them: numbers, not strings.
                obj[c] = _JsonNumber(t[c]) if c in row.json_numbers or c == "amount" else t[c]
            lines.append(_dumps(obj))
        text = "\n".join(lines) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=f.delimiter, lineterminator="\n")
        writer.writerow(columns)
        if f.corruption != "header_only":
            writer.writerows([["" if t[c] is None else t[c] for c in columns] for t in texts])
        text = out.getvalue()
    if f.corruption == "crlf":
        text = text.replace("\n", "\r\n")
    elif f.corruption == "blank_lines":
        text = text.replace("\n", "\n\n", 3)
    elif f.corruption == "broken_quote" and f.rows:
        lines = text.split("\n")
        target = 1 + int(f.cut * (len(lines) - 2)) if f.file_format == "csv" else 0
        line = lines[target]
        cut = f.delimiter if f.file_format == "csv" else ":"
        parts = line.split(cut)
        i = int(f.cut * len(parts)) % len(parts)
        parts[i] = '"' + parts[i]
        lines[target] = cut.join(parts)
        text = "\n".join(lines)
    if f.encoding == "cp1252":
        data = text.encode("cp1252", errors="replace")
    elif f.encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    elif f.encoding == "stray_byte":
        # One Windows-1252 byte in an otherwise UTF-8 file, inside a free-text value.
        data = text.encode("utf-8")
        marker = FREE_TEXT.get(f.entity)
        value = next((r.values.get(marker) for r in f.rows if r.values.get(marker)), None)
        if value:
            needle = value.encode("utf-8")
            data = data.replace(needle, needle[:1] + b"\xe9" + needle[1:], 1)
    else:
        data = text.encode("utf-8")
    if f.corruption == "truncated":
        data = data[: max(1, int(len(data) * f.cut))]
    return data


class _JsonNumber(str):
    """A decimal written into JSON as a bare number (json.dumps would quote a str)."""


def _dumps(obj: dict) -> str:
    parts = []
    for k, v in obj.items():
        value = str(v) if isinstance(v, _JsonNumber) else json.dumps(v, ensure_ascii=False)
        parts.append(f"{json.dumps(k)}: {value}")
    return "{" + ", ".join(parts) + "}"


def corruptions_for(file_format: str) -> list[str]:
    """How a file of this format can arrive damaged (or not)."""
    corruptions = ["none", "empty", "truncated"]
    if file_format != "parquet":
        corruptions += ["crlf", "blank_lines", "broken_quote"]
    if file_format == "csv":
        corruptions += ["header_only"]
    return corruptions


@st.composite
def landing_files(
    draw,
    entity: str | None = None,
    shape: str | None = None,
    file_format: str | None = None,
    corruption: str | None = None,
) -> LandingFile:
    """A landing file of odd rows; given `entity` and `shape`, its last row has that shape
    (after at least one other row, so that a version has a row to repeat); given `file_format`
    and `corruption` (one of `corruptions_for(file_format)`), it is written that way."""
    entity = entity or draw(st.sampled_from(ENTITIES))
    n = draw(st.integers(2 if shape else 1, 8))
    rows: list[Row] = []
    for i in range(n):
        rows.append(draw(shaped_row(entity, i, rows, shape if i == n - 1 else None)))
    mark_duplicates(entity, rows)
    file_format = file_format or draw(st.sampled_from(["csv", "csv", "jsonl", "parquet"]))
    f = LandingFile(
        entity=entity,
        rows=rows,
        file_format=file_format,
        ts_style=draw(st.sampled_from(TS_FORMATS)),
        delimiter=draw(st.sampled_from([",", ";", "\t", "|"])) if file_format == "csv" else ",",
        encoding=draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "stray_byte"]))
        if file_format != "parquet"
        else "utf-8",
        # "none" twice: most real files are not corrupt
        corruption=corruption or draw(st.sampled_from(["none", *corruptions_for(file_format)])),
        cut=draw(st.floats(0.05, 0.95)),
    )
    f.content = render(f)
    return f
