"""Every page on sparse warehouses, each built by the real pipeline from a few hand-written
landing rows (tests/dashboards/sparse_shapes.py): no exception, an empty state that names the
missing feed, and at least one number per shape equal to what the landing files hold."""

import base64
import json
from datetime import date

import numpy as np
import pytest

from dashboards.components import check_verdict
from tests.dashboards.conftest import PAGES, pointed_at, run_page
from tests.dashboards.sparse_shapes import SHAPES


def texts(at) -> list[str]:
    return [e.value for kind in (at.info, at.warning, at.success) for e in kind]


def metric(at, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no KPI tile {label!r}; tiles: {[m.label for m in at.metric]}"
    return found[0]


def _array(value) -> np.ndarray:
    """A Plotly figure array: a plain list, or typed-array JSON (dtype + base64 bytes)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def observed_failures(at) -> dict[str, list[tuple[str, int, int]]]:
    """Per failure chart (its title): (window start, failures, attempts) of the observed line."""
    charts = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        for trace in spec["data"]:
            if trace.get("name") == "Observed failure rate":
                pairs = _array(trace["customdata"]).reshape(-1, 2)
                charts[title] = [
                    (str(x)[:10], int(f), int(a))
                    for x, (f, a) in zip(trace["x"], pairs, strict=True)
                ]
    return charts


LABELS = {"subscriptions": "subscriptions", "invoices": "invoices",
          "payment_attempts": "payment attempts", "disputes": "disputes"}  # fmt: skip


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_page_renders_and_names_what_is_missing(sparse_warehouses, name):
    shape, settings = SHAPES[name], sparse_warehouses(name)
    notes: dict[str, list[str]] = {}
    with pointed_at(settings):
        for _, title, page in PAGES:
            at = run_page(page)
            assert not at.exception, (shape.name, title, at.exception)
            assert not at.error, (shape.name, title, [e.value for e in at.error])
            assert [t.value for t in at.title] == [title], shape.name
            notes[title] = texts(at)
            if title == "Data quality":
                # Failed freshness warnings only (no blocking failure): nothing was held back.
                assert not [e for e in at.error if "last good build" in e.value]
                assert not any("last good build" in note for note in notes[title])
    everything = [note for page_notes in notes.values() for note in page_notes]
    for feed in shape.missing:
        expected = f"No {LABELS[feed]} loaded — "
        assert any(note.startswith(expected) and f"`{feed}`" in note for note in everything), (
            shape.name,
            feed,
            everything,
        )
    # A section whose feed is missing says so, not "no rows for the selected filters".
    for feed, section in (("invoices", "Receivables"), ("payment_attempts", "Failure rates")):
        if feed in shape.missing:
            assert not any(
                n.startswith(section) and "no rows for the selected filters" in n
                for n in everything
            ), (shape.name, everything)


def test_customers_only(sparse_warehouses):
    settings = sparse_warehouses("customers_only")
    with pointed_at(settings):
        at = run_page()
        assert at.caption[1].value.startswith(
            "Loaded: 2 customers · 0 subscriptions · 0 invoices · 0 payment attempts"
        )
        assert (
            "No invoices loaded — receivables and delinquency needs the `invoices` feed."
            in texts(at)
        )
        assert not at.date_input  # no fact, no date range to pick
        lookup = run_page("app_pages/customer_lookup.py")
        lookup.text_input[0].input("cus_a").run()
    assert not lookup.exception and not lookup.error
    assert "c***@***.com" in [m.value for m in lookup.metric]


def test_invoices_without_subscriptions(sparse_warehouses):
    """Defect 3: the Overview raised TypeError (int() of NA) without subscriptions, and Fraud &
    alerts raised KeyError 'segment_type' with invoices but no payment attempts."""
    settings = sparse_warehouses("invoices_without_subscriptions")
    with pointed_at(settings):
        at = run_page()
        assert not at.exception, at.exception
        # inv_1 100 + inv_3 30 open and past due on 2026-06-20; inv_2 paid.
        assert metric(at, "Past-due amount") == "€130"
        assert metric(at, "Delinquency rate (by amount)") == "100.0%"
        assert "No subscriptions loaded — involuntary churn needs the `subscriptions` feed." in (
            texts(at)
        )
        assert "3 invoices" in at.caption[1].value
        fraud = run_page("app_pages/fraud_alerts.py")
    assert not fraud.exception, fraud.exception
    assert (
        "No payment attempts loaded — failure monitoring needs the `payment_attempts` feed."
        in texts(fraud)
    )


def test_attempts_without_invoices(sparse_warehouses):
    """Defect 5: the date range came from invoices only; with charges and no invoices the failure
    chart said "no rows" although the charges were in the mart."""
    settings = sparse_warehouses("attempts_without_invoices")
    with pointed_at(settings):
        at = run_page("app_pages/fraud_alerts.py")
    assert not at.exception
    (picker,) = at.date_input
    assert (picker.min, picker.max) == (date(2026, 4, 10), date(2026, 4, 20))
    charts = observed_failures(at)
    assert charts["overall = all"] == [("2026-04-10", 4, 6)]
    with pointed_at(settings):
        overview = run_page()
    assert "No invoices loaded — receivables and delinquency needs the `invoices` feed." in (
        texts(overview)
    )


def test_one_day_in_a_single_non_eur_currency(sparse_warehouses):
    settings = sparse_warehouses("one_day_usd")
    with pointed_at(settings):
        at = run_page("app_pages/fraud_alerts.py")
    assert not at.exception
    (picker,) = at.date_input
    assert (picker.min, picker.max) == (date(2026, 7, 15), date(2026, 7, 15))
    # pa_1 succeeded; pa_2, pa_3 and the retry pa_4 declined.
    assert observed_failures(at)["overall = all"] == [("2026-07-15", 3, 4)]
    assert at.multiselect(key="filter_currency").options == ["USD"]


def test_three_years_of_history(sparse_warehouses):
    settings = sparse_warehouses("three_years")
    with pointed_at(settings):
        at = run_page()
    assert not at.exception
    (picker,) = at.date_input
    # The card checks of 2023-08-20 come before the first invoice (2023-10-01): still in range.
    assert (picker.min, picker.max) == (date(2023, 8, 20), date(2026, 11, 10))
    # October 2026: 2 subscriptions active at its start, sub_b cancelled for non-payment.
    assert metric(at, "Involuntary churn") == "50.00%"
    # sub_b's August and September invoices, 10.00 each, open.
    assert metric(at, "Past-due amount") == "€20"
    # 36 months x 2 invoices; 70 paid ones charged once, plus the 2 card checks.
    assert "72 invoices · 72 payment attempts" in at.caption[1].value
    with pointed_at(settings):
        delinquency = run_page("app_pages/delinquency.py")
    # A month's DSO may be undefined; a tile never reads "nan".
    assert not [m.value for m in delinquency.metric if "nan" in str(m.value)]


def test_all_invoices_at_zero(sparse_warehouses):
    settings = sparse_warehouses("all_invoices_zero")
    with pointed_at(settings):
        at = run_page()
    assert not at.exception
    assert "2 subscriptions · 2 invoices · 0 payment attempts" in at.caption[1].value
    # 0.00 invoices are never receivables: no receivable at any month end, so no KPI tile.
    assert not [m for m in at.metric if m.label == "Past-due amount"]
    assert (
        "Receivables: none of the 2 loaded invoices is a receivable — draft, void and 0.00 "
        "invoices (trials, 100 %-off coupons) are never money owed." in texts(at)
    )


@pytest.mark.parametrize(
    ("blocking", "warnings", "kind", "says_held_back"),
    [(0, 0, "success", False), (0, 2, "warning", False), (1, 2, "error", True)],
)
def test_last_good_build_only_when_a_blocking_check_failed(
    blocking, warnings, kind, says_held_back
):
    """Issue 14 item 7: a fresh demo with 2 failed warnings said "the published data is the last
    good build" although nothing had held publication back."""
    got_kind, text = check_verdict(blocking, warnings, "2026-11-30 12:00")
    assert got_kind == kind
    assert ("last good build" in text) is says_held_back
