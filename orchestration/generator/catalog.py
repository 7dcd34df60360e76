"""Reference data of the simulated business: plans, prices, countries, cards, processors, codes.

Everything the simulation samples from lives here as plain tuples and numpy arrays indexed by
small integer codes, so the simulation itself stays vectorised (codes in, codes out) and strings
appear only when the landing files are written.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from orchestration.contract import FRAUD_DECLINE_CODES, HARD_DECLINE_CODES, SOFT_DECLINE_CODES


def _weights(values) -> np.ndarray:
    w = np.asarray(values, dtype=np.float64)
    return w / w.sum()


# --- plans and prices ------------------------------------------------------------------------
PLANS = ("starter", "growth", "business", "enterprise")
INTERVALS = ("month", "year")
INTERVAL_MONTHS = np.array([1, 12])
# Monthly list price per plan and currency (major units); a year costs ten months.
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CAD", "AUD")
_PRICES = {
    "starter": (19, 19, 16, 19, 199, 149, 199, 79, 25, 29),
    "growth": (49, 49, 42, 49, 499, 369, 499, 199, 65, 75),
    "business": (129, 129, 109, 129, 1290, 949, 1290, 549, 169, 195),
    "enterprise": (499, 499, 429, 499, 4990, 3690, 4990, 2090, 649, 749),
}
MONTHLY_PRICE_CENTS = np.array([[p * 100 for p in _PRICES[plan]] for plan in PLANS], np.int64)
# Rough value of one unit of each currency in EUR: only used to size thresholds (e.g. "small
# debts are written off without collections"), never to convert amounts.
EUR_PER_UNIT = np.array([1.0, 0.92, 1.17, 1.05, 0.088, 0.134, 0.086, 0.23, 0.68, 0.61])
# Plan shares for people and for companies; companies buy seats on business/enterprise plans.
PLAN_WEIGHTS_PERSON = _weights([62, 31, 6, 1])
PLAN_WEIGHTS_COMPANY = _weights([12, 33, 38, 17])
YEARLY_SHARE = np.array([0.15, 0.2, 0.25, 0.45])  # per plan
# Risk and churn by plan: cheap plans fail and churn more.
PLAN_FAILURE_MULT = np.array([1.15, 1.0, 0.85, 0.7])
PLAN_DISPUTE_MULT = np.array([1.3, 1.0, 0.7, 0.4])
MONTHLY_CHURN = np.array([0.022, 0.015, 0.009, 0.005])
YEARLY_CHURN = np.array([0.2, 0.15, 0.1, 0.06])  # at renewal

# --- countries -------------------------------------------------------------------------------
# code, billing currency, UTC offset (hours), customer weight, card failure multiplier,
# region (0 Europe, 1 Americas, 2 Asia-Pacific), company-suffix
_COUNTRIES = (
    ("DE", "EUR", 1, 14, 0.85, 0, "GmbH"),
    ("FR", "EUR", 1, 10, 0.9, 0, "SAS"),
    ("NL", "EUR", 1, 5, 0.8, 0, "B.V."),
    ("ES", "EUR", 1, 5, 1.05, 0, "S.L."),
    ("IT", "EUR", 1, 5, 1.1, 0, "S.r.l."),
    ("BE", "EUR", 1, 2, 0.85, 0, "BV"),
    ("AT", "EUR", 1, 2, 0.85, 0, "GmbH"),
    ("IE", "EUR", 0, 2, 0.9, 0, "Ltd"),
    ("FI", "EUR", 2, 1.5, 0.8, 0, "Oy"),
    ("PT", "EUR", 0, 1.5, 1.05, 0, "Lda."),
    ("GB", "GBP", 0, 12, 0.95, 0, "Ltd"),
    ("CH", "CHF", 1, 2, 0.8, 0, "AG"),
    ("SE", "SEK", 1, 2, 0.8, 0, "AB"),
    ("DK", "DKK", 1, 1.5, 0.8, 0, "ApS"),
    ("NO", "NOK", 1, 1.5, 0.8, 0, "AS"),
    ("PL", "PLN", 1, 3, 1.15, 0, "sp. z o.o."),
    ("US", "USD", -5, 20, 1.1, 1, "Inc."),
    ("CA", "CAD", -5, 3, 1.0, 1, "Inc."),
    ("BR", "USD", -3, 2, 1.7, 1, "Ltda."),
    ("MX", "USD", -6, 1, 1.5, 1, "S.A. de C.V."),
    ("AU", "AUD", 10, 2.5, 1.0, 2, "Pty Ltd"),
    ("IN", "USD", 5, 2, 1.6, 2, "Pvt Ltd"),
    ("JP", "USD", 9, 1, 1.0, 2, "K.K."),
    ("SG", "USD", 8, 1, 0.9, 2, "Pte. Ltd."),
)
COUNTRIES = tuple(c[0] for c in _COUNTRIES)
COUNTRY_CURRENCY = np.array([CURRENCIES.index(c[1]) for c in _COUNTRIES])
COUNTRY_UTC_OFFSET = np.array([c[2] for c in _COUNTRIES])
COUNTRY_WEIGHTS = _weights([c[3] for c in _COUNTRIES])
COUNTRY_CARD_MULT = np.array([c[4] for c in _COUNTRIES])
COUNTRY_REGION = np.array([c[5] for c in _COUNTRIES])
COMPANY_SUFFIX = tuple(c[6] for c in _COUNTRIES)
_EUR = CURRENCIES.index("EUR")
IS_EURO = COUNTRY_CURRENCY == _EUR
# 3-D Secure is the norm in Europe (PSD2 strong customer authentication), rare elsewhere.
IS_SCA = COUNTRY_REGION == 0

# --- payment methods, cards, processors ------------------------------------------------------
METHODS = ("card", "sepa_debit", "bank_transfer", "wallet")
CARD, SEPA, BANK, WALLET = range(4)
# Method shares per plan (SEPA only where the currency is EUR; elsewhere it becomes a card).
METHOD_WEIGHTS = np.array(
    [
        _weights([80, 8, 0, 12]),
        _weights([70, 14, 6, 10]),
        _weights([52, 18, 26, 4]),
        _weights([30, 15, 55, 0]),
    ]
)
BRANDS = ("visa", "mastercard", "amex", "discover", "jcb", "unionpay")
BRAND_FAILURE_MULT = np.array([1.0, 1.05, 0.8, 1.15, 1.1, 1.3])
# Brand shares per region (Europe, Americas, Asia-Pacific).
BRAND_WEIGHTS = np.array(
    [
        _weights([52, 40, 6, 0, 1, 1]),
        _weights([52, 28, 14, 6, 0, 0]),
        _weights([45, 30, 6, 0, 12, 7]),
    ]
)
BINS_PER_SEGMENT = 8  # issuer BINs per (brand, issuing country)
# Leading digits of each brand's BIN range.
BIN_PREFIXES = (
    ("4",),
    ("51", "52", "53", "54", "55"),
    ("34", "37"),
    ("6011", "65"),
    ("35",),
    ("62",),
)

PROCESSORS = ("stripe", "adyen", "braintree", "gocardless")
# Routing per method and card region: cumulative shares over PROCESSORS.
_ROUTING_CARD = (_weights([45, 55, 0, 0]), _weights([60, 0, 40, 0]), _weights([70, 30, 0, 0]))
CARD_ROUTING = np.array(_ROUTING_CARD)
WALLET_ROUTING = _weights([60, 0, 40, 0])
SEPA_ROUTING = _weights([0, 45, 0, 55])
BANK_ROUTING = _weights([50, 50, 0, 0])

# --- decline codes ---------------------------------------------------------------------------
# Codes outside DOMAIN.md's lists, as real processors send them: the warehouse must keep them.
UNKNOWN_CODES = (
    "call_issuer", "withdrawal_count_limit_exceeded", "new_account_information_available",
    "security_violation", "debit_not_authorized",
)  # fmt: skip
DECLINE_CODES = SOFT_DECLINE_CODES + HARD_DECLINE_CODES + FRAUD_DECLINE_CODES + UNKNOWN_CODES
SOFT, HARD, FRAUD, UNKNOWN = range(4)
CODE_CLASS = np.array(
    [SOFT] * len(SOFT_DECLINE_CODES)
    + [HARD] * len(HARD_DECLINE_CODES)
    + [FRAUD] * len(FRAUD_DECLINE_CODES)
    + [UNKNOWN] * len(UNKNOWN_CODES)
)


def code(name: str) -> int:
    return DECLINE_CODES.index(name)


def _mix(**weights: float) -> np.ndarray:
    w = np.zeros(len(DECLINE_CODES))
    for name, value in weights.items():
        w[code(name)] = value
    return w / w.sum()


# Failures other than insufficient funds (that one is modelled apart: it follows the calendar).
CARD_MIX_DAY = _mix(
    do_not_honor=24, generic_decline=18, processing_error=2.5, issuer_not_available=2,
    try_again_later=3, card_velocity_exceeded=3, reenter_transaction=1.5,
    authentication_required=6, incorrect_cvc=1, transaction_not_allowed=4, restricted_card=2,
    card_not_supported=1.5, invalid_account=1, incorrect_number=0.5, expired_card=1.5,
    revocation_of_authorization=1, fraudulent=2, stolen_card=1.5, lost_card=1.5, pickup_card=1,
    highest_risk_level=0.5, merchant_blacklist=0.3, call_issuer=3,
    withdrawal_count_limit_exceeded=1.5, new_account_information_available=1,
    security_violation=0.5,
)  # fmt: skip
# At night issuers run batch maintenance: more "issuer not available" and processing errors.
CARD_MIX_NIGHT = (
    CARD_MIX_DAY + _mix(issuer_not_available=6, processing_error=3, try_again_later=2) * 0.25
)
CARD_MIX_NIGHT /= CARD_MIX_NIGHT.sum()
WALLET_MIX = _mix(
    do_not_honor=25, generic_decline=22, processing_error=3, issuer_not_available=2,
    try_again_later=3, authentication_required=8, transaction_not_allowed=4, restricted_card=2,
    fraudulent=2, stolen_card=1, lost_card=1, call_issuer=3, card_velocity_exceeded=2,
)  # fmt: skip
SEPA_MIX = _mix(
    invalid_account=30, revocation_of_authorization=22, revocation_of_all_authorizations=4,
    generic_decline=14, debit_not_authorized=22, processing_error=4, do_not_honor=4,
)  # fmt: skip
# What a retried soft failure fails with when the cause changed.
SOFT_MIX = _mix(
    insufficient_funds=45, do_not_honor=20, generic_decline=18, try_again_later=5,
    card_velocity_exceeded=4, processing_error=3, issuer_not_available=3, call_issuer=2,
)  # fmt: skip
# Base first-attempt failure probabilities per method: insufficient funds and everything else.
P_INSUFFICIENT = np.array([0.040, 0.016, 0.0, 0.020])
P_OTHER = np.array([0.048, 0.009, 0.0, 0.022])
# Chance that an automatic retry succeeds, by the previous decline code (then decays per retry).
RETRY_SUCCESS = np.full(len(DECLINE_CODES), 0.2)
for _name, _p in {
    "insufficient_funds": 0.33, "processing_error": 0.75, "issuer_not_available": 0.7,
    "try_again_later": 0.6, "do_not_honor": 0.22, "generic_decline": 0.25,
    "card_velocity_exceeded": 0.4, "reenter_transaction": 0.6,
}.items():  # fmt: skip
    RETRY_SUCCESS[code(_name)] = _p
RETRY_SUCCESS[CODE_CLASS == HARD] = 0.03
RETRY_SUCCESS[CODE_CLASS == FRAUD] = 0.0
CARD_TESTING_MIX = _mix(
    incorrect_cvc=25, incorrect_number=20, generic_decline=15, do_not_honor=10, expired_card=8,
    stolen_card=7, lost_card=5, fraudulent=5, invalid_cvc=3, card_velocity_exceeded=2,
)  # fmt: skip
VERIFICATION_MIX = _mix(
    incorrect_cvc=30, incorrect_number=20, do_not_honor=20, authentication_required=15,
    generic_decline=10, expired_card=5,
)  # fmt: skip

# --- customers -------------------------------------------------------------------------------
VERIFICATION = ("verified", "unverified", "pending", "failed")
VERIFICATION_WEIGHTS = _weights([72, 22, 0, 6])  # pending is a transient state before the others
VERIFICATION_RISK = np.array([0.8, 1.6, 1.2, 2.2])
VERIFICATION_DISPUTE = np.array([0.7, 2.2, 1.2, 3.0])
# Sign-ups by local hour of day.
SIGNUP_HOURS = _weights(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5, 5.5, 5.5, 5, 5.2, 5.5, 5.2, 4.8, 4.5, 4.6, 5, 5,
     4.2, 3, 1.8]
)  # fmt: skip

FIRST_NAMES = (
    "Zoë", "José", "François", "Łukasz", "Søren", "Björn", "Siobhán", "Ana", "Małgorzata",
    "Jürgen", "Renée", "Chloé", "Mátyás", "Ömer", "İlkay", "Dagný", "Anaïs", "Inês", "João",
    "Agnieszka", "Håkon", "Åsa", "Emma", "Liam", "Olivia", "Noah", "Sophie", "Lucas", "Mia",
    "Leon", "Hannah", "Paul", "Laura", "Tom", "Sarah", "David", "Julia", "Daniel", "Anna",
    "Marco", "Giulia", "Pierre", "Camille", "Jan", "Eva", "Aoife", "Seán", "Priya", "Arjun",
    "Wei", "Mei", "Yuki", "Haruto", "Carlos", "María", "Lucía", "Mateo", "Fatima", "Omar",
    "Ingrid", "Lars", "Olga", "Dmitri", "Chinedu", "Amara", "Kwame", "Ngozi", "Thomas", "Marie",
    "Michael", "Jennifer", "Robert", "Linda", "James", "Emily", "Felix", "Clara", "Noémie",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "García", "Lefèvre", "Wójcik", "Ødegaard", "Åström", "Ó Briain", "Šimić",
    "Schröder", "Núñez", "Dvořák", "Kowalski", "Jäger", "Gonçalves", "Çelik", "Smith",
    "Johnson", "Brown", "Williams", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Martin",
    "Bernard", "Dubois", "Rossi", "Russo", "Bianchi", "Schmidt", "Schneider", "Fischer", "Weber",
    "Meyer", "Wagner", "Becker", "Hoffmann", "de Vries", "Jansen", "van Dijk", "Bakker",
    "Nielsen", "Hansen", "Johansson", "Andersson", "Novak", "Horváth", "Murphy", "O'Brien",
    "Kelly", "Patel", "Sharma", "Singh", "Wang", "Li", "Zhang", "Tanaka", "Sato", "Suzuki",
    "Silva", "Santos", "Oliveira", "Hernández", "López", "Martínez", "Rodríguez", "Okafor",
    "Mensah", "Nguyen", "Kim", "Park", "Moreau", "Fontaine", "Kovačević", "Lindqvist",
)  # fmt: skip
COMPANY_WORDS = (
    "Consulting", "Studio", "Logistics", "Design", "Software", "Labs", "Partners", "Systems",
    "Digital", "Analytics", "Holding", "Medical", "Media", "Architects", "Foods", "Energy",
    "Robotics", "Travel", "Legal", "Print",
)  # fmt: skip
PERSON_DOMAINS = (
    "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de", "web.de",
    "orange.fr", "hotmail.co.uk", "libero.it", "t-online.de", "free.fr",
)  # fmt: skip
PERSON_DOMAIN_WEIGHTS = _weights([30, 15, 8, 10, 4, 6, 5, 4, 6, 3, 5, 4])
COMPANY_TLD = tuple(
    {"GB": "co.uk", "US": "com", "CA": "ca", "BR": "com.br", "MX": "com.mx", "AU": "com.au",
     "IN": "in", "JP": "jp", "SG": "sg"}.get(c, c.lower())
    for c in COUNTRIES
)  # fmt: skip

# --- dunning, plans, escalations, disputes ---------------------------------------------------
CHANNELS = ("email", "sms", "in_app", "phone")
EMAIL, SMS, IN_APP, PHONE = range(4)
OPEN_RATE = np.array([0.45, 0.8, 0.55, 0.45])  # phone: the call was answered
CLICK_RATE = np.array([0.3, 0.22, 0.4, 0.0])  # given opened; a call has no link
TEMPLATES = (
    "pre_due_reminder", "payment_failed", "retry_notice", "update_payment_method", "final_notice",
    "overdue_notice", "plan_offer", "collections_notice", "card_expiring", "collection_call",
)  # fmt: skip
TRIGGERS = (
    "scheduled", "automatic_retry", "customer_initiated", "payment_plan", "collections",
    "card_verification",
)  # fmt: skip
SCHEDULED, RETRY, CUSTOMER, PLAN, COLLECTIONS, VERIFICATION_TRIGGER = range(6)
UPDATE_REASONS = ("expired_card", "customer_request", "after_decline", "dunning_link")
PLAN_KINDS = ("instalments", "extension")
PLAN_STATUSES = ("active", "completed", "broken", "cancelled")
STAGES = ("collections_agency", "legal", "write_off")
AGENCIES = (
    "Atlas Receivables Ltd", "Nordlicht Inkasso GmbH", "Meridian Recovery SAS",
    "Keystone Credit Services Inc.",
)  # fmt: skip
LAW_FIRMS = ("Hartmann & Vogel Rechtsanwälte", "Carver Whitlock LLP", "Morel Avocats Associés")
SUB_STATUSES = ("trialing", "active", "past_due", "unpaid", "canceled")
TRIALING, ACTIVE, PAST_DUE, UNPAID, CANCELED = range(5)
CANCEL_REASONS = ("voluntary", "non_payment", "fraud", "other")
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
BILLING_REASONS = ("subscription_create", "subscription_cycle", "manual")
DISPUTE_KINDS = ("chargeback", "fraud_report")
DISPUTE_REASONS = (
    "fraudulent", "subscription_canceled", "product_not_received", "unrecognized", "duplicate",
    "credit_not_processed", "general", "debit_not_authorized",
)  # fmt: skip
# Reasons of chargebacks that are not fraud, with their shares.
NON_FRAUD_REASON_WEIGHTS = _weights([0, 32, 13, 27, 7, 8, 13, 0])
DISPUTE_STATUSES = ("needs_response", "under_review", "won", "lost", "closed")
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent", "other")
REFUND_STATUSES = ("pending", "succeeded", "failed")
OUTCOMES = ("succeeded", "failed")


def ascii_slug(text: str) -> str:
    """'Zoë Ó Briain' -> 'zoeobriain': for e-mail addresses built from names."""
    special = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "ı": "i"})
    plain = unicodedata.normalize("NFKD", text.translate(special))
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum()).lower()
