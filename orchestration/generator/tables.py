"""From a chunk's integer columns to Arrow tables with exactly the contract's columns and types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from orchestration.contract import ENTITIES, ENTITY_BY_NAME, Entity
from orchestration.generator import catalog as cat
from orchestration.generator import columns as col

ID_PREFIX = {
    "customers": "cus_", "subscriptions": "sub_", "invoices": "in_", "payment_attempts": "ch_",
    "payment_method_updates": "pmu_", "dunning_messages": "msg_", "payment_plans": "pp_",
    "payment_plan_instalments": "ppi_", "escalations": "esc_", "disputes": "dp_",
    "refunds": "re_",
}  # fmt: skip
# Id columns that name another entity than the one they sit in.
_KEY_ENTITY = {e.key: e.name for e in ENTITIES}

_VOCABULARY = {
    "country": cat.COUNTRIES, "card_country": cat.COUNTRIES,
    "verification_status": cat.VERIFICATION, "plan": cat.PLANS,
    "billing_interval": cat.INTERVALS, "currency": cat.CURRENCIES,
    "cancel_reason": cat.CANCEL_REASONS, "billing_reason": cat.BILLING_REASONS,
    "payment_method": cat.METHODS, "previous_method": cat.METHODS, "new_method": cat.METHODS,
    "card_brand": cat.BRANDS, "processor": cat.PROCESSORS, "outcome": cat.OUTCOMES,
    "decline_code": cat.DECLINE_CODES, "trigger": cat.TRIGGERS, "channel": cat.CHANNELS,
    "template": cat.TEMPLATES, "stage": cat.STAGES, "agency": cat.AGENCIES + cat.LAW_FIRMS,
}  # fmt: skip
# Same column name, different vocabulary per entity.
_ENTITY_VOCABULARY = {
    ("subscriptions", "status"): cat.SUB_STATUSES,
    ("invoices", "status"): cat.INVOICE_STATUSES,
    ("payment_plans", "status"): cat.PLAN_STATUSES,
    ("disputes", "status"): cat.DISPUTE_STATUSES,
    ("refunds", "status"): cat.REFUND_STATUSES,
    ("payment_plans", "kind"): cat.PLAN_KINDS,
    ("disputes", "kind"): cat.DISPUTE_KINDS,
    ("disputes", "reason"): cat.DISPUTE_REASONS,
    ("refunds", "reason"): cat.REFUND_REASONS,
    ("payment_method_updates", "reason"): cat.UPDATE_REASONS,
}


def salt(seed: int, what: str) -> int:
    """A per-seed, per-kind scramble of ids (stable across runs: no Python hash())."""
    value = seed * 1_000_003 + 7_919
    for ch in what.encode():
        value = (value * 131 + ch) % (2**61 - 1)
    return value


def vocabulary(entity: str, column: str) -> tuple[str, ...] | None:
    return _ENTITY_VOCABULARY.get((entity, column)) or _VOCABULARY.get(column)


def to_arrow(entity: Entity, cols: dict, offsets: dict[str, int], seed: int) -> pa.Table:
    arrays = []
    rows = len(cols[entity.key])
    for c in entity.columns:
        if c.name not in cols and not c.required:  # optional facts the simulation does not model
            arrays.append(pa.nulls(rows, col.ARROW_TYPES[c.type]))
            continue
        values = cols[c.name]
        arrays.append(_column(entity.name, c.name, c.type, values, offsets, seed))
    return pa.Table.from_arrays(arrays, schema=col.arrow_schema(entity))


def _column(entity, name, sql_type, values, offsets, seed) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    if name in _KEY_ENTITY:
        target = _KEY_ENTITY[name]
        index = np.where(values >= 0, values + offsets.get(target, 0), -1)
        return col.id_strings(ID_PREFIX[target], index, salt(seed, target))
    if name == "card_fingerprint":
        index = np.where(values >= 0, values + offsets.get("cards", 0), -1)
        return col.id_strings("", index, salt(seed, "cards"), extra=6)
    if name == "device_id":
        index = np.where(values >= 0, values + offsets.get("customers", 0), -1)
        return col.id_strings("dev_", index, salt(seed, "devices"), extra=2)
    if name == "card_bin":
        return col.digits_strings(values, 6)
    if name == "ip_address":
        return col.ip_strings(values)
    if sql_type == "VARCHAR":
        return col.labels(vocabulary(entity, name), values)
    if sql_type == "TIMESTAMP":
        return col.timestamps(values)
    if sql_type.startswith("DECIMAL"):
        return col.decimals(values)
    if sql_type == "BOOLEAN":
        return col.booleans(values)
    return col.integers(values, col.ARROW_TYPES[sql_type])


def entity_id(entity: str, index: int, seed: int) -> str:
    """The id string of one record (for the ground truth)."""
    prefix = ID_PREFIX[entity]
    return col.id_strings(prefix, np.array([index]), salt(seed, entity))[0].as_py()


def device_id(customer_index: int, seed: int) -> str:
    return col.id_strings("dev_", np.array([customer_index]), salt(seed, "devices"), extra=2)[
        0
    ].as_py()


__all__ = ["ENTITY_BY_NAME", "entity_id", "to_arrow"]
