"""Money and time conversions every connector relies on."""

from datetime import datetime
from decimal import Decimal

import pytest

from orchestration.connectors.common import slug, to_decimal, to_utc


@pytest.mark.parametrize(
    ("value", "currency", "unit", "expected"),
    [
        (1999, "usd", "minor", "19.99"),
        (5000, "JPY", "minor", "5000.00"),  # zero-decimal: yen have no minor unit
        (1500, "krw", "minor", "1500.00"),
        ("4900", "EUR", "minor", "49.00"),
        ("10.00", "USD", "minor", "10.00"),  # written with a point: already major units
        (10.5, "USD", "minor", "10.50"),
        (2000.0, "USD", "minor", "20.00"),  # an integer read from a float column
        (12345, "KWD", "minor", "12.34"),  # three decimals, rounded half-even to the contract's 2
        ("9.95", "USD", "major", "9.95"),
        (995, "USD", "major", "995.00"),
        (Decimal("12.30"), "EUR", "minor", "12.30"),
    ],
)
def test_to_decimal(value, currency, unit, expected):
    assert to_decimal(value, currency, unit) == Decimal(expected)


@pytest.mark.parametrize("value", [None, "", "  ", "12,50", "n/a", True, float("nan")])
def test_to_decimal_unreadable_is_none(value):
    assert to_decimal(value, "EUR") is None


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (1767261600, {}, datetime(2026, 1, 1, 10, 0)),
        ("1767261600", {}, datetime(2026, 1, 1, 10, 0)),
        (1767261600000, {}, datetime(2026, 1, 1, 10, 0)),  # milliseconds
        ("2026-01-01T10:00:00Z", {}, datetime(2026, 1, 1, 10, 0)),
        ("2026-01-01 11:00:00+01:00", {}, datetime(2026, 1, 1, 10, 0)),
        ("2012-01-19 11:16:41 PST", {}, datetime(2012, 1, 19, 19, 16, 41)),
        ("2026-07-01 12:00", {"tz": "Europe/Paris"}, datetime(2026, 7, 1, 10, 0)),
        ("01/02/2026 10:00", {"fmt": "%d/%m/%Y %H:%M"}, datetime(2026, 2, 1, 10, 0)),
        (datetime(2026, 1, 1, 10, 0), {}, datetime(2026, 1, 1, 10, 0)),
    ],
)
def test_to_utc(value, kwargs, expected):
    assert to_utc(value, **kwargs) == expected


@pytest.mark.parametrize("value", [None, "", 0, "yesterday", "2026-13-40"])
def test_to_utc_unreadable_is_none(value):
    assert to_utc(value) is None


def test_slug_keeps_names_readable_and_safe():
    assert slug("Invoices 2026-03.csv") == "Invoices_2026-03.csv"
    assert slug("a--b/../c") == "a-b_.._c"
