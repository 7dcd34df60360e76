"""The Fraud & alerts page says what failure-rate monitoring could not judge (docs/alerting.md).

On the 300-customer sample no failure-rate window reaches the 20-attempt floor (measured: the
busiest day holds fewer), so the page must say so instead of showing quiet charts.
"""

import re

import duckdb

from tests.dashboards.conftest import pointed_at, run_page


def test_the_page_says_the_charted_windows_are_below_the_floor(published):
    with duckdb.connect(str(published.published_path), read_only=True) as con:
        busiest, status, note = con.execute(
            "select (select max(attempts) from marts.failure_rates_daily), "
            "evaluation_status, evaluation_note from marts.monitoring_status"
        ).fetchone()
    assert busiest < 20 and status == "not_evaluable"
    with pointed_at(published):
        at = run_page("app_pages/fraud_alerts.py")
    assert not at.exception
    notes = [i.value for i in at.info if "windows charted" in i.value]
    # The default chart (overall, by day): every window is too thin, none lacks only a baseline.
    assert len(notes) == 1 and re.fullmatch(
        r"Of the ([\d,]+) windows charted, \1 have fewer than 20 attempts, below what monitoring "
        r"can judge: none of them can raise an alert on its own\.",
        notes[0],
    ), notes
    assert note in [c.value for c in at.caption]
