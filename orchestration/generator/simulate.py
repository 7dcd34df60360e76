"""The simulated subscription business, one slice of customers at a time.

A `Chunk` follows its customers from sign-up to the end date: subscriptions bill on their
anniversaries, each invoice goes through collection (first charge, automatic retries, dunning
messages and the customers' reactions to them, payment-method changes, payment plans,
collections, legal action, write-off), and successful payments attract refunds and disputes.
Everything is vectorised over invoices; the only Python loops run over billing periods and retry
numbers. Times are epoch seconds, categories are integer codes into `catalog`, local indices
become ids when the tables are built. Events after the end date are simulated and then cut off,
so every record shows the state as of the end date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import ENTITIES
from orchestration.generator import catalog as cat
from orchestration.generator.incidents import RUN_HOUR, IncidentModel
from orchestration.generator.timeutil import (
    DAY,
    HOUR,
    INF,
    MINUTE,
    bill_time,
    business_hours,
    day_of_month,
    hour_of_day,
    month_index,
    month_start,
    waking,
    weekday,
)

# First octets of public IPv4 ranges per region (Europe, Americas, Asia-Pacific).
_FIRST_OCTETS = (
    np.array([2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91,
              92, 93, 94, 95, 109, 141, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217]),
    np.array([3, 4, 8, 12, 13, 15, 16, 18, 23, 24, 50, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73,
              74, 75, 76, 96, 97, 98, 99, 104, 107, 108, 173, 174, 184, 198, 199, 204, 205, 206]),
    np.array([1, 14, 27, 36, 39, 42, 43, 49, 58, 59, 60, 61, 101, 103, 106, 110, 111, 112, 113,
              114, 115, 116, 118, 119, 120, 121, 122, 123, 124, 125, 126, 175, 180, 182, 183]),
)  # fmt: skip
_BIN_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.1, 0.09, 0.07, 0.05, 0.04])
_CARD_RETRY_DAYS = np.array([1, 3, 5, 7])
_SEPA_RETRY_DAYS = np.array([4, 8])
_STORM_RETRIES = 11  # above Mastercard's cap of 10 retries in 24 hours
DUNNING_DAYS = 14  # after the first failure: then plans, cancellation, collections
BILLING_RUN_LOCAL_HOUR = RUN_HOUR  # the daily renewal batch starts at 06:00 in each market
_INSUFFICIENT = cat.code("insufficient_funds")
_EXPIRED = cat.code("expired_card")
_AUTH_REQUIRED = cat.code("authentication_required")
_GENERIC = cat.code("generic_decline")
_MASTERCARD = cat.BRANDS.index("mastercard")
_T = cat.TEMPLATES
PRE_DUE, PAYMENT_FAILED, RETRY_NOTICE, UPDATE_METHOD, FINAL_NOTICE = range(5)
OVERDUE, PLAN_OFFER, COLLECTIONS_NOTICE, CARD_EXPIRING, COLLECTION_CALL = range(5, 10)
assert _T[COLLECTION_CALL] == "collection_call" and _T[OVERDUE] == "overdue_notice"
# Subscription stop kinds (index into CANCEL_REASONS, plus "unpaid").
VOLUNTARY, NON_PAYMENT, FRAUD_STOP, OTHER, UNPAID_STOP = 0, 1, 2, 3, 4
# "other" mixes of failure codes indexed by method * 2 + night.
_OTHER_MIX = np.array(
    [cat.CARD_MIX_DAY, cat.CARD_MIX_NIGHT, cat.SEPA_MIX, cat.SEPA_MIX,
     cat.CARD_MIX_DAY, cat.CARD_MIX_DAY, cat.WALLET_MIX, cat.WALLET_MIX]
)  # fmt: skip


class Cols(dict):
    """Named numpy columns of equal length."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def take(self, rows) -> Cols:
        return Cols({k: v[rows] for k, v in self.items()})


class Rows:
    """Rows of each entity, accumulated as column blocks."""

    def __init__(self):
        self.parts: dict[str, list[dict]] = defaultdict(list)

    def add(self, entity: str, **cols) -> None:
        n = next((len(v) for v in cols.values() if isinstance(v, np.ndarray | pa.Array)), 0)
        if n == 0:
            return
        block = {
            k: v if isinstance(v, np.ndarray | pa.Array) else np.full(n, v) for k, v in cols.items()
        }
        self.parts[entity].append(block)

    def columns(self, entity: str) -> dict:
        blocks = self.parts.get(entity, [])
        if not blocks:
            return {}
        out = {}
        for k in blocks[0]:
            values = [b[k] for b in blocks]
            if isinstance(values[0], pa.Array | pa.ChunkedArray):
                out[k] = pa.chunked_array(values).combine_chunks()
            else:
                out[k] = np.concatenate(values)
        return out


@dataclass
class World:
    """What every chunk of one generation shares."""

    t0: int
    t1: int
    bins: np.ndarray  # (brand, issuing country, BINS_PER_SEGMENT) -> six-digit BIN
    incidents: IncidentModel


def make_bins(rng: np.random.Generator) -> np.ndarray:
    bins = np.empty((len(cat.BRANDS), len(cat.COUNTRIES), cat.BINS_PER_SEGMENT), np.int64)
    for b, prefixes in enumerate(cat.BIN_PREFIXES):
        lead = rng.integers(0, len(prefixes), bins.shape[1:])
        for j, prefix in enumerate(prefixes):
            rest = 10 ** (6 - len(prefix))
            random_rest = rng.integers(0, rest, bins.shape[1:])
            bins[b] = np.where(lead == j, int(prefix) * rest + random_rest, bins[b])
    return bins


def choice_rows(rng: np.random.Generator, probs: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One draw per row from the distribution probs[group[row]]."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(group.size)
    return np.minimum((u[:, None] > cum[group]).sum(1), probs.shape[1] - 1)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return (median * np.exp(rng.normal(0.0, sigma, n))).astype(np.int64)


def _dom_factor(t: np.ndarray) -> np.ndarray:
    """Insufficient funds follow the pay cycle: fewer just after payday, more at month-end."""
    d = day_of_month(t)
    return np.where(d <= 3, 0.75, 1.0) + np.where(d >= 25, 0.07 * (d - 24), 0.0)


def _clock_factor(t: np.ndarray, tz: np.ndarray) -> np.ndarray:
    """Issuers decline a little more in their night (maintenance windows) and at weekends."""
    local = t + tz * HOUR
    night = hour_of_day(local) < 6
    weekend = weekday(local) >= 5
    return np.where(night, 1.25, 0.95) * np.where(weekend, 1.08, 0.98)


def _min_at(size: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(size, INF, np.int64)
    np.minimum.at(out, index, values)
    return out


class Chunk:
    """Customers [offset, offset + n) of one generation, simulated end to end."""

    def __init__(self, world: World, rng: np.random.Generator, n: int, offset: int):
        self.w = world
        self.rng = rng
        self.n = n
        self.offset = offset
        self.rows = Rows()
        self.n_cards = 0
        self.n_invoices = 0
        self.attempts = Rows()  # payment attempts before numbering (they need a final sort)
        self.sub_events = Rows()
        self._counters: dict[str, int] = {}  # ids handed out per versioned entity
        self.spike_disputes = 0  # chargebacks added by the dispute-spike incident

    # --- public ------------------------------------------------------------------------------
    def run(self) -> tuple[dict[str, dict], dict[str, int]]:
        """Simulates the chunk; returns each entity's columns (local indices) and id counts."""
        self._customers()
        self._subscriptions()
        self._verifications()
        self._billing()
        self._subscription_versions()
        att = self._number_attempts()
        self._disputes_and_refunds(att)
        return self.tables()

    def tables(self) -> tuple[dict[str, dict], dict[str, int]]:
        t1 = self.w.t1
        out: dict[str, dict] = {}
        counts = {
            "customers": self.n, "subscriptions": len(self.s.owner), "invoices": self.n_invoices,
            "cards": self.n_cards, **self._counters,
        }  # fmt: skip
        for entity in ENTITIES:
            cols = self.rows.columns(entity.name)
            if cols:
                # A version produced after the end date is not known yet.
                keep = np.asarray(cols["updated_at"]) < t1
                mask = pa.array(keep)
                cols = {
                    k: v.filter(mask) if isinstance(v, pa.Array) else v[keep]
                    for k, v in cols.items()
                }
                if entity.key not in cols:
                    cols[entity.key] = np.arange(keep.sum())
                    counts[entity.name] = int(keep.sum())
            out[entity.name] = cols
        return out, counts

    # --- customers ---------------------------------------------------------------------------
    def _customers(self) -> None:
        r, n, w = self.rng, self.n, self.w
        company = r.random(n) < 0.35
        country = r.choice(len(cat.COUNTRIES), n, p=cat.COUNTRY_WEIGHTS)
        before_window = r.random(n) < 0.6
        growth = 0.6  # sign-ups grow over the window: density ∝ 1 + growth · x
        u = r.random(n)
        x = (np.sqrt(1 + 2 * growth * u * (1 + growth / 2)) - 1) / growth
        day = (
            np.where(
                before_window, w.t0 - 730 * DAY + r.random(n) * 730 * DAY, w.t0 + x * (w.t1 - w.t0)
            ).astype(np.int64)
            // DAY
        )
        # Companies sign up on working days: most weekend sign-ups happen on the Monday instead.
        wd = (day + 3) % 7
        to_monday = np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
        day = day + np.where(company & (r.random(n) < 0.6), to_monday, 0)
        tz = cat.COUNTRY_UTC_OFFSET[country]
        hour = r.choice(24, n, p=cat.SIGNUP_HOURS)
        created = day * DAY + hour * HOUR + r.integers(0, HOUR, n) - tz * HOUR
        created = np.minimum(created, w.t1 - 3 * HOUR)

        verification = r.choice(len(cat.VERIFICATION), n, p=cat.VERIFICATION_WEIGHTS)
        risk = np.exp(r.normal(-0.28, 0.75, n)) * cat.VERIFICATION_RISK[verification]
        suspicious = (verification == 1) | (verification == 3)
        fraudster = (suspicious & (r.random(n) < 0.035)) | (r.random(n) < 0.001)
        region = cat.COUNTRY_REGION[country]
        octet = np.empty(n, np.int64)
        for reg, octets in enumerate(_FIRST_OCTETS):
            rows = np.flatnonzero(region == reg)
            octet[rows] = octets[r.integers(0, octets.size, rows.size)]
        ip = (octet << 24) | (r.integers(0, 256, n) << 16) | (r.integers(0, 256, n) << 8)
        ip |= r.integers(1, 255, n)
        self.c = Cols(
            company=company, country=country, created=created, tz=tz, risk=risk,
            engage=r.beta(2.0, 2.5, n), fraudster=fraudster, verification=verification, ip=ip,
            net_days=np.where(r.random(n) < 0.6, 14, 7),
        )  # fmt: skip
        self.names, self.emails = self._identities(company, country)

        # Verification often passes through `pending` for a few days: two versions.
        was_pending = r.random(n) < 0.35
        resolved = created + r.integers(HOUR, 5 * DAY, n)
        idx = np.arange(n)
        first = np.where(was_pending, 2, verification)
        self._customer_rows(idx, first, created)
        late = np.flatnonzero(was_pending & (resolved < w.t1))
        self._customer_rows(late, verification[late], resolved[late])

    def _customer_rows(self, idx: np.ndarray, status: np.ndarray, updated: np.ndarray) -> None:
        self.rows.add(
            "customers", customer_id=idx, email=self.emails.take(pa.array(idx)),
            name=self.names.take(pa.array(idx)), country=self.c.country[idx],
            verification_status=status, created_at=self.c.created[idx], updated_at=updated,
        )  # fmt: skip

    def _identities(self, company: np.ndarray, country: np.ndarray) -> tuple[pa.Array, pa.Array]:
        r, n = self.rng, self.n
        first_i = r.integers(0, len(cat.FIRST_NAMES), n)
        last_i = r.integers(0, len(cat.LAST_NAMES), n)
        word_i = r.integers(0, len(cat.COMPANY_WORDS), n)
        domain_i = r.choice(len(cat.PERSON_DOMAINS), n, p=cat.PERSON_DOMAIN_WEIGHTS)

        def pick(values, index):
            return pa.array(values, pa.string()).take(pa.array(index))

        first, last, word = (
            pick(cat.FIRST_NAMES, first_i),
            pick(cat.LAST_NAMES, last_i),
            pick(cat.COMPANY_WORDS, word_i),
        )
        first_s = pick([cat.ascii_slug(v) for v in cat.FIRST_NAMES], first_i)
        last_s = pick([cat.ascii_slug(v) for v in cat.LAST_NAMES], last_i)
        word_s = pick([cat.ascii_slug(v) for v in cat.COMPANY_WORDS], word_i)
        number = pa.array(self.offset + np.arange(n)).cast(pa.string())
        person = pc.binary_join_element_wise(first, last, " ")
        firm = pc.binary_join_element_wise(last, word, pick(cat.COMPANY_SUFFIX, country), " ")
        person_mail = pc.binary_join_element_wise(
            first_s, ".", last_s, number, "@", pick(cat.PERSON_DOMAINS, domain_i), ""
        )
        firm_mail = pc.binary_join_element_wise(
            "billing@", last_s, "-", word_s, number, ".", pick(cat.COMPANY_TLD, country), ""
        )
        is_company = pa.array(company)
        return pc.if_else(is_company, firm, person), pc.if_else(is_company, firm_mail, person_mail)

    # --- subscriptions -----------------------------------------------------------------------
    def _new_cards(self, country: np.ndarray, issued_month: np.ndarray) -> Cols:
        """Fresh cards issued in `country` (brand by region, BIN from the issuer pool)."""
        r, k = self.rng, country.size
        brand = choice_rows(r, cat.BRAND_WEIGHTS, cat.COUNTRY_REGION[country])
        slot = r.choice(cat.BINS_PER_SEGMENT, k, p=_BIN_WEIGHTS)
        card = self.n_cards + np.arange(k)
        self.n_cards += k
        return Cols(
            brand=brand, cc=country, bin=self.w.bins[brand, country, slot], card=card,
            exp=issued_month + r.integers(1, 49, k),  # months of validity left
        )  # fmt: skip

    def _payment_setup(self, method: np.ndarray, country: np.ndarray, created: np.ndarray) -> Cols:
        """Card attributes and processor for a payment method (card fields -1 when not a card)."""
        r, k = self.rng, method.size
        abroad = r.random(k) >= 0.92  # cards issued in another country than the billing one
        card_country = np.where(
            abroad, r.choice(len(cat.COUNTRIES), k, p=cat.COUNTRY_WEIGHTS), country
        )
        cards = self._new_cards(card_country, month_index(created))
        cardish = (method == cat.CARD) | (method == cat.WALLET)
        out = Cols({name: np.where(cardish, v, -1) for name, v in cards.items()})
        region = cat.COUNTRY_REGION[card_country]
        proc = choice_rows(r, cat.CARD_ROUTING, region)
        proc = np.where(method == cat.WALLET, r.choice(4, k, p=cat.WALLET_ROUTING), proc)
        proc = np.where(method == cat.SEPA, r.choice(4, k, p=cat.SEPA_ROUTING), proc)
        out["proc"] = np.where(method == cat.BANK, r.choice(4, k, p=cat.BANK_ROUTING), proc)
        out["method"] = method
        return out

    def _choose_method(self, plan: np.ndarray, country: np.ndarray, company: np.ndarray):
        method = choice_rows(self.rng, cat.METHOD_WEIGHTS, plan)
        method = np.where((method == cat.SEPA) & ~cat.IS_EURO[country], cat.CARD, method)
        return np.where((method == cat.BANK) & ~company, cat.CARD, method)

    def _subscriptions(self) -> None:
        r, c, w = self.rng, self.c, self.w
        second = np.flatnonzero(r.random(self.n) < np.where(c.company, 0.15, 0.06))
        owner = np.concatenate([np.arange(self.n), second])
        k = owner.size
        company = c.company[owner]
        country = c.country[owner]
        plan = np.where(
            company,
            r.choice(4, k, p=cat.PLAN_WEIGHTS_COMPANY),
            r.choice(4, k, p=cat.PLAN_WEIGHTS_PERSON),
        )
        yearly = r.random(k) < cat.YEARLY_SHARE[plan]
        interval = np.where(yearly, 12, 1)
        currency = cat.COUNTRY_CURRENCY[country]
        seats = np.where(
            company & (plan == 2),
            np.minimum(r.geometric(0.5, k), 5),
            np.where(company & (plan == 3), np.minimum(r.geometric(0.3, k), 10), 1),
        )
        price = cat.MONTHLY_PRICE_CENTS[plan, currency] * seats * interval
        price = np.where(yearly, price // 12 * 10, price)  # a year costs ten months
        price = np.where(r.random(k) < 0.15, price * 8 // 10, price)  # 20 % coupon
        started = np.where(
            np.arange(k) < self.n,
            c.created[owner] + r.integers(30, 600, k),
            c.created[owner] + (r.random(k) * (w.t1 - HOUR - c.created[owner])).astype(np.int64),
        )
        method = self._choose_method(plan, country, company)
        # Cards on file before the window were still valid at its start (else already replaced).
        pay = self._payment_setup(method, country, np.maximum(started, w.t0))
        new = started >= w.t0
        trial = new & (r.random(k) < 0.35)
        anchor = started + np.where(trial, 14 * DAY, 0)
        # Renewals go out in each market's daily billing run, early morning local time; only a
        # new subscription's first invoice is charged on the spot, at sign-up.
        run_tod = ((BILLING_RUN_LOCAL_HOUR - c.tz[owner]) % 24) * HOUR + r.integers(
            0, 90 * MINUTE, k
        )
        at_signup = np.where(new & ~trial, started + r.integers(60, 300, k), -1)
        self.s = Cols(
            owner=owner, plan=plan, interval=interval, amount=price, currency=currency,
            started=started, trial=trial, new=new,
            anchor_month=month_index(anchor), anchor_day=day_of_month(anchor),
            tod=run_tod, at_signup=at_signup, k=np.zeros(k, np.int64),
            stop_at=np.full(k, INF, np.int64), stop_kind=np.full(k, -1),
            unpaid_end=np.full(k, INF, np.int64), last_issue=started.copy(), **pay,
        )  # fmt: skip
        # Subscriptions that started before the window: first bill inside the window.
        s = self.s
        old = np.flatnonzero(~new)
        s.k[old] = np.maximum(
            0, (month_index(np.full(old.size, w.t0)) - s.anchor_month[old]) // s.interval[old] - 1
        )
        for _ in range(3):
            late = self._issue_time(old) < w.t0
            s.k[old] += late
        # Trials that never convert; fraudsters caught a few weeks in.
        quit_trial = trial & (r.random(k) < 0.18)
        s.stop_at[quit_trial] = started[quit_trial] + r.integers(DAY, 13 * DAY, quit_trial.sum())
        s.stop_kind[quit_trial] = VOLUNTARY
        caught = c.fraudster[owner]
        s.stop_at[caught] = started[caught] + r.integers(20, 71, caught.sum()) * DAY
        s.stop_kind[caught] = FRAUD_STOP

    def _bill_time(self, subs: np.ndarray, k: np.ndarray | None = None) -> np.ndarray:
        s = self.s
        k = s.k[subs] if k is None else k
        run = bill_time(s.anchor_month[subs], s.anchor_day[subs], s.tod[subs], k, s.interval[subs])
        return np.where((k == 0) & (s.at_signup[subs] >= 0), s.at_signup[subs], run)

    def _issue_time(self, subs: np.ndarray) -> np.ndarray:
        """Yearly auto-charged renewals are invoiced a week ahead; everything else on the day."""
        s = self.s
        lead = (s.interval[subs] == 12) & (s.method[subs] != cat.BANK) & (s.k[subs] > 0)
        return self._bill_time(subs) - np.where(lead, 7 * DAY, 0)

    # --- card checks at sign-up --------------------------------------------------------------
    def _verifications(self) -> None:
        """A zero-amount authorisation when a card is saved at sign-up (retried once if declined)."""
        s, r = self.s, self.rng
        subs = np.flatnonzero(
            (np.arange(len(s.owner)) < self.n)
            & s.new
            & ((s.method == cat.CARD) | (s.method == cat.WALLET))
        )
        k = subs.size
        b = s.take(subs)
        b.update(
            inv=np.full(k, -1), cust=s.owner[subs], amount=np.zeros(k, np.int64),
            currency=s.currency[subs],
        )  # fmt: skip
        t = s.started[subs] - r.integers(10, 25, k)
        p_fail = np.where(self.c.fraudster[b.cust], 0.2, 0.04)
        codes = r.choice(len(cat.DECLINE_CODES), k, p=cat.VERIFICATION_MIX)
        failed, code = self._decide(t, b.method, b.cc, b.proc, p_fail, codes)
        tds = r.random(k) < np.where(cat.IS_SCA[b.cc], 0.8, 0.3)
        buf = Rows()
        trigger = cat.VERIFICATION_TRIGGER
        self._buffer_attempts(buf, b, np.arange(k), t, failed, code, trigger, tds, True)
        again = np.flatnonzero(failed)
        t2 = t[again] + r.integers(40, 200, again.size)
        bb = b.take(again)
        failed2, code2 = self._decide(
            t2, bb.method, bb.cc, bb.proc, np.full(again.size, 0.02), codes[again]
        )
        self._buffer_attempts(buf, b, again, t2, failed2, code2, trigger, tds[again], True)
        self._flush_attempts(buf)

    # --- the billing loop --------------------------------------------------------------------
    def _billing(self) -> None:
        s, r, w = self.s, self.rng, self.w
        while True:
            issue_all = self._issue_time(np.arange(len(s.owner)))
            due_now = (issue_all < w.t1) & (issue_all < s.stop_at)
            subs = np.flatnonzero(due_now)
            if subs.size == 0:
                break
            issue = issue_all[subs]
            bill = self._bill_time(subs)
            # Voluntary churn: cancelled before the renewal, no invoice.
            renewal = (s.k[subs] > 0) | ~s.new[subs]
            hazard = np.where(
                s.interval[subs] == 12,
                cat.YEARLY_CHURN[s.plan[subs]],
                cat.MONTHLY_CHURN[s.plan[subs]],
            )
            churn = renewal & (r.random(subs.size) < hazard)
            cancel_at = np.maximum(
                np.minimum(bill - r.integers(HOUR, 10 * DAY, subs.size), issue - HOUR),
                s.last_issue[subs] + 2 * DAY,
            )
            gone = subs[churn]
            s.stop_at[gone] = np.minimum(s.stop_at[gone], cancel_at[churn])
            s.stop_kind[gone] = np.where(r.random(gone.size) < 0.9, VOLUNTARY, OTHER)
            keep = ~churn
            subs, issue, bill = subs[keep], issue[keep], bill[keep]

            bank = s.method[subs] == cat.BANK
            cust = s.owner[subs]
            create = (s.k[subs] == 0) & s.new[subs]
            due = np.where(bank, issue + self.c.net_days[cust] * DAY, bill)
            batch = self._invoices(subs, issue, due, s.amount[subs], np.where(create, 0, 1))
            result = self._collect(batch, drives_subscription=True)
            self._apply(subs, result)
            s.last_issue[subs] = issue
            s.k[subs] += 1
            self._method_switches(subs, issue)
            self._manual_invoices(subs, issue)

    def _method_switches(self, subs: np.ndarray, issue: np.ndarray) -> None:
        """Customers who change how they pay of their own accord."""
        s, r, c = self.s, self.rng, self.c
        pick = r.random(subs.size) < 0.006
        subs = subs[pick]
        t = issue[pick] + r.integers(2, 20, subs.size) * DAY
        ok = (t < s.stop_at[subs]) & (t < self.w.t1) & (t < self._bill_time(subs))
        subs, t = subs[ok], t[ok]
        owner = s.owner[subs]
        method = self._choose_method(s.plan[subs], c.country[owner], c.company[owner])
        method = np.where((method == s.method[subs]) & (method != cat.CARD), cat.CARD, method)
        pay = self._payment_setup(method, c.country[owner], t)
        self._emit_updates(
            Cols(cust=owner, t=t, previous=s.method[subs].copy(), new=method,
                 reason=np.ones(subs.size, np.int64))
        )  # fmt: skip
        for name in ("method", "brand", "cc", "bin", "card", "exp", "proc"):
            s[name][subs] = pay[name]

    def _invoices(self, subs, issued, due, amount, reason) -> Cols:
        s = self.s
        inv = self.n_invoices + np.arange(subs.size)
        self.n_invoices += subs.size
        return Cols(
            inv=inv, sub=subs, cust=s.owner[subs], amount=amount, currency=s.currency[subs],
            issued=issued, due=due, reason=reason, plan=s.plan[subs], trial=s.trial[subs],
            method=s.method[subs].copy(), brand=s.brand[subs].copy(), cc=s.cc[subs].copy(),
            bin=s.bin[subs].copy(), card=s.card[subs].copy(), exp=s.exp[subs].copy(),
            proc=s.proc[subs].copy(),
        )  # fmt: skip

    def _apply(self, subs: np.ndarray, res: Cols) -> None:
        """Carry an invoice's consequences over to its subscription."""
        s = self.s
        changed = res.has_update
        for name in ("method", "brand", "cc", "bin", "card", "exp", "proc"):
            s[name][subs[changed]] = res[name][changed]
        stop = res.stop_at < s.stop_at[subs]
        s.stop_at[subs[stop]] = res.stop_at[stop]
        s.stop_kind[subs[stop]] = res.stop_kind[stop]
        s.unpaid_end[subs[stop]] = res.unpaid_end[stop]

    def _manual_invoices(self, subs: np.ndarray, issue: np.ndarray) -> None:
        """One-off charges (extra seats, services); a few are voided as issued by mistake."""
        s, r, w = self.s, self.rng, self.w
        pick = r.random(subs.size) < 0.012
        subs, issue = subs[pick], issue[pick]
        issued = issue + r.integers(3, 26, subs.size) * DAY
        ok = (issued < w.t1) & (issued < s.stop_at[subs]) & (issued < self._bill_time(subs))
        subs, issued = subs[ok], issued[ok]
        if subs.size == 0:
            return
        monthly = cat.MONTHLY_PRICE_CENTS[s.plan[subs], s.currency[subs]]
        amount = np.round(monthly * r.uniform(0.3, 2.0, subs.size) / 100).astype(np.int64) * 100
        bank = s.method[subs] == cat.BANK
        due = np.where(bank, issued + self.c.net_days[s.owner[subs]] * DAY, issued)
        batch = self._invoices(subs, issued, due, amount, np.full(subs.size, 2))
        void = r.random(subs.size) < 0.04
        voided = batch.take(void)
        t_void = voided.issued + r.integers(10 * MINUTE, 2 * HOUR, voided.inv.size)
        self._invoice_rows(voided, 0, voided.issued, -1, 1, -1)
        ok_void = t_void < w.t1
        self._invoice_rows(voided.take(ok_void), 0, t_void[ok_void], -1, 3, -1)
        self._collect(batch.take(~void), drives_subscription=False)

    # --- collection of one batch of invoices -------------------------------------------------
    def _collect(self, b: Cols, drives_subscription: bool) -> Cols:
        m = b.inv.size
        res = Cols(
            paid=np.full(m, INF, np.int64), first_fail=np.full(m, INF, np.int64),
            dunning_end=np.full(m, INF, np.int64), has_update=np.zeros(m, bool),
            stop_at=np.full(m, INF, np.int64), stop_kind=np.full(m, -1),
            unpaid_end=np.full(m, INF, np.int64), agreed=np.full(m, INF, np.int64),
            method=b.method.copy(), brand=b.brand.copy(), cc=b.cc.copy(), bin=b.bin.copy(),
            card=b.card.copy(), exp=b.exp.copy(), proc=b.proc.copy(),
        )  # fmt: skip
        auto = np.flatnonzero(b.method != cat.BANK)
        bank = np.flatnonzero(b.method == cat.BANK)
        for rows, stage in ((auto, self._auto_dunning), (bank, self._bank_dunning)):
            if rows.size:
                part = stage(b.take(rows))
                for name, values in part.items():
                    res[name][rows] = values
        late = np.flatnonzero((res.paid == INF) & (res.dunning_end < INF))
        if late.size:
            bb = b.take(late)
            for name in ("method", "brand", "cc", "bin", "card", "exp", "proc"):
                bb[name] = res[name][late]
            bb["dunning_end"] = res.dunning_end[late]
            part = self._after_dunning(bb)
            for name, values in part.items():
                if name in res:
                    res[name][late] = values
        else:
            part = None
        self._final_invoice_rows(b, res, late, part)
        if drives_subscription:
            self._invoice_subscription_events(b, res)
        return res

    def _final_invoice_rows(self, b: Cols, res: Cols, late: np.ndarray, part: Cols | None):
        t1 = self.w.t1
        m = b.inv.size
        self._invoice_rows(b, 0, b.issued, -1, 1, -1)
        partial = np.zeros(m, np.int64)
        partial_t = np.full(m, -1, np.int64)
        written_off = np.full(m, INF, np.int64)
        if part is not None:
            partial[late] = part.partial
            partial_t[late] = part.partial_at
            written_off[late] = part.written_off
        paid = res.paid < t1
        wo = ~paid & (written_off < t1)
        part_open = ~paid & ~wo & (partial > 0)
        rows = np.flatnonzero(paid)
        self._invoice_rows(b.take(rows), b.amount[rows], res.paid[rows], res.paid[rows], 2, -1)
        rows = np.flatnonzero(wo)
        self._invoice_rows(b.take(rows), partial[rows], written_off[rows], -1, 4, written_off[rows])
        rows = np.flatnonzero(part_open)
        self._invoice_rows(b.take(rows), partial[rows], partial_t[rows], -1, 1, -1)

    def _invoice_rows(self, b: Cols, amount_paid, updated, paid_at, status, written_off) -> None:
        self.rows.add(
            "invoices", invoice_id=b.inv, subscription_id=b.sub, customer_id=b.cust,
            currency=b.currency, amount_due=b.amount, amount_paid=amount_paid,
            issued_at=b.issued, due_at=b.due, paid_at=paid_at, status=status,
            written_off_at=written_off, billing_reason=b.reason, updated_at=updated,
        )  # fmt: skip

    def _invoice_subscription_events(self, b: Cols, res: Cols) -> None:
        failed = res.first_fail < INF
        self.sub_events.add("e", sub=b.sub[failed], t=res.first_fail[failed], status=cat.PAST_DUE)
        back = (res.paid < INF) & (failed | (b.trial & (b.reason == 0)))
        self.sub_events.add("e", sub=b.sub[back], t=res.paid[back], status=cat.ACTIVE)
        plan = res.agreed < INF
        self.sub_events.add("e", sub=b.sub[plan], t=res.agreed[plan], status=cat.ACTIVE)

    # --- failure model -----------------------------------------------------------------------
    def _decide(self, t, method, cc, proc, p_fail, base_code) -> tuple[np.ndarray, np.ndarray]:
        """Outcome of attempts: the base failure chance plus whatever incident is going on."""
        base = self.rng.random(t.size) < p_fail
        hit, hit_code = self.w.incidents.failures(t, proc, cc, method)
        code = np.where(hit, hit_code, np.where(base, base_code, -1))
        return base | hit, code

    def _first_attempt_risk(self, b: Cols, t: np.ndarray, risk: np.ndarray):
        """(p insufficient funds, p other decline) of a scheduled charge."""
        cardish = (b.method == cat.CARD) | (b.method == cat.WALLET)
        cc, brand = np.maximum(b.cc, 0), np.maximum(b.brand, 0)
        network = np.where(cardish, cat.COUNTRY_CARD_MULT[cc] * cat.BRAND_FAILURE_MULT[brand], 1.0)
        first = np.where(b.reason == 0, 1.25, 1.0)  # a new card's first recurring charge
        plan = cat.PLAN_FAILURE_MULT[b.plan]
        p_if = cat.P_INSUFFICIENT[b.method] * risk * plan * first * _dom_factor(t)
        clock = _clock_factor(t, self._issuer_tz(b))
        p_other = cat.P_OTHER[b.method] * np.sqrt(risk) * network * plan * first * clock
        return p_if, p_other

    def _issuer_tz(self, b: Cols) -> np.ndarray:
        """UTC offset of the card issuer (the customer's country for non-card methods)."""
        country = np.where(b.cc >= 0, b.cc, self.c.country[b.cust])
        return cat.COUNTRY_UTC_OFFSET[country]

    def _other_codes(self, b: Cols, t: np.ndarray, method=None) -> np.ndarray:
        method = b.method if method is None else method
        night = (hour_of_day(t + self._issuer_tz(b) * HOUR) < 6).astype(np.int64)
        return choice_rows(self.rng, _OTHER_MIX, method * 2 + night)

    # --- auto-charged invoices: charge, retries, notices, customers' reactions ----------------
    def _auto_dunning(self, b: Cols) -> Cols:
        r, c = self.rng, self.c
        n = b.inv.size
        cust = b.cust
        risk, tz = c.risk[cust], c.tz[cust]
        card = b.method == cat.CARD
        has_update = np.zeros(n, bool)

        # Annual renewals are invoiced a week ahead: a reminder before the charge.
        ahead = np.flatnonzero(b.due - b.issued >= 5 * DAY)
        self._messages(
            cust[ahead],
            b.inv[ahead],
            cat.EMAIL,
            PRE_DUE,
            b.due[ahead] - 3 * DAY + r.integers(0, 2 * HOUR, ahead.size),
        )

        # Cards that expired since the last charge: a notice, then an update or a decline.
        exp_end = np.where(card, month_start(np.maximum(b.exp, 0) + 1), INF)
        expired = np.flatnonzero(card & (exp_end <= b.due))
        notice = np.maximum(
            exp_end[expired] - r.integers(15, 26, expired.size) * DAY,
            c.created[cust[expired]] + HOUR,
        )
        notice = np.minimum(notice, b.due[expired] - 2 * DAY)
        opened, clicked, _, _ = self._messages(cust[expired], -1, cat.EMAIL, CARD_EXPIRING, notice)
        proactive = (clicked < INF) | ((opened < INF) & (r.random(expired.size) < 0.4))
        proactive |= r.random(expired.size) < 0.08
        upd_t = np.where(
            clicked < INF,
            clicked + r.integers(60, 900, expired.size),
            np.where(opened < INF, opened, notice) + r.integers(HOUR, 10 * DAY, expired.size),
        )
        upd_t = np.clip(upd_t, notice + 60, b.due[expired] - 10 * MINUTE)
        fresh = expired[proactive]
        self._emit_updates(
            Cols(cust=cust[fresh], t=upd_t[proactive], previous=np.full(fresh.size, cat.CARD),
                 new=np.full(fresh.size, cat.CARD), reason=np.zeros(fresh.size, np.int64))
        )  # fmt: skip
        new = self._new_cards(b.cc[fresh], month_index(b.due[fresh]))
        new["brand"] = np.where(r.random(fresh.size) < 0.85, b.brand[fresh], new.brand)
        new["bin"] = self.w.bins[
            new.brand, new.cc, r.choice(cat.BINS_PER_SEGMENT, fresh.size, p=_BIN_WEIGHTS)
        ]
        for name in ("brand", "bin", "card", "exp"):
            b[name][fresh] = new[name]
        has_update[fresh] = True
        stale = np.zeros(n, bool)
        stale[expired[~proactive]] = True

        # The scheduled charge, about an hour after the invoice is finalised.
        t1 = b.due + r.integers(5 * MINUTE, 70 * MINUTE, n)
        create = b.reason == 0
        sca = cat.IS_SCA[np.maximum(b.cc, 0)]
        tds = r.random(n) < np.where(create, np.where(sca, 0.75, 0.25), 0.03)
        p_if, p_other = self._first_attempt_risk(b, t1, risk)
        split = r.random(n) * (p_if + p_other) < p_if
        code = np.where(split, _INSUFFICIENT, self._other_codes(b, t1))
        code = np.where((code == _AUTH_REQUIRED) & tds, _GENERIC, code)
        code = np.where(stale, _EXPIRED, code)
        p_fail = np.where(stale, 1.0, np.minimum(p_if + p_other, 0.9))
        failed, code = self._decide(t1, b.method, b.cc, b.proc, p_fail, code)
        attempt_buf = Rows()
        self._buffer_attempts(
            attempt_buf, b, np.arange(n), t1, failed, code, cat.SCHEDULED, tds, False
        )

        out = Cols(
            paid=np.where(failed, INF, t1), first_fail=np.where(failed, t1, INF),
            dunning_end=np.where(failed, t1 + DUNNING_DAYS * DAY, INF), has_update=has_update,
            method=b.method, brand=b.brand, cc=b.cc, bin=b.bin, card=b.card, exp=b.exp,
            proc=b.proc,
        )  # fmt: skip
        f = np.flatnonzero(failed)
        if f.size == 0:
            self._flush_attempts(attempt_buf)
            return out
        self._retries(attempt_buf, b, f, t1[f], code[f])
        tf = t1[f]
        cls = cat.CODE_CLASS[code[f]]
        soft = (cls == cat.SOFT) | (cls == cat.UNKNOWN)
        company = c.company[cust[f]]

        # Notices after the failure: (template, channel, send time, sent?)
        k = f.size
        slots = (
            (PAYMENT_FAILED, cat.EMAIL, tf + r.integers(60, 900, k), np.ones(k, bool)),
            (PAYMENT_FAILED, cat.SMS, tf + r.integers(60, 900, k), r.random(k) < 0.3),
            (PAYMENT_FAILED, cat.IN_APP, tf + r.integers(60, 900, k), r.random(k) < 0.35),
            (RETRY_NOTICE, cat.EMAIL, tf + 3 * DAY + r.integers(HOUR, 3 * HOUR, k), soft),
            (UPDATE_METHOD, cat.EMAIL, tf + DAY + r.integers(HOUR, 5 * HOUR, k), ~soft),
            (FINAL_NOTICE, cat.EMAIL, tf + 7 * DAY + r.integers(3 * HOUR, 8 * HOUR, k), np.ones(k, bool)),
            (FINAL_NOTICE, cat.SMS, tf + 7 * DAY + r.integers(3 * HOUR, 9 * HOUR, k), r.random(k) < 0.5),
            (COLLECTION_CALL, cat.PHONE, business_hours(tf + 9 * DAY, tz[f], r), r.random(k) < np.where(company, 0.7, 0.1)),
        )  # fmt: skip
        msg = self._notices(b, f, slots)
        act = msg.action < out.dunning_end[msg.row]
        upd = self._customer_payments(attempt_buf, b, f, msg.take(act), code[f], stale[f])

        # Settle: the first success pays; retries stop once the customer changed the method;
        # nothing is sent or tried after the invoice is paid.
        att = attempt_buf.columns("a")
        first_upd = _min_at(n, upd.row, upd.t) if upd.row.size else np.full(n, INF)
        drop_retry = (att["trigger"] == cat.RETRY) & (att["attempted_at"] > first_upd[att["row"]])
        att = {k_: v[~drop_retry] for k_, v in att.items()}
        ok = att["outcome"] == 0
        paid = _min_at(n, att["row"][ok], att["attempted_at"][ok])
        keep = att["attempted_at"] <= paid[att["row"]]
        self._flush_attempts_cols({k_: v[keep] for k_, v in att.items()})
        msg_keep = msg.sent < paid[msg.row]
        self._emit_messages(msg.take(msg_keep))
        upd_keep = upd.t < paid[upd.row]
        self._emit_updates(upd.take(upd_keep))
        # The method the invoice ends with (latest kept update) carries to the subscription.
        ku = upd.take(upd_keep)
        if ku.row.size:
            order = np.lexsort((ku.t, ku.row))
            ku = ku.take(order)
            last = np.r_[ku.row[1:] != ku.row[:-1], True]
            ku = ku.take(last)
            for name in ("method", "brand", "cc", "bin", "card", "exp", "proc"):
                out[name][ku.row] = ku[name]
            out["has_update"][ku.row] = True
        out["paid"] = paid
        return out

    def _retries(self, buf: Rows, b: Cols, f: np.ndarray, tf: np.ndarray, code: np.ndarray):
        """Automatic retries on days 1, 3, 5, 7 (SEPA: 4, 8) after a soft decline; a few
        non-compliant retries after hard declines and a rare retry storm."""
        r = self.rng
        k = f.size
        cls = cat.CODE_CLASS[code]
        soft = (cls == cat.SOFT) | (cls == cat.UNKNOWN)
        sepa = b.method[f] == cat.SEPA
        count = np.where(soft, np.where(sepa, 2, 4), 0)
        rogue_hard = (cls == cat.HARD) & (r.random(k) < 0.06)
        count = np.where(rogue_hard, r.integers(1, 4, k), count)
        rogue_fraud = (cls == cat.FRAUD) & (r.random(k) < 0.03)
        count = np.where(rogue_fraud, r.integers(1, 3, k), count)
        storm = soft & (b.brand[f] == _MASTERCARD) & (b.method[f] == cat.CARD)
        storm &= r.random(k) < 0.004
        count = np.where(storm, _STORM_RETRIES, count)
        prev = code.copy()
        for j in range(_STORM_RETRIES):
            rows = np.flatnonzero(count > j)
            if rows.size == 0:
                break
            jitter = np.clip(r.normal(0, 1.5 * HOUR, rows.size), -6 * HOUR, 6 * HOUR).astype(
                np.int64
            )
            days = np.where(sepa[rows], _SEPA_RETRY_DAYS[min(j, 1)], _CARD_RETRY_DAYS[min(j, 3)])
            t = np.where(
                storm[rows],
                tf[rows]
                + (j + 1) * 125 * MINUTE
                + r.integers(-10 * MINUTE, 10 * MINUTE, rows.size),
                tf[rows] + days * DAY + jitter,
            )
            pc_ = prev[rows]
            payday = np.where(pc_ == _INSUFFICIENT, 1.0 / _dom_factor(t), 1.0)
            p_ok = np.minimum(cat.RETRY_SUCCESS[pc_] * 0.9**j * payday, 0.95)
            hard_or_fraud = ~soft[rows]
            changed = r.random(rows.size) < 0.3
            new_code = np.where(
                hard_or_fraud | ~changed,
                pc_,
                r.choice(len(cat.DECLINE_CODES), rows.size, p=cat.SOFT_MIX),
            )
            bb = b.take(f[rows])
            failed, got = self._decide(t, bb.method, bb.cc, bb.proc, 1.0 - p_ok, new_code)
            self._buffer_attempts(
                buf, b, f[rows], t, failed, got, cat.RETRY, np.zeros(rows.size, bool), False
            )
            prev[rows] = np.where(failed, got, pc_)
            count[rows] = np.where(failed, count[rows], 0)  # stop after a success

    def _notices(self, b: Cols, f: np.ndarray, slots) -> Cols:
        """Dunning messages for failed invoices and the customers' responses (not yet emitted)."""
        parts = []
        for template, channel, sent, on in slots:
            rows = np.flatnonzero(on)
            parts.append(
                (rows, np.full(rows.size, template), np.full(rows.size, channel), sent[rows])
            )
        row = np.concatenate([p[0] for p in parts])
        msg = Cols(
            row=f[row], template=np.concatenate([p[1] for p in parts]),
            channel=np.concatenate([p[2] for p in parts]), sent=np.concatenate([p[3] for p in parts]),
        )  # fmt: skip
        msg["cust"] = b.cust[msg.row]
        msg["inv"] = b.inv[msg.row]
        opened, clicked, action, via_click = self._respond(msg.channel, msg.sent, msg.cust)
        msg.update(opened=opened, clicked=clicked, action=action, via_click=via_click)
        return msg

    def _respond(self, channel, sent, cust) -> tuple[np.ndarray, ...]:
        """Opens, clicks and whether (and when) the customer then pays."""
        r, c = self.rng, self.c
        n = sent.size
        engage, tz, risk = c.engage[cust], c.tz[cust], c.risk[cust]
        phone = channel == cat.PHONE
        opened = r.random(n) < np.minimum(cat.OPEN_RATE[channel] * (0.55 + engage), 0.97)
        delay = np.select(
            [channel == cat.EMAIL, channel == cat.SMS, channel == cat.IN_APP],
            [_lognormal(r, 2 * HOUR, 1.2, n), _lognormal(r, 10 * MINUTE, 1.0, n), _lognormal(r, 3 * HOUR, 1.0, n)],
            r.integers(5, 60, n),
        )  # fmt: skip
        opened_at = np.where(phone, sent + delay, waking(sent + delay, tz, r))
        opened_at = np.where(opened, opened_at, INF)
        clicked = opened & (r.random(n) < cat.CLICK_RATE[channel] * (0.6 + 0.9 * engage))
        clicked_at = np.where(clicked, opened_at + 5 + _lognormal(r, 40, 1.0, n), INF)
        willing = np.clip(1.3 - 0.3 * risk, 0.2, 1.2)
        p_act = np.where(clicked, 0.6, np.where(opened, np.where(phone, 0.4, 0.15), 0.02)) * willing
        act = r.random(n) < p_act
        when = np.where(
            clicked,
            clicked_at + r.integers(30, 900, n),
            np.where(
                opened,
                opened_at + np.where(phone, r.integers(5 * MINUTE, 2 * HOUR, n), _lognormal(r, 6 * HOUR, 1.0, n)),
                sent + r.integers(DAY, 4 * DAY, n),
            ),
        )  # fmt: skip
        when = np.where(phone | clicked, when, waking(when, tz, r))
        return opened_at, clicked_at, np.where(act, when, INF), clicked

    def _messages(self, cust, inv, channel, template, sent):
        """Emits messages that do not depend on the invoice being unpaid; returns responses."""
        n = np.size(sent)
        cust = np.asarray(cust)
        ch = np.full(n, channel)
        opened, clicked, action, via = self._respond(ch, sent, cust)
        self._emit_messages(
            Cols(cust=cust, inv=np.broadcast_to(inv, n).copy(), channel=ch,
                 template=np.full(n, template), sent=sent, opened=opened, clicked=clicked)
        )  # fmt: skip
        return opened, clicked, action, via

    def _emit_messages(self, msg: Cols) -> None:
        t1 = self.w.t1
        sent_ok = msg.sent < t1
        msg = msg.take(sent_ok)
        opened = np.where(msg.opened < t1, msg.opened, -1)
        clicked = np.where((msg.clicked < t1) & (opened >= 0), msg.clicked, -1)
        self.rows.add(
            "dunning_messages", customer_id=msg.cust, invoice_id=msg.inv, channel=msg.channel,
            template=msg.template, sent_at=msg.sent, opened_at=opened, clicked_at=clicked,
            updated_at=np.maximum(msg.sent, np.maximum(opened, clicked)),
        )  # fmt: skip

    def _customer_payments(self, buf, b, f, act: Cols, first_code, stale_f) -> Cols:
        """A customer reacting to a notice: pays with the same method, or (after a hard decline,
        an expired card, or by choice) updates the method first. Returns the updates, which are
        emitted once the invoice's payment time is known."""
        r = self.rng
        k = act.row.size
        pos = np.searchsorted(f, act.row)  # index into f
        code0 = first_code[pos]
        cls = cat.CODE_CLASS[code0]
        needs = (cls == cat.HARD) | (cls == cat.FRAUD) | stale_f[pos] | (r.random(k) < 0.2)
        # Path 1: same method.
        same = np.flatnonzero(~needs)
        bb = b.take(act.row[same])
        t_same = act.action[same]
        p_fail = np.where(code0[same] == _INSUFFICIENT, 0.45, 0.3)
        codes = np.where(
            r.random(same.size) < 0.7,
            code0[same],
            r.choice(len(cat.DECLINE_CODES), same.size, p=cat.SOFT_MIX),
        )
        failed, got = self._decide(t_same, bb.method, bb.cc, bb.proc, p_fail, codes)
        tds_cust = r.random(same.size) < np.where(cat.IS_SCA[np.maximum(bb.cc, 0)], 0.85, 0.4)
        self._buffer_attempts(
            buf, b, act.row[same], t_same, failed, got, cat.CUSTOMER, tds_cust, True
        )
        # Path 2: update first (or after a failed try with the same method).
        second = same[failed & (r.random(same.size) < 0.5)]
        t_upd = np.concatenate([
            act.action[needs] - r.integers(60, 300, needs.sum()),
            act.action[second] + r.integers(120, 900, second.size),
        ])  # fmt: skip
        rows = np.concatenate([act.row[needs], act.row[second]])
        via = np.concatenate([act.via_click[needs], act.via_click[second]])
        t_pay = np.concatenate([act.action[needs], t_upd[needs.sum() :] + 60])
        ub = b.take(rows)
        country = self.c.country[ub.cust]
        method = r.choice(4, rows.size, p=[0.7, 0.12, 0.06, 0.12])
        method = np.where((method == cat.SEPA) & ~cat.IS_EURO[country], cat.CARD, method)
        method = np.where((method == ub.method) & (method != cat.CARD), cat.CARD, method)
        pay = self._payment_setup(method, country, t_upd)
        pay["exp"] = np.where(pay.card >= 0, month_index(t_upd) + r.integers(12, 61, rows.size), -1)
        p_fail2 = np.where(method == cat.BANK, 0.0, 0.07)
        codes2 = self._other_codes(ub, t_pay, method)
        failed2, got2 = self._decide(t_pay, method, pay.cc, pay.proc, p_fail2, codes2)
        tds2 = r.random(rows.size) < np.where(cat.IS_SCA[np.maximum(pay.cc, 0)], 0.85, 0.4)
        self._buffer_attempts(buf, b, rows, t_pay, failed2, got2, cat.CUSTOMER, tds2, True, pay=pay)
        return Cols(
            row=rows, t=t_upd, cust=ub.cust, previous=ub.method, new=method,
            reason=np.where(via, 3, 2), **{n_: pay[n_] for n_ in ("method", "brand", "cc", "bin", "card", "exp", "proc")},
        )  # fmt: skip

    # --- rows of payment attempts and method updates ------------------------------------------
    def _emit_updates(self, upd: Cols) -> None:
        self.rows.add(
            "payment_method_updates", customer_id=upd.cust, occurred_at=upd.t,
            previous_method=upd.previous, new_method=upd.new, reason=upd.reason, updated_at=upd.t,
        )  # fmt: skip

    def _buffer_attempts(self, buf, b, rows, t, failed, code, trigger, tds, client, pay=None):
        bb = b.take(rows) if pay is None else pay
        n = rows.size
        cust = b.cust[rows]
        cardish = (bb.method == cat.CARD) | (bb.method == cat.WALLET)
        expires = (bb.method == cat.CARD) & (bb.exp >= 0)
        buf.add(
            "a", row=rows, invoice_id=b.inv[rows], customer_id=cust, attempted_at=t,
            amount=b.amount[rows], currency=b.currency[rows], payment_method=bb.method,
            card_brand=np.where(cardish, bb.brand, -1), card_country=np.where(cardish, bb.cc, -1),
            card_bin=np.where(cardish, bb.bin, -1), card_fingerprint=np.where(cardish, bb.card, -1),
            # `exp`: the card's last valid month (months since 1970-01), which drives the expiry
            # notices and declines. Only cards expire in the simulation (a wallet's token is
            # renewed by its provider), so only cards carry it.
            card_exp_month=np.where(expires, bb.exp % 12 + 1, -1),
            card_exp_year=np.where(expires, 1970 + bb.exp // 12, -1),
            processor=bb.proc, outcome=failed.astype(np.int8), decline_code=np.where(failed, code, -1),
            trigger=np.full(n, trigger), used_3ds=np.where(cardish, tds, -1).astype(np.int8),
            ip_address=self.c.ip[cust] if client else np.full(n, -1),
            device_id=cust if client else np.full(n, -1), plan=b.plan[rows],
        )  # fmt: skip

    def _flush_attempts(self, buf: Rows) -> None:
        self._flush_attempts_cols(buf.columns("a"))

    def _flush_attempts_cols(self, cols: dict) -> None:
        if cols:
            cols = {k: v for k, v in cols.items() if k != "row"}
            self.attempts.add("a", **cols)

    # --- invoices paid by bank transfer ------------------------------------------------------
    def _bank_dunning(self, b: Cols) -> Cols:
        r, c = self.rng, self.c
        n = b.inv.size
        cust = b.cust
        risk, tz = c.risk[cust], c.tz[cust]
        p_never = np.clip(0.03 * risk, 0, 0.4)
        u = r.random(n)
        early = u >= p_never + 0.2
        late = (u >= p_never) & ~early
        natural = np.where(
            early,
            b.issued + ((b.due - b.issued) * r.beta(3.0, 1.5, n)).astype(np.int64),
            np.where(late, b.due + _lognormal(r, 4 * DAY, 0.8, n), INF),
        )
        natural = business_hours(natural, tz, r)
        de = b.due + (DUNNING_DAYS + 1) * DAY
        natural = np.where(natural > de, INF, natural)
        company = c.company[cust]
        idx = np.arange(n)
        slots = (
            (PRE_DUE, cat.EMAIL, b.due - 3 * DAY + r.integers(0, 2 * HOUR, n), b.due - b.issued > 4 * DAY),
            (OVERDUE, cat.EMAIL, b.due + DAY + r.integers(HOUR, 3 * HOUR, n), np.ones(n, bool)),
            (OVERDUE, cat.SMS, b.due + DAY + r.integers(HOUR, 4 * HOUR, n), r.random(n) < 0.3),
            (FINAL_NOTICE, cat.EMAIL, b.due + 8 * DAY + r.integers(HOUR, 5 * HOUR, n), np.ones(n, bool)),
            (COLLECTION_CALL, cat.PHONE, business_hours(b.due + 10 * DAY, tz, r), r.random(n) < np.where(company, 0.7, 0.1)),
        )  # fmt: skip
        msg = self._notices(b, idx, slots)
        act = msg.action < de[msg.row]
        acted = _min_at(n, msg.row[act], business_hours(msg.action[act], tz[msg.row[act]], r))
        paid = np.minimum(natural, acted)
        self._emit_messages(msg.take(msg.sent < paid[msg.row]))
        got = np.flatnonzero(paid < INF)
        buf = Rows()
        self._buffer_attempts(
            buf,
            b,
            got,
            paid[got],
            np.zeros(got.size, bool),
            -1,
            cat.CUSTOMER,
            np.zeros(got.size, bool),
            False,
        )
        self._flush_attempts(buf)
        past_due = paid > b.due + DAY
        return Cols(
            paid=paid,
            first_fail=np.where(past_due, b.due + DAY, INF),
            dunning_end=np.where(paid == INF, de, INF),
        )

    # --- after dunning: plans, cancellation, collections, legal, write-off --------------------
    def _after_dunning(self, b: Cols) -> Cols:
        r, c = self.rng, self.c
        n = b.inv.size
        cust = b.cust
        risk, tz, company = c.risk[cust], c.tz[cust], c.company[cust]
        de = b.dunning_end
        eur = b.amount / 100 * cat.EUR_PER_UNIT[b.currency]
        offer = (eur >= 20) & (r.random(n) < np.where(company, 0.55, 0.3))
        o = np.flatnonzero(offer)
        opened, _, _, _ = self._messages(
            cust[o], b.inv[o], cat.EMAIL, PLAN_OFFER, de[o] + r.integers(HOUR, DAY, o.size)
        )
        accept = np.zeros(n, bool)
        accept[o] = (opened < INF) & (r.random(o.size) < 0.55)
        agreed = np.full(n, INF, np.int64)
        agreed[o] = np.where(accept[o], opened + r.integers(30 * MINUTE, 2 * DAY, o.size), INF)
        # Without a plan: the subscription is cancelled (or left unpaid); some pay late anyway.
        self_pay = ~accept & (r.random(n) < 0.2)
        pay_self = np.where(
            self_pay, business_hours(de + _lognormal(r, 8 * DAY, 0.7, n), tz, r), INF
        )
        stop_at = np.where(accept, INF, de + r.integers(0, DAY, n))
        unpaid = r.random(n) < 0.3
        stop_kind = np.where(accept, -1, np.where(unpaid, UNPAID_STOP, NON_PAYMENT))

        plan = self._plans(b, np.flatnonzero(accept), agreed, risk)
        # Broken or cancelled plans: the subscription goes, the debt goes to collections.
        failed_plan = plan.failed_at < INF
        stop_at = np.where(failed_plan, plan.failed_at + r.integers(0, 2 * DAY, n), stop_at)
        stop_kind = np.where(failed_plan, NON_PAYMENT, stop_kind)
        escalate = (~accept & ~self_pay) | failed_plan
        start = np.where(
            failed_plan,
            plan.failed_at + r.integers(3, 11, n) * DAY,
            de + r.integers(16, 31, n) * DAY,
        )
        coll = self._escalations(b, np.flatnonzero(escalate), start, eur, risk, company)
        paid = np.minimum(np.minimum(pay_self, plan.completed), coll.paid)
        # Late self-payments and collections payments settle what is left.
        for trigger, times in ((cat.CUSTOMER, pay_self), (cat.COLLECTIONS, coll.paid)):
            rows = np.flatnonzero((times < INF) & (times == paid))
            remaining = b.amount[rows] - plan.paid_amount[rows]
            bb = b.take(rows)
            bb["amount"] = remaining
            bb["method"] = np.full(rows.size, cat.BANK)
            bb["proc"] = r.choice(4, rows.size, p=cat.BANK_ROUTING)
            buf = Rows()
            self._buffer_attempts(
                buf,
                bb,
                np.arange(rows.size),
                times[rows],
                np.zeros(rows.size, bool),
                -1,
                trigger,
                np.zeros(rows.size, bool),
                False,
            )
            self._flush_attempts(buf)
        # An unpaid subscription is cancelled once its debt is settled or written off.
        unpaid_end = np.where(stop_kind == UNPAID_STOP, np.minimum(paid, coll.written_off), INF)
        written_off = np.where(paid < INF, INF, coll.written_off)
        return Cols(
            paid=paid, stop_at=stop_at, stop_kind=stop_kind, unpaid_end=unpaid_end,
            agreed=agreed, partial=plan.partial, partial_at=plan.partial_at,
            written_off=written_off,
        )  # fmt: skip

    def _plans(self, b: Cols, a: np.ndarray, agreed: np.ndarray, risk: np.ndarray) -> Cols:
        """Instalment plans and extensions; some complete, some break (an instalment missed by
        more than 7 days), a few are called off."""
        r, w = self.rng, self.w
        n = b.inv.size
        out = Cols(
            failed_at=np.full(n, INF, np.int64), completed=np.full(n, INF, np.int64),
            paid_amount=np.zeros(n, np.int64), partial=np.zeros(n, np.int64),
            partial_at=np.full(n, -1, np.int64),
        )  # fmt: skip
        k = a.size
        if k == 0:
            return out
        pid = self._next("payment_plans", k)
        ag = agreed[a]
        extension = r.random(k) < 0.35
        count = np.where(extension, 1, r.choice([2, 3, 4, 6], k, p=[0.35, 0.3, 0.2, 0.15]))
        gap = np.where(extension, r.choice([14, 30], k), np.where(count == 2, 14, 30)) * DAY
        amount = b.amount[a]
        base = amount // count
        reliability = np.clip(0.95 - 0.12 * (risk[a] - 1), 0.6, 0.98)
        cancelled_at = np.where(r.random(k) < 0.03, ag + r.integers(5, 21, k) * DAY, INF)
        broken_at = np.full(k, INF, np.int64)
        last_paid = np.full(k, -1, np.int64)
        paid_sum = np.zeros(k, np.int64)
        partial = np.zeros(k, np.int64)
        partial_at = np.full(k, -1, np.int64)
        alive = np.ones(k, bool)
        bb = b.take(a)
        for i in range(1, 7):
            rows = np.flatnonzero(count >= i)
            if rows.size == 0:
                break
            due = ag[rows] + i * gap[rows]
            amt = np.where(
                i == count[rows], amount[rows] - base[rows] * (count[rows] - 1), base[rows]
            )
            iid = self._next("payment_plan_instalments", rows.size)
            self.rows.add(
                "payment_plan_instalments", instalment_id=iid,
                payment_plan_id=pid[rows], sequence=i, due_at=due, amount=amt,
                currency=b.currency[a[rows]], paid_at=-1, updated_at=ag[rows],
            )  # fmt: skip
            u = r.random(rows.size)
            on_time = u < reliability[rows]
            late = ~on_time & (u < reliability[rows] + (1 - reliability[rows]) / 2)
            pay_t = np.where(
                on_time,
                np.maximum(due - r.integers(0, 2 * DAY, rows.size), ag[rows] + HOUR),
                due + r.integers(DAY, 7 * DAY, rows.size),
            )
            live = alive[rows] & (due < cancelled_at[rows])
            pays = live & (on_time | late)
            missed = live & ~pays
            broken_at[rows[missed]] = due[missed] + 7 * DAY + r.integers(HOUR, DAY, missed.sum())
            alive[rows[missed]] = False
            alive[rows[~live]] = False
            p = np.flatnonzero(pays)
            self.rows.add(
                "payment_plan_instalments", instalment_id=iid[p],
                payment_plan_id=pid[rows[p]], sequence=i, due_at=due[p], amount=amt[p],
                currency=b.currency[a[rows[p]]], paid_at=pay_t[p], updated_at=pay_t[p],
            )  # fmt: skip
            buf = Rows()
            pb = bb.take(rows[p])
            pb["amount"] = amt[p]
            self._buffer_attempts(
                buf,
                pb,
                np.arange(p.size),
                pay_t[p],
                np.zeros(p.size, bool),
                -1,
                cat.PLAN,
                np.zeros(p.size, bool),
                False,
            )
            # A missed instalment on a debited method shows as a declined collection.
            debit = np.flatnonzero(missed & (bb.method[rows] != cat.BANK))
            mb = bb.take(rows[debit])
            mb["amount"] = amt[debit]
            k_ = debit.size
            self._buffer_attempts(
                buf, mb, np.arange(k_), due[debit] + HOUR, np.ones(k_, bool), _INSUFFICIENT,
                cat.PLAN, np.zeros(k_, bool), False,
            )  # fmt: skip
            self._flush_attempts(buf)
            before_end = pay_t[p] < w.t1
            paid_sum[rows[p]] += amt[p]
            partial[rows[p[before_end]]] += amt[p[before_end]]
            partial_at[rows[p[before_end]]] = pay_t[p[before_end]]
            last_paid[rows[p]] = pay_t[p]
        complete = alive & (paid_sum == amount)
        failed_at = np.minimum(broken_at, cancelled_at)
        # Plan versions: active when agreed, then completed / broken / cancelled.
        status_end = np.where(complete, 1, np.where(broken_at < cancelled_at, 2, 3))
        end_t = np.where(complete, last_paid, failed_at)
        plan_cols = dict(
            payment_plan_id=pid, customer_id=b.cust[a], invoice_id=b.inv[a],
            kind=extension.astype(np.int64), agreed_at=ag, total_amount=amount,
            currency=b.currency[a], instalment_count=count,
        )  # fmt: skip
        self.rows.add("payment_plans", **plan_cols, status=0, updated_at=ag)
        ended = end_t < INF
        self.rows.add(
            "payment_plans", **{k_: v[ended] for k_, v in plan_cols.items()},
            status=status_end[ended], updated_at=end_t[ended],
        )  # fmt: skip
        out.failed_at[a] = failed_at
        out.completed[a] = np.where(complete, last_paid, INF)
        out.paid_amount[a] = np.where(complete, 0, paid_sum)
        out.partial[a] = partial
        out.partial_at[a] = partial_at
        return out

    def _escalations(self, b, e, start, eur, risk, company) -> Cols:
        """Collections agency (some recover), then legal action for larger debts (some recover),
        else write-off; small consumer debts are written off without an agency."""
        r = self.rng
        n = b.inv.size
        out = Cols(paid=np.full(n, INF, np.int64), written_off=np.full(n, INF, np.int64))
        k = e.size
        if k == 0:
            return out
        st = start[e]
        cust = b.cust[e]
        direct = (eur[e] < 25) & ~company[e] & (r.random(k) < 0.5)
        agency = ~direct
        ag = np.flatnonzero(agency)
        self._escalation_rows(
            b.inv[e[ag]], cust[ag], st[ag], 0, r.integers(0, len(cat.AGENCIES), ag.size)
        )
        self._messages(
            cust[ag],
            b.inv[e[ag]],
            cat.EMAIL,
            COLLECTIONS_NOTICE,
            st[ag] + r.integers(HOUR, DAY, ag.size),
        )
        recovered = agency & (r.random(k) < 0.3 / risk[e] ** 0.3)
        pay_c = st + _lognormal(r, 21 * DAY, 0.6, k)
        recovered &= pay_c < st + 75 * DAY
        legal = agency & ~recovered & (company[e] | (eur[e] >= 150)) & (r.random(k) < 0.6)
        legal_t = st + r.integers(60, 91, k) * DAY
        lg = np.flatnonzero(legal)
        self._escalation_rows(
            b.inv[e[lg]],
            cust[lg],
            legal_t[lg],
            1,
            len(cat.AGENCIES) + r.integers(0, len(cat.LAW_FIRMS), lg.size),
        )
        won = legal & (r.random(k) < 0.25)
        pay_l = legal_t + _lognormal(r, 45 * DAY, 0.5, k)
        won &= pay_l < legal_t + 150 * DAY
        paid = np.where(recovered, pay_c, np.where(won, pay_l, INF))
        wo = np.where(
            direct, st + r.integers(30, 61, k) * DAY,
            np.where(legal, legal_t + r.integers(120, 181, k) * DAY, st + r.integers(75, 121, k) * DAY),
        )  # fmt: skip
        wo = np.where(paid < INF, INF, wo)
        w_rows = np.flatnonzero(wo < INF)
        self._escalation_rows(b.inv[e[w_rows]], cust[w_rows], wo[w_rows], 2, -1)
        out.paid[e] = business_hours(paid, self.c.tz[cust], r)
        out.written_off[e] = wo
        return out

    def _escalation_rows(self, inv, cust, t, stage, agency) -> None:
        self.rows.add(
            "escalations", invoice_id=inv, customer_id=cust, escalated_at=t, stage=stage,
            agency=np.broadcast_to(agency, np.size(t)), updated_at=t,
        )  # fmt: skip

    def _next(self, entity: str, k: int) -> np.ndarray:
        """Fresh local indices for a versioned entity."""
        start = self._counters.get(entity, 0)
        self._counters[entity] = start + k
        return start + np.arange(k)

    # --- subscriptions' history ---------------------------------------------------------------
    def _subscription_versions(self) -> None:
        s, w = self.s, self.w
        k = len(s.owner)
        idx = np.arange(k)
        ev = self.sub_events.columns("e")
        sub = [idx, ev.get("sub", np.zeros(0, np.int64))]
        t = [s.started, ev.get("t", np.zeros(0, np.int64))]
        status = [
            np.where(s.trial, cat.TRIALING, cat.ACTIVE),
            ev.get("status", np.zeros(0, np.int64)),
        ]
        reason = [np.full(k, -1), np.full(sub[1].size, -1)]
        # The stop: cancelled (with its reason) or unpaid, then cancelled once settled.
        stopped = np.flatnonzero(s.stop_at < INF)
        kind = s.stop_kind[stopped]
        is_unpaid = kind == UNPAID_STOP
        sub.append(stopped)
        t.append(s.stop_at[stopped])
        status.append(np.where(is_unpaid, cat.UNPAID, cat.CANCELED))
        reason.append(np.where(is_unpaid, -1, kind))
        later = stopped[is_unpaid & (s.unpaid_end[stopped] < INF)]
        sub.append(later)
        t.append(s.unpaid_end[later])
        status.append(np.full(later.size, cat.CANCELED))
        reason.append(np.full(later.size, NON_PAYMENT))
        sub, t, status, reason = (np.concatenate(x) for x in (sub, t, status, reason))
        # Nothing but the stop itself after the stop; nothing after the end date.
        stop = s.stop_at[sub]
        terminal = (status == cat.CANCELED) | (status == cat.UNPAID)
        ok = (t < w.t1) & ((t < stop) | terminal)
        sub, t, status, reason = sub[ok], t[ok], status[ok], reason[ok]
        order = np.lexsort((t, sub))
        sub, t, status, reason = sub[order], t[order], status[order], reason[order]
        # A version only when the state changes.
        change = np.r_[True, (sub[1:] != sub[:-1]) | (status[1:] != status[:-1])]
        sub, t, status, reason = sub[change], t[change], status[change], reason[change]
        canceled = status == cat.CANCELED
        self.rows.add(
            "subscriptions", subscription_id=sub, customer_id=s.owner[sub], plan=s.plan[sub],
            billing_interval=(s.interval[sub] == 12).astype(np.int64), amount=s.amount[sub],
            currency=s.currency[sub], status=status, started_at=s.started[sub],
            canceled_at=np.where(canceled, t, -1), cancel_reason=np.where(canceled, reason, -1),
            updated_at=t,
        )  # fmt: skip

    # --- attempts: cut at the end date and numbered per invoice ------------------------------
    def _number_attempts(self) -> dict:
        att = self.attempts.columns("a")
        if not att:
            self._counters["payment_attempts"] = 0
            return att
        keep = att["attempted_at"] < self.w.t1
        att = {k: v[keep] for k, v in att.items()}
        inv, t = att["invoice_id"], att["attempted_at"]
        order = np.lexsort((t, inv))
        inv_sorted = inv[order]
        starts = np.r_[True, inv_sorted[1:] != inv_sorted[:-1]]
        group_start = np.maximum.accumulate(np.where(starts, np.arange(inv.size), 0))
        number = np.empty(inv.size, np.int64)
        number[order] = np.arange(inv.size) - group_start + 1
        att["attempt_number"] = np.where(inv >= 0, number, -1)
        # Ids follow time, as a processor's would.
        by_time = np.argsort(t, kind="stable")
        att = {k: v[by_time] for k, v in att.items()}
        att["attempt_id"] = np.arange(inv.size)
        self._counters["payment_attempts"] = inv.size
        att["updated_at"] = att["attempted_at"]
        self.rows.add("payment_attempts", **{k: v for k, v in att.items() if k != "plan"})
        return att

    # --- disputes and refunds ----------------------------------------------------------------
    def _disputes_and_refunds(self, att: dict) -> None:
        if not att:
            return
        r, c = self.rng, self.c
        method = att["payment_method"]
        ok = (
            (att["outcome"] == 0) & (att["invoice_id"] >= 0) & (att["amount"] > 0)
            & (method != cat.BANK)
        )  # fmt: skip
        p = np.flatnonzero(ok)
        cust = att["customer_id"][p]
        paid_t = att["attempted_at"][p]
        tds = att["used_3ds"][p] == 1
        sepa = method[p] == cat.SEPA
        fraudster = c.fraudster[cust]
        base = (
            0.0022
            * cat.VERIFICATION_DISPUTE[c.verification[cust]]
            * cat.PLAN_DISPUTE_MULT[att["plan"][p]]
        )
        p_fraud = np.where(sepa, 0.0, base * 0.3 * np.where(tds, 0.25, 1.0))
        # Stolen cards rarely get through 3-D Secure: the liability shift protects those payments.
        p_fraud = np.where(fraudster, np.where(tds, 0.02, 0.6), p_fraud)
        p_other = np.where(sepa, base * 0.35, base * 0.7)
        u = r.random(p.size)
        fraud_cb = u < p_fraud
        other_cb = ~fraud_cb & (u < p_fraud + p_other)
        reason = np.where(
            fraud_cb,
            0,
            np.where(
                sepa, 7, r.choice(len(cat.DISPUTE_REASONS), p.size, p=cat.NON_FRAUD_REASON_WEIGHTS)
            ),
        )
        cb = np.flatnonzero(fraud_cb | other_cb)
        opened = paid_t[cb] + np.minimum(_lognormal(r, 20 * DAY, 0.6, cb.size), 110 * DAY)
        full = r.random(cb.size) < 0.9
        amount = att["amount"][p[cb]]
        amount = np.where(
            full, amount, np.maximum(amount * r.uniform(0.2, 0.9, cb.size), 1).astype(np.int64)
        )
        self._chargebacks(att, p[cb], opened, amount, reason[cb], tds[cb])

        # Issuer fraud reports (TC40/SAFE): no money moves; merchants often refund at once.
        p_report = np.where(sepa, 0.0, base * 0.35 * np.where(tds, 0.25, 1.0))
        p_report = np.where(fraudster, np.where(tds, 0.02, 0.5), p_report)
        fr = np.flatnonzero(r.random(p.size) < p_report)
        rep_opened = paid_t[fr] + r.integers(1, 11, fr.size) * DAY
        self._dispute_rows(att, p[fr], att["amount"][p[fr]], 1, 0, rep_opened, 4, rep_opened)
        refund_fraud = fr[r.random(fr.size) < 0.4]
        t_rf = (
            paid_t[refund_fraud]
            + r.integers(1, 11, refund_fraud.size) * DAY
            + r.integers(HOUR, 2 * DAY, refund_fraud.size)
        )

        # Customer refunds: requested (often partial), duplicates, other.
        u = r.random(p.size)
        kind = np.select([u < 0.01, u < 0.0112, u < 0.0132], [0, 1, 3], -1)
        kind[refund_fraud] = -1  # one refund per payment
        rq = np.flatnonzero(kind >= 0)
        amt = att["amount"][p[rq]]
        partial = (kind[rq] == 0) & (r.random(rq.size) < 0.4)
        amt = np.where(
            partial, np.maximum(amt * r.uniform(0.2, 0.8, rq.size), 1).astype(np.int64), amt
        )
        t_rq = paid_t[rq] + np.minimum(_lognormal(r, 3 * DAY, 0.8, rq.size), 60 * DAY)
        self._refund_rows(
            att, np.concatenate([p[rq], p[refund_fraud]]),
            np.concatenate([amt, att["amount"][p[refund_fraud]]]),
            np.concatenate([kind[rq], np.full(refund_fraud.size, 2)]), np.concatenate([t_rq, t_rf]),
        )  # fmt: skip
        self._dispute_spike(att, p, cb)

    def _chargebacks(self, att, a, opened, amount, reason, tds) -> None:
        """needs_response → under_review → won/lost (or lost unanswered, or closed as an
        inquiry), one version per state reached by the end date."""
        r = self.rng
        k = a.size
        u = r.random(k)
        accepted = u < 0.15  # not contested: lost at the response deadline
        inquiry = ~accepted & (u < 0.2)
        review_t = opened + r.integers(3, 10, k) * DAY
        decided = opened + r.integers(30, 76, k) * DAY
        p_win = np.where(reason == 0, np.where(tds, 0.85, 0.15), np.where(reason == 1, 0.55, 0.4))
        won = r.random(k) < p_win
        final = np.where(accepted, 3, np.where(inquiry, 4, np.where(won, 2, 3)))
        closed = np.where(
            accepted,
            opened + 10 * DAY,
            np.where(inquiry, opened + r.integers(5, 21, k) * DAY, decided),
        )
        self._dispute_rows(
            att, a, amount, 0, reason, opened, final, closed, review_t, ~accepted & ~inquiry
        )

    def _dispute_rows(
        self, att, a, amount, kind, reason, opened, final, closed, review=None, reviewed=None
    ):
        t1 = self.w.t1
        k = a.size
        did = self._next("disputes", k)
        reason = np.broadcast_to(reason, k)
        cols = dict(
            dispute_id=did, attempt_id=att["attempt_id"][a], customer_id=att["customer_id"][a],
            amount=amount, currency=att["currency"][a], kind=np.full(k, kind), reason=reason,
            opened_at=opened,
        )  # fmt: skip

        def add(rows, status, t, closed_at):
            rows = rows & (t < t1)
            self.rows.add(
                "disputes", **{k_: v[rows] for k_, v in cols.items()},
                status=np.broadcast_to(status, k)[rows], closed_at=np.broadcast_to(closed_at, k)[rows],
                updated_at=t[rows],
            )  # fmt: skip

        everyone = np.ones(k, bool)
        if kind == 1:  # fraud reports: recorded closed
            add(everyone, final, closed, closed)
            return
        add(everyone, 0, opened, -1)
        add(reviewed & (review < closed), 1, review, -1)
        add(everyone, final, closed, closed)

    def _refund_rows(self, att, a, amount, reason, t) -> None:
        r, t1 = self.rng, self.w.t1
        k = a.size
        rid = self._next("refunds", k)
        done = t + r.integers(HOUR, 5 * DAY, k)
        final = np.where(r.random(k) < 0.97, 1, 2)
        cols = dict(
            refund_id=rid, attempt_id=att["attempt_id"][a], customer_id=att["customer_id"][a],
            amount=amount, currency=att["currency"][a], refunded_at=t, reason=reason,
        )  # fmt: skip
        first = t < t1
        self.rows.add(
            "refunds", **{k_: v[first] for k_, v in cols.items()}, status=0, updated_at=t[first]
        )
        second = done < t1
        self.rows.add(
            "refunds", **{k_: v[second] for k_, v in cols.items()}, status=final[second],
            updated_at=done[second],
        )  # fmt: skip

    def _dispute_spike(self, att, p, cb) -> None:
        """Incident: a wave of chargebacks (fraud and 'unrecognized') for a few days, on earlier
        card payments, several times the usual daily count."""
        inc = self.w.incidents.by_kind("dispute_spike")
        if inc is None:
            return
        r = self.w.incidents.rng
        paid_t = att["attempted_at"][p]
        method = att["payment_method"][p]
        opened_before = att["attempted_at"][p[cb]]  # approximate base rate from chargebacks
        days = (inc.end - inc.start) / DAY
        recent = ((opened_before >= inc.start - 90 * DAY) & (opened_before < inc.start)).sum()
        per_day = max(recent / 90.0, 0.5)
        extra = r.poisson(per_day * days * (inc.details["multiplier"] - 1))
        taken = np.zeros(p.size, bool)
        taken[cb] = True
        pool = np.flatnonzero(
            ~taken & (paid_t >= inc.start - 90 * DAY) & (paid_t < inc.start)
            & ((method == cat.CARD) | (method == cat.WALLET))
        )  # fmt: skip
        chosen = r.choice(pool, min(extra, pool.size), replace=False) if pool.size else pool
        chosen.sort()
        opened = inc.start + (r.random(chosen.size) * (inc.end - inc.start)).astype(np.int64)
        reason = np.where(r.random(chosen.size) < 0.7, 0, 3)
        self._chargebacks(
            att,
            p[chosen],
            opened,
            att["amount"][p[chosen]],
            reason,
            att["used_3ds"][p[chosen]] == 1,
        )
        self.spike_disputes = chosen.size


class CardTesting(Chunk):
    """Incident: a throw-away account checks hundreds of stolen card numbers with tiny
    authorisations from one device and IP address within minutes; most are declined."""

    def __init__(self, world: World, rng: np.random.Generator, offset: int, incident):
        super().__init__(world, rng, 1, offset)
        self.inc = incident

    def run(self) -> tuple[dict[str, dict], dict[str, int]]:
        r, inc = self.rng, self.inc
        created = inc.start - int(r.integers(5, 60)) * MINUTE
        us = cat.COUNTRIES.index("US")
        ip = (int(r.choice(_FIRST_OCTETS[1])) << 24) | int(r.integers(0, 2**24))
        self.c = Cols(
            country=np.array([us]), created=np.array([created]), ip=np.array([ip]),
            tz=np.array([-5]),
        )  # fmt: skip
        letters = "abcdefghijklmnopqrstuvwxyz0123456789"
        handle = "".join(letters[i] for i in r.integers(0, len(letters), 10))
        self.emails = pa.array([f"{handle}@mailbox-temp.net"])
        self.names = pa.array([handle[:5].title() + " " + handle[5:].title()])
        self._customer_rows(np.array([0]), np.array([1]), np.array([created]))
        k = int(inc.details["attempts"])
        t = np.sort(inc.start + (r.random(k) * (inc.end - inc.start)).astype(np.int64))
        cc = r.choice(len(cat.COUNTRIES), k, p=cat.COUNTRY_WEIGHTS)
        brand = r.choice(len(cat.BRANDS), k, p=[0.6, 0.33, 0.07, 0, 0, 0])
        card = np.arange(k)
        repeat = r.random(k) < 0.06  # a few numbers are tried twice
        card = np.where(repeat & (card > 0), card - 1, card)
        self.n_cards = k
        b = Cols(
            inv=np.full(k, -1), cust=np.zeros(k, np.int64),
            amount=r.choice([50, 100, 150, 200], k), currency=np.full(k, cat.CURRENCIES.index("USD")),
            plan=np.full(k, -1), method=np.full(k, cat.CARD), brand=brand, cc=cc,
            bin=self.w.bins[brand, cc, r.integers(0, cat.BINS_PER_SEGMENT, k)], card=card,
            exp=np.full(k, -1),  # the simulation draws no expiry for tested numbers: left null
            proc=np.zeros(k, np.int64),
        )  # fmt: skip
        failed = r.random(k) < 0.88
        code = r.choice(len(cat.DECLINE_CODES), k, p=cat.CARD_TESTING_MIX)
        buf = Rows()
        self._buffer_attempts(
            buf, b, np.arange(k), t, failed, code, cat.VERIFICATION_TRIGGER, np.zeros(k, bool), True
        )
        self._flush_attempts(buf)
        self.s = Cols(owner=np.zeros(0, np.int64))
        self._number_attempts()
        return self.tables()
