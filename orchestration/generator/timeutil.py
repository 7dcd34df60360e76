"""Calendar arithmetic on epoch seconds, vectorised (billing anchors, seasonality, months)."""

from __future__ import annotations

import numpy as np

MINUTE = 60
HOUR = 3_600
DAY = 86_400
INF = np.int64(2**62)  # "never happens"; always filtered out before writing


def month_index(t: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each (finite) time."""
    days = (np.asarray(t, np.int64) // DAY).astype("datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64)


def month_start(month: np.ndarray) -> np.ndarray:
    """Epoch seconds of the first instant of each month index."""
    m = np.asarray(month, np.int64).astype("datetime64[M]")
    return m.astype("datetime64[D]").astype(np.int64) * DAY


def day_of_month(t: np.ndarray) -> np.ndarray:
    return (np.asarray(t, np.int64) - month_start(month_index(t))) // DAY + 1


def hour_of_day(t: np.ndarray) -> np.ndarray:
    return (np.asarray(t, np.int64) // HOUR) % 24


def weekday(t: np.ndarray) -> np.ndarray:
    """Monday 0 ... Sunday 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(t, np.int64) // DAY + 3) % 7


def bill_time(anchor_month, anchor_day, time_of_day, k, interval_months) -> np.ndarray:
    """The k-th billing time after an anchor: same day of month (clipped to the month's length,
    as billing systems do for the 31st) and same time of day."""
    m = np.asarray(anchor_month, np.int64) + np.asarray(k, np.int64) * interval_months
    start = month_start(m)
    days_in_month = (month_start(m + 1) - start) // DAY
    return start + (np.minimum(anchor_day, days_in_month) - 1) * DAY + time_of_day


def add_months(t: np.ndarray, months: int) -> np.ndarray:
    t = np.asarray(t, np.int64)
    m = month_index(t)
    return bill_time(m, day_of_month(t), t % DAY, months, 1)


def waking(t: np.ndarray, utc_offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moves times that fall in the customer's night (00:00–07:00 local) to the morning:
    people read messages and pay when awake."""
    t = np.asarray(t, np.int64)
    local_hour = (t // HOUR + utc_offset) % 24
    night = (local_hour < 7) & (t < INF)
    shift = (7 - local_hour) * HOUR - (t % HOUR) + rng.integers(0, 2 * HOUR, t.size)
    return np.where(night, t + shift, t)


def business_hours(t: np.ndarray, utc_offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moves times to a weekday between 09:00 and 17:00 local (bank transfers, phone calls)."""
    t = np.asarray(t, np.int64)
    finite = t < INF
    local = t + utc_offset * HOUR
    day = local // DAY
    wd = (day + 3) % 7
    day = day + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    hour = (local // HOUR) % 24
    moved_day = np.where(hour >= 17, day + 1, day)
    wd2 = (moved_day + 3) % 7
    moved_day = moved_day + np.where(wd2 == 5, 2, np.where(wd2 == 6, 1, 0))
    inside = (hour >= 9) & (hour < 17) & (moved_day == local // DAY)
    new_local = np.where(
        inside, local, moved_day * DAY + 9 * HOUR + rng.integers(0, 8 * HOUR, t.size)
    )
    return np.where(finite, new_local - utc_offset * HOUR, t)


def iso(t: int) -> str:
    """'2026-03-01T09:15:00Z' for one epoch-seconds value."""
    return str(np.datetime64(int(t), "s")) + "Z"
