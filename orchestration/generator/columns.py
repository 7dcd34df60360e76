"""Turning the simulation's integer arrays into Arrow columns of the contract's types.

The simulation works on codes, cents and epoch seconds; these helpers build ids, strings,
decimals and timestamps from them in bulk (no Python loop over rows).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import Entity

NULL = -1  # integer columns: missing value
_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8
)
_HALF = np.uint64(62**5)  # ids are 10 base-62 digits: two halves of 5
_DECIMAL = pa.decimal128(18, 2)
_INT32 = pa.int32()

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DECIMAL(18,2)": _DECIMAL,
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}


def arrow_schema(entity: Entity) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in entity.columns])


def _fixed_width(matrix: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """One string per row of a uint8 matrix (all the same width)."""
    n, width = matrix.shape
    if n * width >= 2**31:
        raise ValueError("id column too large for one Arrow string array; write in smaller chunks")
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    bitmap = None
    null_count = 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)), bitmap, null_count
    )


def _base62(values: np.ndarray, digits: int) -> np.ndarray:
    """Base-62 digits of values below 62**digits (at most 5 digits: 32-bit arithmetic)."""
    out = np.empty((values.size, digits), np.uint8)
    v = values.astype(np.uint32)
    for i in range(digits - 1, -1, -1):
        out[:, i] = _ALPHABET[v % 62]
        v //= 62
    return out


def _feistel(values: np.ndarray, salt: int) -> np.ndarray:
    """A keyed bijection of [0, 62**10), as its two base-62 halves: consecutive indices get
    unrelated-looking codes."""
    left, right = values // _HALF, values % _HALF
    for round_ in range(4):
        key = np.uint64((salt >> (round_ * 13)) % 1_000_003 + 1)
        mixed = (right * np.uint64(2_654_435_761) + key) % _HALF
        mixed = (mixed ^ (mixed >> np.uint64(11))) * np.uint64(40_503) % _HALF
        left, right = right, (left + mixed) % _HALF
    return left, right


def id_strings(prefix: str, index: np.ndarray, salt: int, extra: int = 4) -> pa.Array:
    """Stripe-like ids ("cus_4QWKsZuuTHcs7X"): unique per index, scrambled by `salt`, null where
    index < 0. The first ten characters are a bijection of the index; `extra` characters add
    looks, not uniqueness."""
    index = np.asarray(index, np.int64)
    valid = index >= 0
    safe = np.where(valid, index, 0).astype(np.uint64)
    left, right = _feistel(safe, salt)
    parts = [np.frombuffer(prefix.encode(), np.uint8)[None, :].repeat(index.size, 0)]
    parts += [_base62(left, 5), _base62(right, 5)]
    if extra:
        code = left * _HALF + right
        noise = (code ^ (code >> np.uint64(23))) % np.uint64(62**extra)
        parts += [_base62(noise // np.uint64(62**5), extra - 5)] if extra > 5 else []
        parts.append(_base62(noise % np.uint64(62**5), min(extra, 5)))
    return _fixed_width(np.hstack(parts), valid)


def digits_strings(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings (card BINs), null where value < 0."""
    values = np.asarray(values, np.int64)
    valid = values >= 0
    out = np.empty((values.size, width), np.uint8)
    v = np.where(valid, values, 0)
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + (v % 10)
        v = v // 10
    return _fixed_width(out, valid)


def ip_strings(values: np.ndarray) -> pa.Array:
    """Dotted IPv4 strings from uint32 values, null where value < 0."""
    values = np.asarray(values, np.int64)
    valid = values >= 0
    octets = [
        pa.array(((values >> s) & 255).astype(np.int64)).cast(pa.string()) for s in (24, 16, 8, 0)
    ]
    joined = pc.binary_join_element_wise(*octets, ".")
    return pc.if_else(pa.array(valid), joined, pa.scalar(None, pa.string()))


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings of a closed vocabulary from integer codes; null where code < 0."""
    codes = np.asarray(codes)
    return pa.array(values, pa.string()).take(pa.array(codes.astype(np.int32), mask=codes < 0))


def decimals(cents: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """DECIMAL(18,2) from integer cents, exactly (no float rounding)."""
    cents = np.asarray(cents, np.int64)
    words = np.empty((cents.size, 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension into the high 64 bits
    bitmap = None
    null_count = 0
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    return pa.Array.from_buffers(
        _DECIMAL, cents.size, [bitmap, pa.py_buffer(words)], null_count=null_count
    )


def timestamps(seconds: np.ndarray) -> pa.Array:
    """TIMESTAMP (microseconds, UTC, no zone) from epoch seconds; null where seconds < 0."""
    seconds = np.asarray(seconds, np.int64)
    return pa.array(seconds * 1_000_000, pa.timestamp("us"), mask=seconds < 0)


def integers(values: np.ndarray, arrow_type: pa.DataType = _INT32) -> pa.Array:
    values = np.asarray(values, np.int64)
    return pa.array(values, arrow_type, mask=values < 0)


def booleans(values: np.ndarray) -> pa.Array:
    """BOOLEAN from int8 (1 true, 0 false, -1 null)."""
    values = np.asarray(values)
    return pa.array(values == 1, pa.bool_(), mask=values < 0)
