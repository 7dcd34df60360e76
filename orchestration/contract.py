"""The billing data contract: the raw entities Arrears accepts in its landing folder.

This module is the single source of truth for entity names, columns, types, keys and allowed
values. The ingestion validates against it, the sample generator writes it, connectors map onto
it, and `docs/data_contract.md` documents it (a test keeps the doc and this module in step).

Landing layout: `<landing>/<entity>/<any name>.{csv,parquet,jsonl}` — one folder per entity, any
number of files per drop. Every record has its id and an `updated_at`; the same id may arrive
again later with a newer `updated_at` (an invoice open → paid): the newest version wins, all
versions are kept as history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Timestamps outside this window are treated as corrupt (e.g. a 9999-12-31 placeholder).
MIN_TIMESTAMP = datetime(2000, 1, 1)
MAX_TIMESTAMP = datetime(2100, 1, 1)

# Currencies the FX-rates seed (dbt_project/seeds/fx_rates.csv) can convert.
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CAD", "AUD", "JPY")

# `other` keeps a method the contract does not name (e.g. a non-SEPA direct debit) visible.
PAYMENT_METHODS = ("card", "sepa_debit", "bank_transfer", "wallet", "other")

# Processor facts of one attempt (Stripe's names; other processors map onto them or leave null).
OUTCOME_TYPES = ("authorized", "manual_review", "issuer_declined", "blocked", "invalid")
RISK_LEVELS = ("normal", "elevated", "highest", "not_assessed", "unknown")
CARD_CHECKS = ("pass", "fail", "unavailable", "unchecked")

FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# Decline codes per DOMAIN.md. Codes outside these lists are kept as they come and classed
# `unknown`: they are never a reason to reject a row.
SOFT_DECLINE_CODES = (
    "insufficient_funds", "processing_error", "issuer_not_available", "try_again_later",
    "do_not_honor", "generic_decline", "card_velocity_exceeded", "reenter_transaction",
)  # fmt: skip
HARD_DECLINE_CODES = (
    "expired_card", "incorrect_number", "invalid_account", "card_not_supported",
    "restricted_card", "authentication_required", "incorrect_cvc", "invalid_cvc",
    "transaction_not_allowed", "revocation_of_authorization", "revocation_of_all_authorizations",
)  # fmt: skip
FRAUD_DECLINE_CODES = (
    "fraudulent", "stolen_card", "lost_card", "pickup_card", "merchant_blacklist",
    "highest_risk_level",
)  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the column in raw.<entity>
    description: str
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed value set; anything else is quarantined
    references: str | None = None  # "<entity>.<column>"; checked when the parent is known
    non_negative: bool = False
    pii: bool = False  # masked in every analyst-facing model

    @property
    def parent(self) -> str | None:
        """The entity this column references (its key has the column's name), if any."""
        return self.references.split(".")[0] if self.references else None


@dataclass(frozen=True)
class Entity:
    name: str
    key: str
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def parents(self) -> tuple[str, ...]:
        """The other entities this one references, by name: they load first."""
        return tuple(sorted({c.parent for c in self.columns if c.parent} - {self.name}))


def _id(name: str, what: str) -> Column:
    return Column(name, "VARCHAR", f"Unique id of the {what}.", required=True)


def _ref(name: str, entity: str, required: bool = True) -> Column:
    return Column(
        name, "VARCHAR", f"Id of the {entity[:-1].replace('_', ' ')}.", required=required,
        references=f"{entity}.{name}",
    )  # fmt: skip


def _amount(name: str, what: str, required: bool = True) -> Column:
    return Column(
        name, "DECIMAL(18,2)", f"{what}, in major units of `currency` (euros, not cents).",
        required=required, non_negative=True,
    )  # fmt: skip


def _ts(name: str, what: str, required: bool = False) -> Column:
    return Column(name, "TIMESTAMP", f"{what} (UTC).", required=required)


def _choice(name: str, what: str, allowed: tuple[str, ...], required: bool = False) -> Column:
    """A text column that holds one of `allowed` (the raw rules reject anything else)."""
    return Column(name, "VARCHAR", what, required=required, allowed=allowed)


_CURRENCY = _choice("currency", "ISO 4217 currency code (upper case).", CURRENCIES, required=True)
_UPDATED_AT = _ts("updated_at", "When this version of the record was produced", required=True)

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "customers",
        "customer_id",
        "People and companies that subscribe.",
        (
            _id("customer_id", "customer"),
            Column("email", "VARCHAR", "Billing email address.", pii=True),
            Column("name", "VARCHAR", "Customer or company name.", pii=True),
            Column("country", "VARCHAR", "ISO 3166-1 alpha-2 billing country."),
            _choice(
                "verification_status",
                "Identity/solvency verification at sign-up.",
                ("verified", "unverified", "pending", "failed"),
            ),
            _ts("created_at", "Sign-up time", required=True),
            Column(
                "delinquent",
                "BOOLEAN",
                "The billing system flags the customer as delinquent (Stripe: the latest "
                "invoice payment failed, or an invoice is past due).",
            ),
            Column(
                "balance",
                "DECIMAL(18,2)",
                "Account balance in major units of `balance_currency`: positive = owed and "
                "added to the next invoice, negative = credit.",
            ),
            _choice("balance_currency", "ISO 4217 currency of `balance` (upper case).", CURRENCIES),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "subscriptions",
        "subscription_id",
        "A customer's recurring plan.",
        (
            _id("subscription_id", "subscription"),
            _ref("customer_id", "customers"),
            Column("plan", "VARCHAR", "Plan name (e.g. starter, growth, business).", required=True),
            _choice(
                "billing_interval",
                "How often the plan bills.",
                ("day", "week", "month", "year"),
                required=True,
            ),
            _amount("amount", "Price per billing interval"),
            _CURRENCY,
            _choice(
                "status",
                "Subscription state.",
                (
                    "trialing",
                    "active",
                    "past_due",
                    "unpaid",
                    "canceled",
                    "paused",
                    "incomplete",
                ),
                required=True,
            ),
            _ts("started_at", "Start of the subscription", required=True),
            _ts("canceled_at", "Cancellation time, if cancelled"),
            _choice(
                "cancel_reason",
                "Why it was cancelled; `non_payment` is involuntary churn.",
                ("voluntary", "non_payment", "fraud", "other"),
            ),
            Column(
                "cancel_at_period_end",
                "BOOLEAN",
                "Set to end at the close of the current period (a cancellation already decided).",
            ),
            _choice(
                "collection_paused_behavior",
                "While collection is paused, what happens to new invoices; null when not paused.",
                ("keep_as_draft", "mark_uncollectible", "void"),
            ),
            _ts("collection_resumes_at", "When paused collection resumes, if scheduled"),
            _choice(
                "cancellation_feedback",
                "The customer's own reason for cancelling, as chosen from a list.",
                (
                    "too_expensive",
                    "missing_features",
                    "switched_service",
                    "unused",
                    "customer_service",
                    "too_complex",
                    "low_quality",
                    "other",
                ),
            ),
            Column(
                "cancellation_comment",
                "VARCHAR",
                "The customer's free-text comment on cancelling (may name people).",
                pii=True,
            ),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "invoices",
        "invoice_id",
        "What a customer owes for one billing period.",
        (
            _id("invoice_id", "invoice"),
            # One-off invoices belong to no subscription.
            _ref("subscription_id", "subscriptions", required=False),
            _ref("customer_id", "customers"),
            _CURRENCY,
            _amount("amount_due", "Amount billed"),
            _amount("amount_paid", "Amount paid so far", required=False),
            _ts("issued_at", "Issue time", required=True),
            _ts("due_at", "Due date", required=True),
            _ts("paid_at", "Time the invoice became fully paid"),
            _choice(
                "status",
                "Invoice state.",
                ("draft", "open", "paid", "void", "uncollectible"),
                required=True,
            ),
            _ts("written_off_at", "Time the invoice was written off as uncollectible"),
            _choice(
                "billing_reason",
                "Why the invoice was issued.",
                ("subscription_create", "subscription_cycle", "manual", "other"),
            ),
            _amount("amount_remaining", "Amount still owed", required=False),
            Column(
                "attempt_count",
                "INTEGER",
                "Payment attempts the billing system has made on the invoice so far.",
            ),
            _ts(
                "next_payment_attempt_at",
                "When the billing system will next try to collect; null when no retry is scheduled",
            ),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "payment_attempts",
        "attempt_id",
        "Every charge attempt: scheduled, automatic retry, or customer-initiated. "
        "Card verifications at sign-up have no invoice.",
        (
            _id("attempt_id", "payment attempt"),
            _ref("invoice_id", "invoices", required=False),
            _ref("customer_id", "customers"),
            _ts("attempted_at", "Attempt time", required=True),
            _amount("amount", "Amount attempted"),
            _CURRENCY,
            _choice("payment_method", "Payment method type.", PAYMENT_METHODS, required=True),
            Column("card_brand", "VARCHAR", "Card network (visa, mastercard, amex, ...)."),
            Column("card_country", "VARCHAR", "ISO-2 country of the card issuer."),
            Column("card_bin", "VARCHAR", "First six digits of the card (issuer BIN)."),
            Column(
                "card_fingerprint",
                "VARCHAR",
                "Stable token of the card number (never the number itself).",
            ),
            # Optional: a feed without them loses only the delinquency score's expiry feature.
            Column(
                "card_exp_month",
                "INTEGER",
                "Expiry month (1-12) of the card charged; the card is valid through its last day.",
            ),
            Column("card_exp_year", "INTEGER", "Expiry year (four digits) of the card charged."),
            Column("processor", "VARCHAR", "Payment processor / acquirer.", required=True),
            _choice("outcome", "Result of the attempt.", ("succeeded", "failed"), required=True),
            Column(
                "decline_code",
                "VARCHAR",
                "Decline code of a failed attempt; unknown codes are kept and classed `unknown`.",
            ),
            Column(
                "attempt_number", "INTEGER", "1 for the first attempt on an invoice, then 2, 3…"
            ),
            _choice(
                "trigger",
                "What started the attempt.",
                (
                    "scheduled",
                    "automatic_retry",
                    "customer_initiated",
                    "payment_plan",
                    "collections",
                    "card_verification",
                ),
            ),
            Column("used_3ds", "BOOLEAN", "Whether 3-D Secure authentication was performed."),
            Column("ip_address", "VARCHAR", "Client IP for customer-present attempts.", pii=True),
            Column("device_id", "VARCHAR", "Device fingerprint for customer-present attempts."),
            _choice(
                "outcome_type",
                "Who decided: `issuer_declined` (the card issuer), `blocked` (the processor's "
                "fraud screening, e.g. Stripe Radar, before the issuer), `invalid` (a malformed "
                "request), `authorized`, `manual_review`.",
                OUTCOME_TYPES,
            ),
            _choice(
                "risk_level", "The processor's fraud risk assessment of the attempt.", RISK_LEVELS
            ),
            Column(
                "failure_code",
                "VARCHAR",
                "Processor error code of a failed attempt (card_declined, expired_card, "
                "authentication_required, ...); `decline_code` is the issuer's finer reason.",
            ),
            Column(
                "failure_type",
                "VARCHAR",
                "Processor error class of a failed attempt (card_error, invalid_request_error, "
                "api_error, ...).",
            ),
            Column(
                "failure_message",
                "VARCHAR",
                "The processor's human-readable failure text (no card or personal data).",
            ),
            _choice(
                "card_funding", "Card funding type.", ("credit", "debit", "prepaid", "unknown")
            ),
            _choice("cvc_check", "Result of the CVC check.", CARD_CHECKS),
            _choice(
                "address_line1_check",
                "Result of the billing address (first line) check.",
                CARD_CHECKS,
            ),
            _choice(
                "address_postal_code_check", "Result of the billing postal code check.", CARD_CHECKS
            ),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "payment_method_updates",
        "update_id",
        "A customer changing the way they pay.",
        (
            _id("update_id", "payment-method update"),
            _ref("customer_id", "customers"),
            _ts("occurred_at", "When the customer changed the method", required=True),
            _choice("previous_method", "Method before the change.", PAYMENT_METHODS),
            _choice("new_method", "Method after the change.", PAYMENT_METHODS, required=True),
            _choice(
                "reason",
                "Why the method changed.",
                ("expired_card", "customer_request", "after_decline", "dunning_link"),
            ),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "dunning_messages",
        "message_id",
        "Reminders and notices sent to customers.",
        (
            _id("message_id", "message"),
            _ref("customer_id", "customers"),
            _ref("invoice_id", "invoices", required=False),
            _choice(
                "channel", "Delivery channel.", ("email", "sms", "in_app", "phone"), required=True
            ),
            Column(
                "template",
                "VARCHAR",
                "Message template (pre_due_reminder, payment_failed, retry_notice, final_notice, "
                "plan_offer, ...).",
                required=True,
            ),
            _ts("sent_at", "Send time", required=True),
            _ts("opened_at", "First open"),
            _ts("clicked_at", "First click"),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "payment_plans",
        "payment_plan_id",
        "Negotiated arrangements: instalment plans and due-date extensions.",
        (
            _id("payment_plan_id", "payment plan"),
            _ref("customer_id", "customers"),
            _ref("invoice_id", "invoices"),
            _choice(
                "kind",
                "Instalments or a due-date extension.",
                ("instalments", "extension"),
                required=True,
            ),
            _ts("agreed_at", "When the customer accepted the plan", required=True),
            _amount("total_amount", "Amount covered by the plan"),
            _CURRENCY,
            Column("instalment_count", "INTEGER", "Number of instalments (1 for an extension)."),
            _choice(
                "status",
                "Plan state as reported by the billing system.",
                ("active", "completed", "broken", "cancelled"),
                required=True,
            ),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "payment_plan_instalments",
        "instalment_id",
        "The scheduled parts of a payment plan.",
        (
            _id("instalment_id", "instalment"),
            _ref("payment_plan_id", "payment_plans"),
            Column("sequence", "INTEGER", "1-based position in the plan.", required=True),
            _ts("due_at", "Instalment due date", required=True),
            _amount("amount", "Instalment amount"),
            _CURRENCY,
            _ts("paid_at", "Payment time, if paid"),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "escalations",
        "escalation_id",
        "Hand-overs to collections, legal action, write-off.",
        (
            _id("escalation_id", "escalation"),
            _ref("invoice_id", "invoices"),
            _ref("customer_id", "customers"),
            _ts("escalated_at", "Escalation time", required=True),
            _choice(
                "stage",
                "Escalation stage.",
                ("collections_agency", "legal", "write_off"),
                required=True,
            ),
            Column("agency", "VARCHAR", "Collections agency or law firm, if any."),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "disputes",
        "dispute_id",
        "Chargebacks and issuer fraud reports on a payment.",
        (
            _id("dispute_id", "dispute"),
            _ref("attempt_id", "payment_attempts"),
            _ref("customer_id", "customers"),
            _amount("amount", "Disputed amount"),
            _CURRENCY,
            _choice(
                "kind",
                "`chargeback`; `fraud_report` (issuer TC40/SAFE report, no money moved); "
                "`inquiry` (a retrieval request, not yet a chargeback).",
                ("chargeback", "fraud_report", "inquiry"),
                required=True,
            ),
            Column(
                "reason",
                "VARCHAR",
                "Network reason (fraudulent, product_not_received, subscription_canceled, ...).",
            ),
            _ts("opened_at", "When the dispute was raised", required=True),
            _choice(
                "status",
                "Dispute state.",
                ("needs_response", "under_review", "won", "lost", "closed"),
                required=True,
            ),
            _ts("closed_at", "When the dispute was decided"),
            _ts("evidence_due_at", "Deadline for submitting evidence to contest the dispute"),
            _UPDATED_AT,
        ),
    ),
    Entity(
        "refunds",
        "refund_id",
        "Money returned on a successful payment.",
        (
            _id("refund_id", "refund"),
            _ref("attempt_id", "payment_attempts"),
            _ref("customer_id", "customers"),
            _amount("amount", "Refunded amount"),
            _CURRENCY,
            _ts("refunded_at", "Refund time", required=True),
            _choice(
                "reason",
                "Why the money was returned.",
                ("requested_by_customer", "duplicate", "fraudulent", "other"),
            ),
            _choice("status", "Refund state.", ("pending", "succeeded", "failed"), required=True),
            _UPDATED_AT,
        ),
    ),
)

ENTITY_BY_NAME = {e.name: e for e in ENTITIES}

# A version stamped later than now plus this was not produced yet: its clock is wrong.
FUTURE_SLACK = timedelta(hours=24)

# Two clocks of one billing system disagree by seconds (Stripe stamps `paid_at` a second before
# `finalized_at`). An event up to this much before the event it must follow is clock skew: it
# loads, and staging moves it to the earlier event's time. Beyond it the record is incoherent and
# quarantined. 15 minutes is far above real skew and below what a misread time zone produces
# (whole or half hours), so a time-zone bug is never "normalised" away.
CLOCK_SKEW = timedelta(minutes=15)


# Characters of an offending value quoted in a quarantine reason.
EXCERPT = 60


@dataclass(frozen=True)
class ColumnSql:
    """How one layer's SQL names a column in a rule: `{amount}` is its value, `{amount.text}`
    the text the file held (blank = null) and `{amount.source}` that text exactly as written.
    Ingestion parses text, so the three differ there; in a raw table, typed already, all three
    are the column."""

    value: str
    text: str
    source: str

    def __format__(self, spec: str) -> str:
        return self.value


def in_raw_table(name: str) -> ColumnSql:
    """A raw table's column: typed already, so its value, its text and its source are one."""
    return ColumnSql(name, name, name)


class _Columns(dict):
    def __init__(self, sql_of: Callable[[str], ColumnSql]):
        super().__init__()
        self.sql_of = sql_of

    def __missing__(self, column: str) -> ColumnSql:
        return self.sql_of(column)


@dataclass(frozen=True)
class Rule:
    """One rule of the contract on one record, written once for the two layers that judge it:
    ingestion quarantines a row that breaks it with its `reason`, and the raw checks count the
    current records that break it under its `name` (a table altered by hand, a loader bug).

    `sql` is TRUE for an offending record and `reason` is the SQL text of the quarantine reason;
    both name columns as `{column}`, `{column.text}` or `{column.source}` (see `ColumnSql`)."""

    name: str
    sql: str
    reason: str
    description: str
    check: str = "ranges"  # the raw check that counts it: `values` or `ranges`
    column: str | None = None  # the one column a column rule judges; None: the whole record
    # Ordering rules: the event that must not come first, and the one it follows.
    later: str | None = None
    earlier: str | None = None

    def predicate(self, columns: Callable[[str], ColumnSql] = in_raw_table) -> str:
        return self.sql.format_map(_Columns(columns))

    def reason_sql(self, columns: Callable[[str], ColumnSql]) -> str:
        return self.reason.format_map(_Columns(columns))


def _quote(value: str) -> str:
    """An SQL string literal (and no format placeholder: braces doubled)."""
    return "'" + value.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def _record_rule(name: str, sql: str, description: str, **ordering: str) -> Rule:
    return Rule(name, sql, _quote(f"{name}: {description}"), description, **ordering)


def _order(name: str, later: str, earlier: str) -> Rule:
    skew = f"interval {int(CLOCK_SKEW.total_seconds())} seconds"
    return _record_rule(
        name,
        f"{{{later}}} < {{{earlier}}} - {skew}",
        f"`{later}` before `{earlier}` by more than the clock-skew tolerance",
        later=later,
        earlier=earlier,
    )


# Checked on every row at ingestion (an offender is quarantined with the rule's name) and again
# on the raw tables' current records (a table altered by hand). A status without its timestamp
# (`paid` without `paid_at`) is not a rule: staging takes `updated_at` as the time instead.
RECORD_RULES: dict[str, tuple[Rule, ...]] = {
    "subscriptions": (_order("canceled_before_start", "canceled_at", "started_at"),),
    "invoices": (
        _order("due_before_issue", "due_at", "issued_at"),
        _order("paid_before_issue", "paid_at", "issued_at"),
        _record_rule(
            "paid_more_than_due", "{amount_paid} > {amount_due}", "`amount_paid` > `amount_due`"
        ),
    ),
    "payment_attempts": (
        _record_rule("attempt_number_below_1", "{attempt_number} < 1", "`attempt_number` < 1"),
    ),
    "dunning_messages": (
        _order("opened_before_sent", "opened_at", "sent_at"),
        _order("clicked_before_sent", "clicked_at", "sent_at"),
    ),
    "payment_plans": (
        _record_rule(
            "instalment_count_below_1", "{instalment_count} < 1", "`instalment_count` < 1"
        ),
    ),
    "payment_plan_instalments": (
        _record_rule("sequence_below_1", "{sequence} < 1", "`sequence` < 1"),
    ),
    "disputes": (_order("closed_before_opened", "closed_at", "opened_at"),),
}


def column_rules(column: Column) -> list[Rule]:
    """The rules of one column's value (a value breaks one of them at most)."""
    name = column.name
    rules = []
    if column.required:
        rules.append(
            Rule(f"missing_{name}", f"{{{name}.text}} is null", _quote(f"missing {name}"),
                 f"`{name}` is missing", "values", name)
        )  # fmt: skip
    if column.non_negative:
        rules.append(
            Rule(f"negative_{name}", f"{{{name}}} < 0", f"'negative {name}: ' || {{{name}}}",
                 f"`{name}` < 0", "ranges", name)
        )  # fmt: skip
    if column.allowed:
        allowed = ", ".join(column.allowed)
        excerpt = f"left({{{name}.source}}, {EXCERPT})"
        rules.append(
            Rule(
                f"unknown_{name}",
                f"{{{name}}} not in ({', '.join(_quote(v) for v in column.allowed)})",
                f"'unknown {name} ''' || {excerpt} || ''' (allowed: {allowed})'",
                f"`{name}` not one of {allowed}",
                "values",
                name,
            )
        )
    if column.type == "TIMESTAMP":
        low, high = (f"timestamp '{t:%Y-%m-%d}'" for t in (MIN_TIMESTAMP, MAX_TIMESTAMP))
        window = f"[{MIN_TIMESTAMP:%Y}, {MAX_TIMESTAMP:%Y})"
        rules.append(
            Rule(f"{name}_out_of_range", f"{{{name}}} < {low} or {{{name}}} >= {high}",
                 f"'{name} out of range {window}: ' || {{{name}}}",
                 f"`{name}` outside {window}", "ranges", name)
        )  # fmt: skip
    return rules


def rules(entity: Entity, now: str) -> list[Rule]:
    """Every rule a record of `entity` must keep: its columns' (in column order), its record
    rules, and a version not stamped in the future. `now` is the SQL of the reference time
    (ingestion: the wall clock; the raw checks: their reference time)."""
    future = Rule(
        "updated_in_future",
        f"{{updated_at}} > {now} + interval {int(FUTURE_SLACK.total_seconds())} seconds",
        "'updated_at in the future: ' || {updated_at}",
        f"`updated_at` more than {FUTURE_SLACK.total_seconds() / 3600:g} h after now",
    )
    return [
        *(rule for c in entity.columns for rule in column_rules(c)),
        *RECORD_RULES.get(entity.name, ()),
        future,
    ]


# Columns every raw.<entity> table carries besides the contract columns: where each row came
# from. Together with `updated_at` they make every version traceable to a file and a row.
LINEAGE_COLUMNS = (
    Column("_source_file", "VARCHAR", "Landing file the row was read from.", required=True),
    Column(
        "_source_row", "BIGINT", "1-based data row (or JSON line) within that file.", required=True
    ),
    Column("_loaded_at", "TIMESTAMP", "When the row was loaded (UTC).", required=True),
)


def contract_markdown() -> str:
    """The contract as a Markdown page (docs/data_contract.md is this text; a test keeps it so)."""
    lines = [
        "# Billing data contract",
        "",
        "<!-- Generated from orchestration/contract.py by `arrears contract > docs/data_contract.md`."
        " Do not edit by hand. -->",
        "",
        "The raw entities Arrears accepts. Put files in the landing folder, one folder per entity:",
        "`<landing>/<entity>/<any name>.csv | .parquet | .jsonl` (any number of files per drop).",
        "",
        "- **CSV**: a header row; comma, semicolon, tab or pipe delimited; UTF-8 (with or without",
        "  BOM) or Windows-1252/Latin-1. Header names are matched case-insensitively.",
        "- **Parquet**: columns by name; native types or text.",
        "- **JSON Lines**: one object per line, keys by name.",
        "- Timestamps: ISO 8601 (`2026-03-01T09:15:00Z`, `2026-03-01 09:15:00+02:00`, `2026-03-01`);"
        " without an offset they are UTC. Plausible range: "
        f"{MIN_TIMESTAMP:%Y-%m-%d} to {MAX_TIMESTAMP:%Y-%m-%d}.",
        "- Amounts: decimal numbers in major units of the row's currency (`49.90`, not cents).",
        f"- Currencies: {', '.join(CURRENCIES)}.",
        "- Every record has its id and `updated_at`. A record may arrive again with a newer",
        "  `updated_at` (an invoice open → paid): the newest version wins; all versions are kept.",
        "- Columns outside the contract are ignored (and reported); optional columns may be absent.",
        "",
        "A row that breaks the contract (missing id or required value, unparseable value, negative",
        "amount, value outside an allowed set, timestamp out of range, a reference to a record that",
        "does not exist) is quarantined in `raw._quarantine` with its reason, file and row; the",
        "other rows of the file load. A row whose only fault is a reference to a record not loaded",
        "yet is retried on every load and released when its parent arrives. Events out of order",
        f"by at most {int(CLOCK_SKEW.total_seconds() // 60)} minutes (the source's clocks disagree) load, and "
        "staging moves the later",
        "event to the earlier one's time; further apart, the record breaks the entity's rule.",
        "",
        "Decline codes are free text; DOMAIN.md's soft / hard / fraud lists classify them and",
        "any other code is kept and classed `unknown`.",
        "",
    ]
    for entity in ENTITIES:
        lines += [
            f"## `{entity.name}`",
            "",
            f"{entity.description} Key: `{entity.key}`.",
            "",
            "| column | type | required | rule | description |",
            "|---|---|---|---|---|",
        ]
        for c in entity.columns:
            rules = []
            if c.allowed:
                rules.append("one of " + ", ".join(f"`{v}`" for v in c.allowed))
            if c.non_negative:
                rules.append("≥ 0")
            if c.references:
                rules.append(f"→ `{c.references}`")
            if c.pii:
                rules.append("PII (masked for analysts)")
            lines.append(
                f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {'; '.join(rules)} "
                f"| {c.description} |"
            )
        if entity.name in RECORD_RULES:
            lines.append("")
        for rule in RECORD_RULES.get(entity.name, ()):
            lines.append(f"- Rule `{rule.name}`: a record with {rule.description} is quarantined.")
        lines.append("")
    return "\n".join(lines)
