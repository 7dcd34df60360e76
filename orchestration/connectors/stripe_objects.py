"""Stripe API objects → Arrears contract rows. Pure: objects in, contract tables and a report out.

Reads any JSON shape Stripe produces: single objects, arrays, list responses (`{"object": "list",
"data": [...]}`), webhook events (`data.object`, timed by the event), and objects expanded inside
others (`"customer": {...}` as well as `"customer": "cus_..."`). Warehouse-synced tables reach
this module too, rebuilt into the same object shape by `stripe_tables`.

How the messy cases are handled (docs/connectors.md has the full field list):
- The same object seen several times (dumps, events): every distinct mapped state becomes one
  version; `updated_at` is the newest of the object's own event timestamps, plus a few
  milliseconds per step of status progress (pending → succeeded), so a later state sorts later
  even when Stripe gives it no timestamp; ties left over go by observation order (source order,
  then position), 1 µs apart. Identical states collapse into one version.
- References to objects not in the source are kept as they are. Missing customers get a
  placeholder customer (only the id is known) so the rows that reference them load; every other
  orphan is listed in the report and left for the ingestion's reference check.
- Values Stripe documents but the contract lacks map to the nearest contract value (listed in
  docs/connectors.md); values this module does not know are passed through unchanged and counted
  in the report, so the ingestion quarantines them visibly instead of guessing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa

from orchestration.config import LIVEMODES
from orchestration.connectors.common import (
    GUEST_PREFIX,
    UNKNOWN_CUSTOMER_PREFIX,
    MappingReport,
    Row,
    add_placeholder_customers,
    assign_versions,
    contract_table,
    report_orphans,
    to_decimal,
    to_utc,
    without_source,
)
from orchestration.contract import CURRENCIES, ENTITY_BY_NAME

PROCESSOR = "stripe"

OBJECT_TYPES = frozenset(
    {
        "customer", "subscription", "invoice", "charge", "payment_intent", "refund", "dispute",
        "payment_method", "card", "invoice_payment", "price", "plan", "product",
        "radar.early_fraud_warning",
    }
)  # fmt: skip
# Types whose livemode decides the "auto" mode (prices and products are often shared fixtures).
_CORE_TYPES = (
    "customer",
    "subscription",
    "invoice",
    "charge",
    "payment_intent",
    "refund",
    "dispute",
)

# Status progress per type: a later step sorts after an earlier one with the same timestamps.
_STATUS_RANK = {
    "charge": {"pending": 0},  # succeeded / failed: 1
    "payment_intent": {"processing": 0, "requires_action": 0, "requires_confirmation": 0},
    "refund": {"pending": 0, "requires_action": 0},
    "dispute": {
        "warning_needs_response": 0, "warning_under_review": 1, "needs_response": 2,
        "under_review": 3,
    },  # terminal statuses: 4
    "invoice": {"draft": 0, "open": 1, "uncollectible": 2},  # paid / void: 3
    "subscription": {"canceled": 1, "incomplete_expired": 1},  # everything else 0: order decides
}  # fmt: skip
_TERMINAL_RANK = {"charge": 1, "payment_intent": 1, "refund": 1, "dispute": 4, "invoice": 3}
_RANK_STEP = timedelta(milliseconds=1)

SUBSCRIPTION_STATUS = {
    "trialing": "trialing", "active": "active", "past_due": "past_due", "unpaid": "unpaid",
    "canceled": "canceled", "incomplete": "incomplete", "paused": "paused",
    # the one Stripe value the contract lacks → nearest contract value
    "incomplete_expired": "canceled",  # first payment never succeeded: ends for non-payment
}  # fmt: skip
CANCEL_REASON = {
    "cancellation_requested": "voluntary",
    "payment_failed": "non_payment",
    "payment_disputed": "fraud",
}
INVOICE_STATUS = {s: s for s in ("draft", "open", "paid", "void", "uncollectible")}
BILLING_REASON = {
    "subscription_create": "subscription_create",
    "subscription_cycle": "subscription_cycle",
    "subscription": "subscription_cycle",  # legacy name of the renewal invoice
    "subscription_update": "subscription_cycle",  # proration on a plan change
    "subscription_threshold": "subscription_cycle",
    "manual": "manual",
    "quote_accept": "manual",
    "automatic_pending_invoice_item_invoice": "manual",
    "upcoming": "manual",
}
DISPUTE_STATUS = {
    "needs_response": "needs_response", "under_review": "under_review", "won": "won",
    "lost": "lost", "warning_needs_response": "needs_response",
    "warning_under_review": "under_review", "warning_closed": "closed",
    "charge_refunded": "closed", "prevented": "closed",
}  # fmt: skip
_DISPUTE_TERMINAL = {"won", "lost", "warning_closed", "charge_refunded", "prevented"}
REFUND_STATUS = {
    "pending": "pending", "requires_action": "pending", "succeeded": "succeeded",
    "failed": "failed", "canceled": "failed",
}  # fmt: skip
REFUND_REASON = {
    "requested_by_customer": "requested_by_customer", "duplicate": "duplicate",
    "fraudulent": "fraudulent", "expired_uncaptured_charge": "other",
}  # fmt: skip
# payment_method_details.type → contract payment_method. Bank debits of every scheme share the
# contract's direct-debit value; bank redirects and credit transfers are bank transfers.
PAYMENT_METHOD_TYPE = {
    "card": "card", "card_present": "card", "interac_present": "card",
    "sepa_debit": "sepa_debit", "bacs_debit": "sepa_debit", "au_becs_debit": "sepa_debit",
    "acss_debit": "sepa_debit", "us_bank_account": "sepa_debit", "nz_bank_account": "sepa_debit",
    "ach_debit": "sepa_debit", "bank_account": "sepa_debit",
    "customer_balance": "bank_transfer", "ach_credit_transfer": "bank_transfer",
    "ideal": "bank_transfer", "sofort": "bank_transfer", "bancontact": "bank_transfer",
    "giropay": "bank_transfer", "eps": "bank_transfer", "p24": "bank_transfer",
    "fpx": "bank_transfer", "blik": "bank_transfer", "pay_by_bank": "bank_transfer",
    "multibanco": "bank_transfer", "boleto": "bank_transfer", "oxxo": "bank_transfer",
    "konbini": "bank_transfer", "pix": "bank_transfer", "promptpay": "bank_transfer",
    "paypal": "wallet", "link": "wallet", "cashapp": "wallet", "amazon_pay": "wallet",
    "alipay": "wallet", "wechat_pay": "wallet", "klarna": "wallet", "afterpay_clearpay": "wallet",
    "affirm": "wallet", "revolut_pay": "wallet", "mobilepay": "wallet", "swish": "wallet",
    "grabpay": "wallet", "twint": "wallet", "kakao_pay": "wallet", "naver_pay": "wallet",
    "samsung_pay": "wallet", "zip": "wallet", "satispay": "wallet", "paynow": "wallet",
}  # fmt: skip
_CARD_BRANDS = {
    "americanexpress": "amex", "amex": "amex", "visa": "visa", "mastercard": "mastercard",
    "master": "mastercard", "discover": "discover", "jcb": "jcb", "dinersclub": "diners",
    "diners": "diners", "unionpay": "unionpay", "eftposaustralia": "eftpos_au",
    "eftpos_au": "eftpos_au", "cartesbancaires": "cartes_bancaires", "link": "link",
}  # fmt: skip
_NO_3DS_RESULTS = {"exempted", "not_supported"}  # 3-D Secure not performed
# Errors on a payment intent that are not a payment attempt (the API call itself failed).
_NON_PAYMENT_ERRORS = {
    "api_error",
    "idempotency_error",
    "invalid_request_error",
    "api_connection_error",
}


def _closed_set(entity: str, column: str) -> dict[str, str]:
    """A contract column's allowed values as an identity map (Stripe uses the same names)."""
    return {v: v for v in ENTITY_BY_NAME[entity].column(column).allowed}


OUTCOME_TYPE = _closed_set("payment_attempts", "outcome_type")
RISK_LEVEL = _closed_set("payment_attempts", "risk_level")
CARD_FUNDING = _closed_set("payment_attempts", "card_funding")
CARD_CHECK = _closed_set("payment_attempts", "cvc_check")
PAUSE_BEHAVIOR = _closed_set("subscriptions", "collection_paused_behavior")
CANCELLATION_FEEDBACK = _closed_set("subscriptions", "cancellation_feedback")


def _bool(value) -> bool | None:
    """A boolean field, also as ELT text ("true", "f", "1")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}.get(
            value.strip().lower()
        )
    if isinstance(value, int):
        return bool(value)
    return None


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


@dataclass
class Observation:
    """One sighting of a Stripe object: where it was seen and, for events, when."""

    kind: str
    id: str
    obj: dict
    source: str  # the source file (output group) the sighting came from
    seq: int  # observation order across the whole source
    observed_at: datetime | None = None  # the webhook event's time


def _dict(value) -> dict:
    """A nested object, or {} when the field is absent or not an object (malformed dumps)."""
    return value if isinstance(value, dict) else {}


def ref(value) -> str | None:
    """The id in a reference, expanded (`{"id": ...}`) or not (`"cus_..."`)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def observations_from_json(value, source: str, start_seq: int = 0) -> Iterator[Observation]:
    """Every Stripe object inside a parsed JSON value, parents before the objects they expand."""
    seq = start_seq

    def walk(node, observed_at):
        nonlocal seq
        if isinstance(node, list):
            for item in node:
                yield from walk(item, observed_at)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("object")
        if kind == "event":
            data = node.get("data")
            if isinstance(data, dict) and isinstance(data.get("object"), dict):
                # previous_attributes is a partial object: never read as a state
                yield from walk(data["object"], to_utc(node.get("created")) or observed_at)
            return
        if kind in OBJECT_TYPES and ref(node.get("id")):
            seq += 1
            yield Observation(kind, node["id"], node, source, seq, observed_at)
        for child in node.values():
            if isinstance(child, (dict, list)):
                yield from walk(child, observed_at)

    yield from walk(value, None)


def parse_json_text(
    text: str, source: str, report: MappingReport, start_seq: int = 0
) -> list[Observation]:
    """A JSON document or JSON Lines text → observations; unreadable lines are reported, not fatal."""
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        return []
    try:
        return list(observations_from_json(json.loads(stripped), source, start_seq))
    except json.JSONDecodeError:
        pass
    found: list[Observation] = []
    for line_no, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            report.unreadable.append(f"{source}: line {line_no}: invalid JSON ({exc.msg})")
            continue
        found.extend(observations_from_json(value, source, start_seq + len(found)))
    return found


def _livemode_of(obj: dict) -> bool | None:
    value = obj.get("livemode")
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower())
    return value if isinstance(value, bool) else None


def resolve_livemode(observations: list[Observation], livemode: str) -> bool | None:
    """Which mode to keep: True (live), False (test) or None (both).

    `auto` keeps live objects when the source has any, else test objects: a production export
    never mixes in test data, and a trial on test data still produces a warehouse.
    """
    if livemode not in LIVEMODES:
        raise ValueError(f"livemode must be one of {', '.join(LIVEMODES)}, not {livemode!r}")
    if livemode == "all":
        return None
    if livemode != "auto":
        return livemode == "live"
    return any(o.kind in _CORE_TYPES and _livemode_of(o.obj) is True for o in observations)


def _status_rank(kind: str, status) -> int:
    ranks = _STATUS_RANK.get(kind, {})
    if status in ranks:
        return ranks[status]
    return _TERMINAL_RANK.get(kind, 0) if status is not None else 0


def _event_times(kind: str, obj: dict) -> list[datetime | None]:
    """The object's own timestamps of things that already happened (never future dates such as
    due dates or period ends, which would make an old state look newer than a later one)."""
    times = [to_utc(obj.get("created"))]
    if kind == "subscription":
        times += [
            to_utc(obj.get(k)) for k in ("start_date", "canceled_at", "ended_at", "trial_start")
        ]
        if obj.get("status") != "trialing":
            times.append(to_utc(obj.get("trial_end")))
    elif kind == "invoice":
        transitions = _dict(obj.get("status_transitions"))
        times += [to_utc(v) for v in transitions.values()] + [to_utc(obj.get("effective_at"))]
    elif kind == "payment_intent":
        times.append(to_utc(obj.get("canceled_at")))
    elif kind == "dispute":
        times += [
            to_utc(t.get("created"))
            for t in obj.get("balance_transactions") or []
            if isinstance(t, dict)
        ]
    return times


def base_time(o: Observation) -> datetime | None:
    """Version time of a sighting: newest own timestamp (or event time), plus status progress."""
    times = [t for t in (*_event_times(o.kind, o.obj), o.observed_at) if t is not None]
    if not times:
        return None
    return max(times) + _status_rank(o.kind, o.obj.get("status")) * _RANK_STEP


class StripeMapper:
    """Maps one source's observations onto the contract; `run()` returns rows per entity."""

    def __init__(
        self, observations: Iterable[Observation], livemode: str = "auto", connector: str = "stripe"
    ):
        self.report = MappingReport(connector)
        all_obs = list(observations)
        # Refunds and disputes carry no livemode in some dumps: they follow their charge.
        self._other_mode_charges: set[str] = set()
        keep_mode = resolve_livemode(all_obs, livemode)
        self.observations: list[Observation] = []
        for o in all_obs:
            self.report.objects_read[o.kind] += 1
            mode = _livemode_of(o.obj)
            if keep_mode is not None and mode is not None and mode != keep_mode:
                self.report.excluded[f"{o.kind}: {'live' if mode else 'test'} mode"] += 1
                if o.kind == "charge":
                    self._other_mode_charges.add(o.id)
                continue
            if o.obj.get("deleted") is True:
                self.report.excluded[f"{o.kind}: deleted marker (no state)"] += 1
                continue
            self.observations.append(o)
        self.mode_kept = {None: "all", True: "live", False: "test"}[keep_mode]
        self._latest: dict[tuple[str, str], Observation] = {}
        for o in self.observations:
            key = (o.kind, o.id)
            current = self._latest.get(key)
            if current is None or self._sort_key(o) >= self._sort_key(current):
                self._latest[key] = o
        self._build_indexes()
        self.rows: list[Row] = []

    # ---------------------------------------------------------------- lookups

    @staticmethod
    def _sort_key(o: Observation):
        return (base_time(o) or datetime.min, o.seq)

    def get(self, kind: str, object_id: str | None) -> dict | None:
        if object_id is None:
            return None
        found = self._latest.get((kind, object_id))
        return found.obj if found else None

    def latest_of(self, kind: str) -> list[Observation]:
        return [o for (k, _), o in self._latest.items() if k == kind]

    def of_kind(self, kind: str) -> list[Observation]:
        return [o for o in self.observations if o.kind == kind]

    def _build_indexes(self) -> None:
        self.invoice_by_payment: dict[str, str] = {}  # charge or payment-intent id → invoice id
        self.charges_by_pi: dict[str, set[str]] = defaultdict(set)
        for o in self.latest_of("invoice_payment"):
            payment = _dict(o.obj.get("payment"))
            invoice = ref(o.obj.get("invoice"))
            for field in ("charge", "payment_intent"):
                if invoice and ref(payment.get(field)):
                    self.invoice_by_payment[ref(payment.get(field))] = invoice
        for o in self.latest_of("invoice"):  # pre-2025 API: the invoice names its payment
            for field in ("charge", "payment_intent"):
                if ref(o.obj.get(field)):
                    self.invoice_by_payment.setdefault(ref(o.obj.get(field)), o.id)
        for o in self.latest_of("payment_intent"):
            if ref(o.obj.get("invoice")):
                self.invoice_by_payment.setdefault(o.id, ref(o.obj.get("invoice")))
        for o in self.of_kind("charge"):  # every sighting: states may disagree on the intent
            pi = ref(o.obj.get("payment_intent"))
            if pi:
                self.charges_by_pi[pi].add(o.id)
        self.invoices_by_subscription: dict[str, list[dict]] = defaultdict(list)
        for o in self.latest_of("invoice"):
            sub = self._invoice_subscription(o.obj)
            if sub:
                self.invoices_by_subscription[sub].append(o.obj)

    def _invoice_subscription(self, inv: dict) -> str | None:
        sub = ref(inv.get("subscription"))
        parent = _dict(inv.get("parent"))
        if not sub and parent.get("type") == "subscription_details":  # 2025 API
            sub = ref(_dict(parent.get("subscription_details")).get("subscription"))
        if not sub:
            for line in _dict(inv.get("lines")).get("data") or []:
                if isinstance(line, dict) and ref(line.get("subscription")):
                    return ref(line.get("subscription"))
        return sub

    def _charge_invoice(self, ch: dict) -> str | None:
        pi = ref(ch.get("payment_intent"))
        return (
            ref(ch.get("invoice"))
            or self.invoice_by_payment.get(ch["id"])
            or (self.invoice_by_payment.get(pi) if pi else None)
        )

    def _charge_customer(self, ch: dict, invoice_id: str | None) -> str | None:
        pi = self.get("payment_intent", ref(ch.get("payment_intent")))
        inv = self.get("invoice", invoice_id)
        return (
            ref(ch.get("customer"))
            or (ref(pi.get("customer")) if pi else None)
            or (ref(inv.get("customer")) if inv else None)
        )

    def _guest_id(self, ch: dict, card: dict | None) -> str:
        """Charges without a Stripe customer: one guest per card (the best identity a charge
        carries), else per charge."""
        self.report.notes["guest customer ids given to charges without a customer"] += 1
        fingerprint = (card or {}).get("fingerprint")
        return GUEST_PREFIX + (fingerprint or ch["id"])

    # ---------------------------------------------------------------- values

    @contextmanager
    def _guard(self, o: Observation):
        """A malformed object is reported and skipped; it never stops the load."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 — any shape error in one object
            self.report.unreadable.append(
                f"{o.source}: {o.kind} {o.id}: not mapped ({type(exc).__name__}: {exc})"
            )

    def _unknown(self, column: str, value) -> str:
        self.report.unknown_values[column][str(value)] += 1
        return str(value)

    def _map_closed(self, column: str, table: dict, value, *, required: bool):
        """A closed-set value: known → mapped; unknown → passed through (required columns) so
        the ingestion quarantines it visibly, or null (optional columns), both reported."""
        if value is None or value == "":
            return None
        key = str(value).strip().lower()
        if key in table:
            if table[key] != key:
                self.report.notes[f"{column}: {key} → {table[key]}"] += 1
            return table[key]
        self._unknown(column, value)
        return str(value) if required else None

    def _emit(
        self, entity: str, key: str, o: Observation, values: dict, base_at: datetime | None
    ) -> None:
        if base_at is None:
            self.report.excluded[f"{o.kind}: no timestamp at all"] += 1
            return
        self.rows.append(Row(entity, key, base_at, o.seq, o.source, values))

    # ---------------------------------------------------------------- cards

    def _card_of(self, ch: dict) -> tuple[dict | None, bool]:
        """(card details, whether they come from the charge itself). Charge details first; then
        the legacy `source`/`card` object; then the payment method the charge used."""
        details = ch.get("payment_method_details") or {}
        if isinstance(details.get("card"), dict):
            return details["card"], True
        if isinstance(details.get("card_present"), dict):
            return details["card_present"], True
        for legacy in (ch.get("source"), ch.get("card")):
            if isinstance(legacy, dict) and legacy.get("object") == "card":
                return legacy, False
        pm_id = ref(ch.get("payment_method"))
        pm = self.get("payment_method", pm_id)
        if pm and isinstance(pm.get("card"), dict):
            return pm["card"], False
        card = self.get("card", pm_id) or self.get("card", ref(ch.get("source")))
        return card, False

    def _method_type(self, ch: dict, card: dict | None) -> str:
        details = ch.get("payment_method_details") or {}
        kind = details.get("type")
        if not kind:
            pm = self.get("payment_method", ref(ch.get("payment_method")))
            kind = pm.get("type") if pm else None
        if not kind and card is not None:
            kind = "card"
        if not kind:
            source = ch.get("source")
            kind = source.get("object") if isinstance(source, dict) else None
        if not kind:
            self.report.notes["payment_method unknown in the source → card"] += 1
            return "card"
        return self._map_closed(
            "payment_attempts.payment_method", PAYMENT_METHOD_TYPE, kind, required=True
        )

    @staticmethod
    def _brand(card: dict | None) -> str | None:
        raw = (card or {}).get("brand") or (card or {}).get("network")
        if not raw:
            return None
        key = str(raw).strip().lower().replace(" ", "").replace("-", "")
        if key == "unknown":
            return None
        return _CARD_BRANDS.get(key, str(raw).strip().lower().replace(" ", "_"))

    @staticmethod
    def _used_3ds(card: dict | None, from_charge: bool) -> bool | None:
        if card is None or not from_charge:
            return None  # not known from a stored card: 3DS is a property of the attempt
        tds = card.get("three_d_secure")
        if not isinstance(tds, dict):
            return False
        if tds.get("result"):
            return tds["result"] not in _NO_3DS_RESULTS
        # Pre-2019 API: {authenticated, succeeded}; an object with nothing filled says nothing.
        return True if any(v is not None for v in tds.values()) else None

    # ---------------------------------------------------------------- entities

    def map_customers(self) -> None:
        for o in self.of_kind("customer"):
            with self._guard(o):
                c = o.obj
                address = c.get("address") or (c.get("shipping") or {}).get("address") or {}
                values = {
                    "customer_id": o.id,
                    "email": c.get("email") or None,
                    "name": c.get("name") or c.get("description") or None,
                    "country": (address.get("country") or None)
                    if isinstance(address, dict)
                    else None,
                    "verification_status": None,  # Stripe has no sign-up verification on customers
                    "created_at": to_utc(c.get("created")),
                    "delinquent": _bool(c.get("delinquent")),
                    **self._balance(c),
                }
                self._emit("customers", o.id, o, values, base_time(o))

    def _balance(self, c: dict) -> dict:
        """Balance in the customer's currency; none without a contract currency to read it in."""
        currency = (c.get("currency") or "").upper() or None
        if currency is not None and currency not in CURRENCIES:
            self._unknown("customers.balance_currency", currency)
            currency = None
        balance = to_decimal(c.get("balance"), currency) if currency else None
        return {"balance": balance, "balance_currency": currency if balance is not None else None}

    def _subscription_items(self, sub: dict) -> list[tuple[dict, int]]:
        """(price-or-plan, quantity) for each item; unexpanded ids are looked up."""
        items = []
        for item in (sub.get("items") or {}).get("data") or []:
            if not isinstance(item, dict):
                continue
            price = item.get("price") or item.get("plan")
            if isinstance(price, str):
                price = self.get("price", price) or self.get("plan", price)
            if isinstance(price, dict):
                items.append((price, int(item.get("quantity") or 1)))
        if not items and isinstance(sub.get("plan"), dict):  # pre-2018 single-plan subscription
            items.append((sub["plan"], int(sub.get("quantity") or 1)))
        return items

    def _plan_name(self, price: dict) -> str | None:
        product = price.get("product")
        if isinstance(product, str):
            product = self.get("product", product)
        return (
            price.get("nickname")
            or (product.get("name") if isinstance(product, dict) else None)
            or price.get("lookup_key")
            or price.get("id")
        )

    @staticmethod
    def _interval(price: dict) -> tuple[str | None, int]:
        recurring = price.get("recurring") or {}
        interval = recurring.get("interval") or price.get("interval")
        count = recurring.get("interval_count") or price.get("interval_count") or 1
        return interval, int(count)

    def _subscription_amount(self, sub: dict, items, currency):
        total, known = 0, False
        for price, quantity in items:
            recurring = price.get("recurring") or {}
            if (recurring.get("usage_type") or price.get("usage_type")) == "metered":
                self.report.notes["subscriptions: metered item left out of the amount"] += 1
                continue
            unit = price.get("unit_amount")
            if unit is None:
                unit = price.get("amount")
            if unit is None and price.get("unit_amount_decimal"):
                unit = price["unit_amount_decimal"]
            amount = to_decimal(unit, currency)
            if amount is None:
                continue
            total, known = total + amount * quantity, True
        if known:
            return total
        invoices = sorted(
            (
                i
                for i in self.invoices_by_subscription.get(sub["id"], [])
                if i.get("amount_due") is not None
            ),
            key=lambda i: to_utc(i.get("created")) or datetime.min,
        )
        if invoices:
            self.report.notes["subscriptions: amount taken from the latest invoice"] += 1
            return to_decimal(
                invoices[-1].get("amount_due"), invoices[-1].get("currency") or currency
            )
        self.report.notes["subscriptions: amount unknown (tiered price, no invoice)"] += 1
        return None

    def _cancel_reason(self, sub: dict, status: str | None) -> str | None:
        if status != "canceled":
            return None
        raw = (sub.get("cancellation_details") or {}).get("reason")
        if raw:
            key = str(raw).lower()
            if key not in CANCEL_REASON:
                self._unknown("subscriptions.cancel_reason", raw)
            return CANCEL_REASON.get(key, "other")
        if sub.get("status") == "incomplete_expired":
            return "non_payment"
        # Older API versions say nothing: an unpaid, already-attempted invoice at the end means
        # the billing system cancelled it after the retries failed.
        for inv in self.invoices_by_subscription.get(sub["id"], []):
            if (
                inv.get("status") in ("open", "uncollectible")
                and (inv.get("attempt_count") or 0) > 0
            ):
                self.report.notes["subscriptions: cancel_reason inferred non_payment"] += 1
                return "non_payment"
        return None

    def map_subscriptions(self) -> None:
        for o in self.of_kind("subscription"):
            with self._guard(o):
                s = o.obj
                items = self._subscription_items(s)
                licensed = [
                    p for p, _ in items
                    if ((p.get("recurring") or {}).get("usage_type") or p.get("usage_type")) != "metered"
                ] or [p for p, _ in items]  # fmt: skip
                first = licensed[0] if licensed else {}
                currency = (s.get("currency") or first.get("currency") or "").upper() or None
                interval, count = self._interval(first)
                if interval == "month" and count == 12:
                    interval, count = "year", 1
                if interval in ("day", "week", "month", "year") and count == 1:
                    billing_interval = interval
                elif interval is None:
                    billing_interval = None
                else:
                    billing_interval = self._unknown(
                        "subscriptions.billing_interval",
                        f"{count} {interval}" if count > 1 else interval,
                    )
                status = self._map_closed(
                    "subscriptions.status", SUBSCRIPTION_STATUS, s.get("status"), required=True
                )
                pause = _dict(s.get("pause_collection"))
                cancellation = _dict(s.get("cancellation_details"))
                canceled_at = None
                if status == "canceled":
                    canceled_at = to_utc(s.get("ended_at")) or to_utc(s.get("canceled_at"))
                values = {
                    "subscription_id": o.id,
                    "customer_id": ref(s.get("customer")),
                    "plan": self._plan_name(first) if first else None,
                    "billing_interval": billing_interval,
                    "amount": self._subscription_amount(s, items, currency),
                    "currency": currency,
                    "status": status,
                    "started_at": to_utc(s.get("start_date")) or to_utc(s.get("created")),
                    "canceled_at": canceled_at,
                    "cancel_reason": self._cancel_reason(s, status),
                    "cancel_at_period_end": _bool(s.get("cancel_at_period_end")),
                    "collection_paused_behavior": self._map_closed(
                        "subscriptions.collection_paused_behavior", PAUSE_BEHAVIOR,
                        pause.get("behavior"), required=False,
                    ),
                    "collection_resumes_at": to_utc(pause.get("resumes_at")),
                    "cancellation_feedback": self._map_closed(
                        "subscriptions.cancellation_feedback", CANCELLATION_FEEDBACK,
                        cancellation.get("feedback"), required=False,
                    ),
                    "cancellation_comment": cancellation.get("comment") or None,
                }  # fmt: skip
                self._emit("subscriptions", o.id, o, values, base_time(o))

    def map_invoices(self) -> None:
        for o in self.of_kind("invoice"):
            with self._guard(o):
                inv = o.obj
                currency = (inv.get("currency") or "").upper() or None
                transitions = inv.get("status_transitions") or {}
                issued_at = (
                    to_utc(transitions.get("finalized_at"))
                    or to_utc(inv.get("effective_at"))
                    or to_utc(inv.get("created"))
                )
                due_at = to_utc(inv.get("due_date"))
                if due_at is None:  # charge_automatically: collected when issued
                    due_at = issued_at
                status = self._map_closed(
                    "invoices.status", INVOICE_STATUS, inv.get("status"), required=True
                )
                subscription = self._invoice_subscription(inv)
                if subscription is None:
                    self.report.notes["invoices without a subscription (one-off invoices)"] += 1
                values = {
                    "invoice_id": o.id,
                    "subscription_id": subscription,
                    "customer_id": ref(inv.get("customer")),
                    "currency": currency,
                    "amount_due": to_decimal(inv.get("amount_due"), currency),
                    "amount_paid": to_decimal(inv.get("amount_paid"), currency),
                    "issued_at": issued_at,
                    "due_at": due_at,
                    "paid_at": to_utc(transitions.get("paid_at")) if status == "paid" else None,
                    "status": status,
                    "written_off_at": to_utc(transitions.get("marked_uncollectible_at")),
                    "billing_reason": self._map_closed(
                        "invoices.billing_reason",
                        BILLING_REASON,
                        inv.get("billing_reason"),
                        required=False,
                    ),
                    "amount_remaining": to_decimal(inv.get("amount_remaining"), currency),
                    "attempt_count": _int(inv.get("attempt_count")),
                    "next_payment_attempt_at": to_utc(inv.get("next_payment_attempt")),
                }
                self._emit("invoices", o.id, o, values, base_time(o))

    # ---------------------------------------------------------------- payment attempts

    def _decline_code(self, ch: dict) -> str | None:
        outcome = ch.get("outcome") or {}
        pi = self.get("payment_intent", ref(ch.get("payment_intent")))
        error = (pi or {}).get("last_payment_error") or {}
        error_decline = (
            error.get("decline_code")
            if isinstance(error, dict) and ref(error.get("charge")) in (None, ch["id"])
            else None
        )
        code = outcome.get("reason") or error_decline or ch.get("failure_code")
        if code == "card_declined" or (
            code is None and outcome.get("network_status") == "declined_by_network"
        ):
            self.report.notes["decline_code: card_declined without a reason → generic_decline"] += 1
            return "generic_decline"
        return code or None

    def _attempt_trigger(
        self, invoice: dict | None, number: int | None, card, previous_card
    ) -> str | None:
        """Stripe does not say who started a charge; inferred (docs/connectors.md): the first
        charge on an invoice is the scheduled one, a later one on the same card an automatic
        retry, one on another card follows the customer's new payment method."""
        if invoice is None or number is None:
            return None
        if invoice.get("collection_method") == "send_invoice":
            return "customer_initiated"
        if number == 1:
            return "scheduled"
        same_card = (card or {}).get("fingerprint") == (previous_card or {}).get("fingerprint")
        return "automatic_retry" if same_card else "customer_initiated"

    def map_payment_attempts(self) -> None:
        # Attempt numbers follow the order of every charge on the invoice (pending ones too).
        per_invoice: dict[str, list[tuple]] = defaultdict(list)
        for o in self.latest_of("charge"):
            invoice_id = self._charge_invoice(o.obj)
            if invoice_id:
                per_invoice[invoice_id].append((to_utc(o.obj.get("created")) or datetime.min, o.id))
        numbers: dict[str, tuple[int, str | None]] = {}  # charge id → (number, previous charge id)
        for charges in per_invoice.values():
            ordered = [cid for _, cid in sorted(charges)]
            for i, cid in enumerate(ordered):
                numbers[cid] = (i + 1, ordered[i - 1] if i else None)

        for o in self.of_kind("charge"):
            with self._guard(o):
                self._map_charge(o, numbers)
        self._map_payment_intents_without_charges()

    def _map_charge(self, o: Observation, numbers) -> None:
        ch = o.obj
        status = ch.get("status")
        if status is None:  # very old charges: `paid` only
            status = (
                "succeeded" if ch.get("paid") else ("failed" if ch.get("failure_code") else None)
            )
        status = {"paid": "succeeded"}.get(status, status)
        if status == "pending":
            self.report.excluded["charge: pending (loads once it succeeds or fails)"] += 1
            return
        if status not in ("succeeded", "failed"):
            status = self._unknown("payment_attempts.outcome", status)
        card, from_charge = self._card_of(ch)
        invoice_id = self._charge_invoice(ch)
        customer = self._charge_customer(ch, invoice_id) or self._guest_id(ch, card)
        currency = (ch.get("currency") or "").upper() or None
        number, previous = numbers.get(o.id, (None, None))
        previous_card = (
            self._card_of(self.get("charge", previous))[0]
            if previous and self.get("charge", previous)
            else None
        )
        values = {
            "attempt_id": o.id,
            "invoice_id": invoice_id,
            "customer_id": customer,
            "attempted_at": to_utc(ch.get("created")),
            "amount": to_decimal(ch.get("amount"), currency),
            "currency": currency,
            "payment_method": self._method_type(ch, card),
            "card_brand": self._brand(card),
            "card_country": (card or {}).get("country") or None,
            "card_bin": (card or {}).get("iin") or None,
            "card_fingerprint": (card or {}).get("fingerprint") or None,
            "card_exp_month": _int((card or {}).get("exp_month")),
            "card_exp_year": _int((card or {}).get("exp_year")),
            "processor": PROCESSOR,
            "outcome": status,
            "decline_code": self._decline_code(ch) if status == "failed" else None,
            "attempt_number": number,
            "trigger": self._attempt_trigger(
                self.get("invoice", invoice_id), number, card, previous_card
            ),
            "used_3ds": self._used_3ds(card, from_charge),
            "ip_address": None,
            "device_id": None,
            **self._processor_facts(ch, status, card),
        }
        self._emit("payment_attempts", o.id, o, values, base_time(o))

    def _processor_facts(self, ch: dict, status: str | None, card: dict | None) -> dict:
        """Who decided (issuer, fraud screening, invalid request), the risk assessment, the
        error as the processor states it, and the card's funding and checks."""
        outcome = _dict(ch.get("outcome"))
        pi = self.get("payment_intent", ref(ch.get("payment_intent"))) or {}
        error = _dict(pi.get("last_payment_error"))
        if ref(error.get("charge")) not in (None, ch["id"]):
            error = {}  # the intent's last error belongs to a later charge
        failed = status == "failed"
        return {
            "outcome_type": self._map_closed(
                "payment_attempts.outcome_type", OUTCOME_TYPE, outcome.get("type"), required=False
            ),
            "risk_level": self._map_closed(
                "payment_attempts.risk_level", RISK_LEVEL, outcome.get("risk_level"), required=False
            ),
            "failure_code": (ch.get("failure_code") or error.get("code") or None)
            if failed
            else None,
            "failure_type": (error.get("type") or None) if failed else None,
            "failure_message": (ch.get("failure_message") or error.get("message") or None)
            if failed
            else None,
            **self._card_facts(card),
        }

    def _card_facts(self, card: dict | None) -> dict:
        card = card or {}
        checks = _dict(card.get("checks"))
        facts = {
            "card_funding": self._map_closed(
                "payment_attempts.card_funding", CARD_FUNDING, card.get("funding"), required=False
            )
        }
        for check in ("cvc_check", "address_line1_check", "address_postal_code_check"):
            # legacy card objects carry the checks at the top level
            facts[check] = self._map_closed(
                f"payment_attempts.{check}", CARD_CHECK, checks.get(check) or card.get(check),
                required=False,
            )  # fmt: skip
        return facts

    def _map_payment_intents_without_charges(self) -> None:
        """A payment intent stands in for its charge when the source has no charge object for it
        (exports of payment intents only): one attempt, the last one the intent reports."""
        for o in self.of_kind("payment_intent"):
            with self._guard(o):
                pi = o.obj
                embedded = {c for c in self.charges_by_pi.get(o.id, ())}
                error = (
                    pi.get("last_payment_error")
                    if isinstance(pi.get("last_payment_error"), dict)
                    else {}
                )
                status = pi.get("status")
                if status == "succeeded":
                    charge_id, outcome = ref(pi.get("latest_charge")), "succeeded"
                elif error and error.get("type") not in _NON_PAYMENT_ERRORS:
                    charge_id, outcome = ref(error.get("charge")), "failed"
                else:
                    if not embedded:
                        self.report.excluded[
                            f"payment_intent: no attempt to report (status {status})"
                        ] += 1
                    continue
                if embedded and (charge_id is None or charge_id in embedded):
                    continue  # the charge object itself is mapped
                attempt_id = charge_id or o.id
                pm = error.get("payment_method") if outcome == "failed" else None
                if not isinstance(pm, dict):
                    pm = self.get("payment_method", ref(pi.get("payment_method")))
                card = (pm or {}).get("card") if isinstance(pm, dict) else None
                invoice_id = ref(pi.get("invoice")) or self.invoice_by_payment.get(o.id)
                customer = ref(pi.get("customer")) or ref(
                    (self.get("invoice", invoice_id) or {}).get("customer")
                )
                currency = (pi.get("currency") or "").upper() or None
                method = (pm or {}).get("type") or ((pi.get("payment_method_types") or [None])[0])
                code = (
                    (error.get("decline_code") or error.get("code"))
                    if outcome == "failed"
                    else None
                )
                values = {
                    "attempt_id": attempt_id,
                    "invoice_id": invoice_id,
                    "customer_id": customer or self._guest_id({"id": attempt_id}, card),
                    "attempted_at": to_utc(pi.get("created")),
                    "amount": to_decimal(pi.get("amount"), currency),
                    "currency": currency,
                    "payment_method": self._map_closed(
                        "payment_attempts.payment_method",
                        PAYMENT_METHOD_TYPE,
                        method or "card",
                        required=True,
                    ),
                    "card_brand": self._brand(card),
                    "card_country": (card or {}).get("country") or None,
                    "card_bin": None,
                    "card_fingerprint": (card or {}).get("fingerprint") or None,
                    "card_exp_month": _int((card or {}).get("exp_month")),
                    "card_exp_year": _int((card or {}).get("exp_year")),
                    "processor": PROCESSOR,
                    "outcome": outcome,
                    "decline_code": "generic_decline" if code == "card_declined" else code,
                    "attempt_number": None,  # an intent shows only its last attempt
                    "trigger": None,
                    "used_3ds": None,
                    "ip_address": None,
                    "device_id": None,
                    "outcome_type": None,  # an intent has no outcome object; its charge has
                    "risk_level": None,
                    "failure_code": (error.get("code") or None) if outcome == "failed" else None,
                    "failure_type": (error.get("type") or None) if outcome == "failed" else None,
                    "failure_message": (error.get("message") or None)
                    if outcome == "failed"
                    else None,
                    **self._card_facts(card),
                }
                self.report.notes[
                    "payment attempts taken from payment intents (no charge object)"
                ] += 1
                self._emit("payment_attempts", attempt_id, o, values, base_time(o))

    # ---------------------------------------------------------------- disputes, refunds

    def _charge_facts(
        self, charge_ref, payment_intent_ref=None
    ) -> tuple[str | None, str | None, dict | None]:
        """(charge id, customer id, charge) for a charge reference, expanded or not. A charge
        not in the source: the customer of its payment intent or invoice, else an id no
        customer has (UNKNOWN_CUSTOMER_PREFIX), so the row waits for the charge."""
        charge_id = ref(charge_ref)
        charge = self.get("charge", charge_id) or (
            charge_ref if isinstance(charge_ref, dict) else None
        )
        if charge is None:
            if charge_id is None:
                return None, None, None
            pi = self.get("payment_intent", ref(payment_intent_ref)) or {}
            invoice = self.get("invoice", self.invoice_by_payment.get(charge_id)) or {}
            customer = ref(pi.get("customer")) or ref(invoice.get("customer"))
            return charge_id, customer or UNKNOWN_CUSTOMER_PREFIX + charge_id, None
        customer = self._charge_customer(charge, self._charge_invoice(charge))
        if customer is None:
            customer = GUEST_PREFIX + (
                (self._card_of(charge)[0] or {}).get("fingerprint") or charge["id"]
            )
        return charge_id, customer, charge

    def _charge_ref(self, obj: dict):
        """The charge a dispute or refund is about: its own `charge`, else its payment intent's
        latest charge (exports that only name the payment intent)."""
        charge_ref = obj.get("charge")
        if charge_ref is None and ref(obj.get("payment_intent")):
            charge_ref = (self.get("payment_intent", ref(obj.get("payment_intent"))) or {}).get(
                "latest_charge"
            )
        return charge_ref

    def _note_unknown_customer(self, table: str, customer: str | None, charge_id) -> None:
        """A row whose charge could not be tied to a customer is kept under a placeholder
        customer; the report counts it as an orphan of `table`."""
        if (customer or "").startswith(UNKNOWN_CUSTOMER_PREFIX):
            self.report.orphans[f"{table}.attempt_id → payment_attempts (customer unknown)"].add(
                charge_id
            )

    def _follows_excluded_charge(self, o: Observation, charge_id: str | None) -> bool:
        if charge_id in self._other_mode_charges and _livemode_of(o.obj) is None:
            self.report.excluded[f"{o.kind}: its charge is in the other mode"] += 1
            return True
        return False

    def map_disputes(self) -> None:
        for o in self.of_kind("dispute"):
            with self._guard(o):
                d = o.obj
                charge_id, customer, _ = self._charge_facts(
                    self._charge_ref(d), d.get("payment_intent")
                )
                if self._follows_excluded_charge(o, charge_id):
                    continue
                self._note_unknown_customer("disputes", customer, charge_id)
                currency = (d.get("currency") or "").upper() or None
                raw_status = d.get("status")
                case_type = ((d.get("payment_method_details") or {}).get("card") or {}).get(
                    "case_type"
                )
                is_inquiry = str(raw_status or "").startswith("warning_") or case_type == "inquiry"
                closed_at = None
                if raw_status in _DISPUTE_TERMINAL:
                    reinstated = [
                        to_utc(t.get("created")) for t in d.get("balance_transactions") or []
                        if isinstance(t, dict) and (to_decimal(t.get("amount"), currency) or 0) > 0
                    ]  # fmt: skip
                    closed_at = o.observed_at or (
                        max(reinstated) if raw_status == "won" and reinstated else None
                    )
                values = {
                    "dispute_id": o.id,
                    "attempt_id": charge_id,
                    "customer_id": customer,
                    "amount": to_decimal(d.get("amount"), currency),
                    "currency": currency,
                    # Inquiries (retrieval requests) move no money and are not chargebacks yet.
                    "kind": "inquiry" if is_inquiry else "chargeback",
                    "reason": d.get("reason") or None,
                    "opened_at": to_utc(d.get("created")),
                    "status": self._map_closed(
                        "disputes.status", DISPUTE_STATUS, raw_status, required=True
                    ),
                    "closed_at": to_utc(d.get("closed_at")) or closed_at,
                    "evidence_due_at": to_utc(_dict(d.get("evidence_details")).get("due_by")),
                }
                self._emit("disputes", o.id, o, values, base_time(o))
        for o in self.of_kind("radar.early_fraud_warning"):
            with self._guard(o):
                w = o.obj
                charge_id, customer, charge = self._charge_facts(
                    w.get("charge"), w.get("payment_intent")
                )
                if self._follows_excluded_charge(o, charge_id):
                    continue
                self._note_unknown_customer("disputes", customer, charge_id)
                currency = ((charge or {}).get("currency") or "").upper() or None
                values = {
                    "dispute_id": o.id,
                    "attempt_id": charge_id,
                    "customer_id": customer,
                    "amount": to_decimal((charge or {}).get("amount"), currency),
                    "currency": currency,
                    "kind": "fraud_report",
                    "reason": w.get("fraud_type") or None,
                    "opened_at": to_utc(w.get("created")),
                    "status": "needs_response" if w.get("actionable") else "closed",
                    "closed_at": None,
                    "evidence_due_at": None,
                }
                self._emit("disputes", o.id, o, values, base_time(o))

    def map_refunds(self) -> None:
        for o in self.of_kind("refund"):
            with self._guard(o):
                r = o.obj
                charge_id, customer, _ = self._charge_facts(
                    self._charge_ref(r), r.get("payment_intent")
                )
                if self._follows_excluded_charge(o, charge_id):
                    continue
                if ref(r.get("customer")) and (customer or "").startswith(UNKNOWN_CUSTOMER_PREFIX):
                    customer = ref(r.get("customer"))  # some exports carry it on the refund
                else:
                    self._note_unknown_customer("refunds", customer, charge_id)
                currency = (r.get("currency") or "").upper() or None
                values = {
                    "refund_id": o.id,
                    "attempt_id": charge_id,
                    "customer_id": customer,
                    "amount": to_decimal(r.get("amount"), currency),
                    "currency": currency,
                    "refunded_at": to_utc(r.get("created")),
                    "reason": self._map_closed(
                        "refunds.reason", REFUND_REASON, r.get("reason"), required=False
                    ),
                    "status": self._map_closed(
                        "refunds.status", REFUND_STATUS, r.get("status"), required=True
                    ),
                }
                self._emit("refunds", o.id, o, values, base_time(o))

    # ---------------------------------------------------------------- payment-method updates

    def map_payment_method_updates(self) -> None:
        """Stripe keeps no history of payment-method changes; each payment method a customer
        attaches after their first one is read as an update (docs/connectors.md)."""
        per_customer: dict[str, list[Observation]] = defaultdict(list)
        for o in self.latest_of("payment_method"):
            customer = ref(o.obj.get("customer"))
            if customer and to_utc(o.obj.get("created")):
                per_customer[customer].append(o)
        failures: dict[str, list[datetime]] = defaultdict(list)
        for row in self.rows:
            if row.entity == "payment_attempts" and row.values["outcome"] == "failed":
                failures[row.values["customer_id"]].append(row.values["attempted_at"])
        for customer, methods in per_customer.items():
            methods.sort(key=lambda o: (to_utc(o.obj.get("created")), o.id))
            for previous, current in zip(methods, methods[1:], strict=False):
                with self._guard(current):
                    occurred = to_utc(current.obj.get("created"))
                    values = {
                        "update_id": current.id,
                        "customer_id": customer,
                        "occurred_at": occurred,
                        "previous_method": self._pm_type(previous.obj),
                        "new_method": self._pm_type(current.obj),
                        "reason": self._update_reason(
                            previous.obj, occurred, failures.get(customer, [])
                        ),
                    }
                    self._emit("payment_method_updates", current.id, current, values, occurred)

    def _pm_type(self, pm: dict) -> str | None:
        return self._map_closed(
            "payment_method_updates.new_method",
            PAYMENT_METHOD_TYPE,
            pm.get("type") or "card",
            required=True,
        )

    @staticmethod
    def _update_reason(previous: dict, occurred: datetime, failures: list[datetime]) -> str:
        card = previous.get("card") or {}
        year, month = card.get("exp_year"), card.get("exp_month")
        if isinstance(year, int) and isinstance(month, int):
            expires = datetime(year + month // 12, month % 12 + 1, 1)  # first day after expiry
            if expires <= occurred:
                return "expired_card"
        if any(occurred - timedelta(days=30) <= f <= occurred for f in failures if f):
            return "after_decline"
        return "customer_request"

    # ---------------------------------------------------------------- assembly

    def run(self) -> dict[str, list[dict]]:
        """Map everything; returns {entity: rows}, each row with `updated_at` and `_source`."""
        self.rows = []
        self.map_customers()
        self.map_subscriptions()
        self.map_invoices()
        self.map_payment_attempts()
        self.map_disputes()
        self.map_refunds()
        self.map_payment_method_updates()
        add_placeholder_customers(self.rows, self.report)
        report_orphans(self.rows, self.report)
        return assign_versions(self.rows, self.report)


def map_stripe_observations(
    observations: Iterable[Observation], livemode: str = "auto", connector: str = "stripe"
) -> tuple[dict[str, list[dict]], MappingReport]:
    mapper = StripeMapper(observations, livemode=livemode, connector=connector)
    rows = mapper.run()
    mapper.report.notes[f"livemode kept: {mapper.mode_kept}"] += 1
    return rows, mapper.report


def map_stripe_objects(objects: Iterable, livemode: str = "auto") -> dict[str, pa.Table]:
    """Stripe objects (dicts, lists, list responses or events) → {entity: contract table}.

    The pure entry point: every object is treated as one source, in the order given.
    """
    observations: list[Observation] = []
    for value in objects:
        observations.extend(observations_from_json(value, "objects", len(observations)))
    rows, _ = map_stripe_observations(observations, livemode=livemode)
    return {
        entity: contract_table(entity, without_source(entity_rows))
        for entity, entity_rows in rows.items()
    }
