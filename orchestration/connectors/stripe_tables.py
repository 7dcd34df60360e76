"""Warehouse-synced Stripe tables (Fivetran, Airbyte) → Stripe objects → the Stripe mapping.

ELT tools flatten Stripe objects into one table per type: references become `<name>_id`
columns (`customer_id`), nested objects become prefixed columns (`outcome_reason`,
`status_transitions_paid_at`) or JSON text (Airbyte), timestamps become TIMESTAMP columns.
Each row is folded back into the API object shape, so one mapping (`stripe_objects`) serves
API dumps and warehouse tables alike.

Tables are read from a folder of CSV / Parquet / JSON Lines files (`charge.csv`,
`charge/part-0.parquet`), or from a DuckDB database file or a Postgres URI (through DuckDB's
postgres extension), in a given schema.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import defaultdict
from pathlib import Path

import duckdb

from orchestration.connectors.common import ConnectorInputError, MappingReport, to_utc
from orchestration.connectors.stripe_objects import Observation

# Stripe object type → table names the ELT tools use (Fivetran singular, Airbyte and Stitch
# plural); `table_kind` also accepts any case, CamelCase and a `stripe_` style prefix.
TABLES = {
    "customer": ("customer", "customers"),
    "subscription": ("subscription", "subscriptions", "subscription_history"),
    "subscription_item": ("subscription_item", "subscription_items"),
    "price": ("price", "prices"),
    "plan": ("plan", "plans"),
    "product": ("product", "products"),
    "invoice": ("invoice", "invoices"),
    "invoice_payment": ("invoice_payment", "invoice_payments"),
    "charge": ("charge", "charges"),
    "payment_intent": ("payment_intent", "payment_intents"),
    "refund": ("refund", "refunds"),
    "dispute": ("dispute", "disputes"),
    "payment_method": ("payment_method", "payment_methods"),
    "payment_method_card": ("payment_method_card", "payment_method_cards"),
    "card": ("card", "cards"),
    "radar.early_fraud_warning": (
        "early_fraud_warning", "early_fraud_warnings", "radar_early_fraud_warning",
        "radar_early_fraud_warnings",
    ),
}  # fmt: skip
_TABLE_TO_TYPE = {name: kind for kind, names in TABLES.items() for name in names}
# Prefixes that name the source rather than the object (a schema flattened into the table name).
_NAME_PREFIXES = ("stripe__", "stripe_", "raw_stripe_", "src_stripe_", "stitch_stripe_")


def table_kind(name: str) -> str | None:
    """The Stripe object type of a table name, or None: `charge`, `Charges`, `stripe_charges`,
    `STRIPE__CHARGE` and `PaymentIntents` are all recognised."""
    text = name.strip()
    if any(c.isupper() for c in text) and any(c.islower() for c in text):
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)  # CamelCase → snake_case
    text = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    for candidate in (text, *(text[len(p) :] for p in _NAME_PREFIXES if text.startswith(p))):
        if candidate in _TABLE_TO_TYPE:
            return _TABLE_TO_TYPE[candidate]
    return None


class NoStripeTables(ConnectorInputError):
    """The source holds no table this connector recognises: nothing could be imported."""


FILE_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")

# Flattened reference columns → the object field they came from.
_REFERENCES = {
    "customer_id": "customer", "invoice_id": "invoice", "subscription_id": "subscription",
    "payment_intent_id": "payment_intent", "charge_id": "charge",
    "payment_method_id": "payment_method", "latest_charge_id": "latest_charge",
    "plan_id": "plan", "price_id": "price", "product_id": "product",
    "latest_invoice_id": "latest_invoice", "source_id": "source",
}  # fmt: skip
# Column prefixes of flattened nested objects → the nested object's field.
_NESTED = (
    "status_transitions", "cancellation_details", "last_payment_error", "evidence_details",
    "outcome", "recurring", "three_d_secure", "billing_detail", "address", "pause_collection",
    "checks",
)  # fmt: skip
# Rows the ELT tool marks deleted in Stripe: the object no longer exists there. Customers stay:
# their charges still point at them, and the row still has the customer's details.
_DELETED_FLAGS = ("_fivetran_deleted", "is_deleted", "deleted")


def _fold(row: dict) -> dict:
    """A flattened row → the nested object shape the API returns."""
    obj: dict = {}
    for column, value in row.items():
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)  # Airbyte keeps nested objects as JSON text
        name = column.lower()
        group = next((g for g in _NESTED if name.startswith(g + "_")), None)
        if group:
            field = name[len(group) + 1 :]
            target = obj.setdefault(group, {})
            if isinstance(target, dict):
                target[_REFERENCES.get(field, field)] = value
            continue
        obj[_REFERENCES.get(name, name)] = value
    return obj


class TableSource:
    """Reads the tables of one ELT-synced Stripe schema."""

    def __init__(self, location: str | Path, schema: str | None = None):
        self.location = str(location)
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        self.tables: dict[str, str] = {}  # table name → DuckDB relation expression
        self.schema: str | None = None  # the database schema read (None for a folder)
        self.schemas: list[str] = []  # every schema of the database
        path = Path(self.location)
        if path.is_dir():
            self._from_folder(path)
        else:
            self._from_database(schema)

    def _from_folder(self, folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith((".", "_")):
                continue
            if entry.is_file() and entry.suffix.lower() in FILE_SUFFIXES:
                self.tables.setdefault(entry.stem.lower(), self._reader([entry]))
            elif entry.is_dir():  # a table split into part files
                parts = sorted(p for p in entry.iterdir() if p.suffix.lower() in FILE_SUFFIXES)
                if parts:
                    self.tables.setdefault(entry.name.lower(), self._reader(parts))

    @staticmethod
    def _reader(files: list[Path]) -> str:
        names = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
        suffix = files[0].suffix.lower()
        if suffix == ".parquet":
            return f"read_parquet({names}, union_by_name = true)"
        if suffix == ".csv":
            return f"read_csv({names}, header = true, union_by_name = true, sample_size = -1)"
        return f"read_json({names}, format = 'newline_delimited', union_by_name = true)"

    def _from_database(self, schema: str | None) -> None:
        if self.location.startswith(("postgres://", "postgresql://")) or "dbname=" in self.location:
            try:
                self.con.execute("load postgres")
            except duckdb.Error as exc:
                raise RuntimeError(
                    "reading Postgres needs DuckDB's postgres extension (`INSTALL postgres` once, "
                    f"with network access): {exc}"
                ) from exc
            self.con.execute("attach ? as src (type postgres, read_only)", [self.location])
        else:
            if not Path(self.location).exists():
                raise FileNotFoundError(f"no such folder or database: {self.location}")
            self.con.execute("attach ? as src (read_only)", [self.location])
        self.schemas = schemas = [
            s for (s,) in self.con.execute(
                "select distinct table_schema from information_schema.tables where table_catalog = 'src'"
            ).fetchall()
        ]  # fmt: skip
        if schema is None:
            # Fivetran and Airbyte name the schema after the connector; else the default one.
            schema = next(
                (s for s in ("stripe", "main", "public") if s in schemas),
                schemas[0] if schemas else "main",
            )
        self.schema = schema
        for (name,) in self.con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'src' and table_schema = ? order by table_name",
            [schema],
        ).fetchall():
            self.tables.setdefault(name.lower(), f'src."{schema}"."{name}"')

    def rows(self, table: str) -> list[dict]:
        relation = self.tables[table]
        result = self.con.execute(f"select * from {relation}")
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, values, strict=True)) for values in result.fetchall()]

    def close(self) -> None:
        self.con.close()


def _is_deleted(row: dict) -> bool:
    return any(row.get(flag) in (True, "true", "TRUE", 1) for flag in _DELETED_FLAGS)


def _order(row: dict):
    """Deterministic row order whatever the database returns: by id, then sync history."""
    return (
        str(row.get("id") or ""),
        str(row.get("_fivetran_start") or row.get("_fivetran_synced") or row.get("updated") or ""),
    )


def observations_from_tables(source: TableSource, report: MappingReport) -> list[Observation]:
    """Every row of the known tables as a Stripe object sighting (`source` = table name)."""
    folded: dict[str, list[tuple[str, dict, dict]]] = defaultdict(list)  # type → (table, row, obj)
    kinds = {table: table_kind(table) for table in source.tables}
    if not any(kinds.values()):
        raise NoStripeTables(_no_tables_message(source))
    for table in sorted(source.tables):
        kind = kinds[table]
        if kind is None:
            report.excluded[f"table {table}: not a Stripe table this connector reads"] += 1
            continue
        try:
            rows = sorted(source.rows(table), key=_order)
        except duckdb.Error as exc:  # one unreadable table does not stop the others
            report.unreadable.append(f"table {table}: {str(exc).strip().splitlines()[0][:300]}")
            continue
        for row in rows:
            report.objects_read[f"table {table}"] += 1
            if _is_deleted(row) and kind != "customer":
                report.excluded[f"table {table}: deleted in Stripe"] += 1
                continue
            obj = _fold(row)
            obj["object"] = kind
            folded[kind].append((table, row, obj))

    cards_by_pm: dict[str, dict] = {}
    cards_by_charge: dict[str, dict] = {}
    for _, _, card in folded.pop("payment_method_card", []):
        card.pop("object", None)
        if card.get("charge"):
            cards_by_charge[card["charge"]] = card
        if card.get("payment_method"):
            cards_by_pm.setdefault(card["payment_method"], card)
    items_by_subscription: dict[str, list[dict]] = defaultdict(list)
    for _, _, item in folded.pop("subscription_item", []):
        if item.get("subscription"):
            items_by_subscription[item["subscription"]].append(
                {"price": item.get("price") or item.get("plan"), "quantity": item.get("quantity")}
            )

    observations: list[Observation] = []
    for kind in sorted(folded):
        for table, row, obj in folded[kind]:
            if kind == "payment_method" and obj.get("id") in cards_by_pm and "card" not in obj:
                obj["card"] = cards_by_pm[obj["id"]]
            elif kind == "charge":
                _attach_charge_card(obj, cards_by_charge.get(obj.get("id")), cards_by_pm)
            elif kind == "subscription" and "items" not in obj:
                obj["items"] = {"data": items_by_subscription.get(obj.get("id"), [])}
            elif kind == "card":
                obj["object"] = "card"
            observed = to_utc(row.get("_fivetran_start"))
            observations.append(
                Observation(kind, str(obj.get("id")), obj, table, len(observations) + 1, observed)
            )
    return [o for o in observations if o.id and o.id != "None"]


def _no_tables_message(source: TableSource) -> str:
    where = source.location + (f" (schema {source.schema})" if source.schema else "")
    found = ", ".join(sorted(source.tables)) or "no tables at all"
    lines = [
        f"No Stripe table recognised in {where}: nothing was imported.",
        f"Tables found: {found}.",
        "Expected Stripe tables as Fivetran, Airbyte or Stitch name them (singular or plural, any "
        "case, optionally prefixed stripe_): " + ", ".join(n for n, *_ in TABLES.values()) + ".",
    ]
    if source.schema is not None and len(source.schemas) > 1:
        others = ", ".join(s for s in source.schemas if s != source.schema)
        lines.append(f"Other schemas in the database: {others} (choose one with --schema).")
    elif source.schema is None:
        lines.append(
            "A folder holds one file (charge.csv) or one sub-folder of part files (charge/) per "
            f"table; readable files: {', '.join(FILE_SUFFIXES)}."
        )
    return "\n".join(lines)


def _attach_charge_card(charge: dict, card: dict | None, cards_by_pm: dict[str, dict]) -> None:
    """Card facts of a charge: the per-charge card row (with its 3-D Secure result) when the
    tool syncs one; otherwise the payment method's card, or the legacy `card` table row."""
    if isinstance(charge.get("payment_method_details"), dict):
        return  # Airbyte: the nested object as the API returned it
    if card is not None:
        details = {k: v for k, v in card.items() if k not in ("charge", "payment_method")}
        tds = details.get("three_d_secure")
        if isinstance(tds, dict) and not any(
            tds.get(k) for k in ("result", "authentication_flow", "version")
        ):
            details["three_d_secure"] = None  # only card-level support flags: no 3DS on this charge
        charge["payment_method_details"] = {"type": "card", "card": details}
    elif charge.get("card_id"):
        charge["source"] = charge["card_id"]  # looked up in the `card` table by the mapping
