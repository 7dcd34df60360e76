"""Every page, rendered headless by Streamlit's AppTest on the sample warehouse built by the real
pipeline: no exception, the numbers the marts hold, filters applied, missing marts explained,
the access gate, the workbench's refusals, and a publish while the pipeline writes."""

import json
import threading

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT, load_settings
from orchestration.publish import publish
from tests.dashboards.conftest import APP, PAGES, copy_settings, pointed_at, run_page

# Marts the pages read but no model publishes yet (their sections say so): none any more.
PENDING: tuple[str, ...] = ()


def mart(settings, sql: str, params: list | None = None):
    """The test's own read of the published marts (not through the dashboard's code)."""
    with duckdb.connect(str(settings.published_path.resolve()), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def metric(at, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no KPI tile {label!r}; tiles: {[m.label for m in at.metric]}"
    return found[0]


def euros(amount: float) -> str:
    """The KPI tiles' compact money format, written out independently."""
    if amount >= 1_000_000:
        return f"€{amount / 1_000_000:.2f}M"
    if amount >= 10_000:
        return f"€{amount / 1000:.1f}k"
    return f"€{amount:,.0f}" if amount >= 1000 or amount == int(amount) else f"€{amount:,.2f}"


def not_available(at) -> list[str]:
    return [i.value for i in at.info if "not available yet" in i.value]


@pytest.mark.parametrize(("url", "title", "page"), PAGES)
def test_page_renders_on_the_sample_warehouse(published, url, title, page):
    with pointed_at(published):
        at = run_page(page)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [title]
    assert not at.error, [e.value for e in at.error]
    header = at.markdown[0].value
    assert header.startswith("**Data as of ") and "Filters applied here:" in header
    for note in not_available(at):
        assert any(table in note for table in PENDING), note


def test_overview_kpis_equal_the_marts(published):
    with pointed_at(published):
        at = run_page()
    (as_of_day,) = mart(published, "select max(month_end) from marts.collections_monthly")[0]
    (previous_day,) = mart(
        published,
        "select max(month_end) from marts.collections_monthly where month_end < ?",
        [as_of_day],
    )[0]
    rows = dict(
        (day, (past_due, open_, at_risk))
        for day, past_due, open_, at_risk in mart(
            published,
            """select date_day, sum(past_due_reporting), sum(open_receivables_reporting),
                      sum(revenue_at_risk_reporting)
               from marts.receivables_daily where date_day in (?, ?) group by date_day""",
            [as_of_day, previous_day],
        )
    )
    past_due, open_, at_risk = (float(v) for v in rows[as_of_day])
    rate, previous_rate = past_due / open_, float(rows[previous_day][0] / rows[previous_day][1])
    tile = metric(at, "Delinquency rate (by amount)")
    assert tile.value == f"{rate * 100:.1f}%"
    assert tile.delta == f"{(rate - previous_rate) * 100:+.1f} pp"
    assert metric(at, "Past-due amount").value == euros(past_due)
    assert metric(at, "Revenue at risk").value == euros(at_risk)

    recovery_rate, recovered = mart(
        published,
        """select cohort_recovery_rate, cohort_recovered_revenue_reporting
           from marts.recovery_cohorts where days_since_entered = 0 and is_window_elapsed
           order by cohort_month desc limit 1""",
    )[0]
    assert metric(at, "Recovery rate").value == f"{float(recovery_rate) * 100:.1f}%"
    assert metric(at, "Recovered revenue").value == euros(float(recovered))

    churn, write_off = mart(
        published,
        """select involuntary_churn_rate, write_off_rate from marts.collections_monthly
           where is_complete_month order by month_start desc limit 1""",
    )[0]
    assert metric(at, "Involuntary churn").value == f"{float(churn) * 100:.2f}%"
    assert metric(at, "Write-off rate (billed amount)").value == f"{float(write_off) * 100:.2f}%"

    tables = {
        f"{s}.{t}"
        for s, t in mart(
            published, "select table_schema, table_name from information_schema.tables"
        )
    }
    if "alerting.alerts" in tables:
        (open_alerts,) = mart(
            published, "select count(*) from alerting.alerts where status <> 'resolved'"
        )[0]
        assert metric(at, "Open alerts").value == f"{open_alerts:,}"


def test_partial_months_are_named_under_the_monthly_charts(published):
    # The sample's data ends on 2026-11-23: November is partial (so is its first month, May).
    partial = [
        f"{m:%b %Y}"
        for (m,) in mart(
            published,
            "select month_start from marts.collections_monthly where not is_complete_month",
        )
    ]
    (last,) = mart(published, "select max(month_start) from marts.collections_monthly")[0]
    assert f"{last:%b %Y}" in partial
    with pointed_at(published):
        at = run_page("app_pages/delinquency.py")
    notes = [c.value for c in at.caption if c.value.startswith("Partial month")]
    assert len(notes) == 1, notes  # under the DSO and CEI chart
    named = notes[0].split(": ", 1)[1].split(" - ")[0].split(", ")
    assert f"{last:%b %Y}" in named and set(named) <= set(partial)


def test_segment_filters_reach_the_receivable_kpis(published):
    (plan, rate, at_risk), *_ = mart(
        published,
        """select plan, sum(past_due_reporting) / sum(open_receivables_reporting),
                  sum(revenue_at_risk_reporting)
           from marts.receivables_daily
           where date_day = (select max(month_end) from marts.collections_monthly)
           group by plan having sum(open_receivables_reporting) > 0
           order by sum(open_receivables_reporting) desc""",
    )
    with pointed_at(published):
        at = run_page()
        at.multiselect(key="filter_plan").select(plan).run()
        assert not at.exception
        assert metric(at, "Delinquency rate (by amount)").value == f"{float(rate) * 100:.1f}%"
        assert metric(at, "Revenue at risk").value == euros(float(at_risk))
        assert f"Plan: {plan}" in at.markdown[0].value
        # The choice survives a page that cannot apply it (greyed out there) and back.
        at.switch_page("app_pages/data_quality.py").run()
        assert at.multiselect(key="filter_plan").disabled
        assert "Plan" not in at.markdown[0].value.split("Filters applied here:")[1]
        at.switch_page("app_pages/delinquency.py").run()
        assert at.multiselect(key="filter_plan").value == [plan]
        assert f"Plan: {plan}" in at.markdown[0].value


def test_customer_lookup_shows_the_customers_rows(published):
    customer_id, invoices = mart(
        published,
        """select customer_id, count(*) from marts.fct_invoices
           group by customer_id order by count(*) desc, customer_id limit 1""",
    )[0]
    (attempts,) = mart(
        published,
        "select count(*) from marts.fct_payment_attempts where customer_id = ?",
        [customer_id],
    )[0]
    (masked,) = mart(
        published,
        "select email_masked from marts.dim_customers where customer_id = ?",
        [customer_id],
    )[0]
    with pointed_at(published):
        at = run_page("app_pages/customer_lookup.py")
        at.text_input[0].input(customer_id).run()
    assert not at.exception and not at.error
    frames = {tuple(df.value.columns)[:1]: len(df.value) for df in at.dataframe}
    assert frames[("invoice_id",)] == invoices
    assert frames[("attempt_id",)] == attempts
    assert masked in [m.value for m in at.metric]
    assert "***@" in masked  # only the masked email exists in the marts


def test_unknown_customer_is_a_clear_note(published):
    with pointed_at(published):
        at = run_page("app_pages/customer_lookup.py")
        at.text_input[0].input("cus_does_not_exist").run()
    assert not at.exception
    assert any("No customer with id `cus_does_not_exist`" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("COPY marts.fct_invoices TO '/tmp/out.csv'", "COPY is not allowed"),
        ("select * from read_csv('/etc/passwd')", "read_csv() is not allowed"),
        ("select 1; drop table marts.fct_invoices", "One statement at a time"),
    ],
)
def test_workbench_refuses_in_the_page(published, sql, message):
    with pointed_at(published):
        at = run_page("app_pages/sql_workbench.py")
        at.text_area(key="workbench_sql").input(sql)
        at.button[0].click().run()
    assert not at.exception
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]


def test_workbench_runs_a_query_and_offers_csv(published):
    (count,) = mart(published, "select count(*) from marts.fct_invoices")[0]
    with pointed_at(published):
        at = run_page("app_pages/sql_workbench.py")
        at.text_area(key="workbench_sql").input(
            "select count(*) as invoices from marts.fct_invoices"
        )
        at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.dataframe[-1].value["invoices"].tolist() == [count]
    assert "1 rows" in at.caption[-1].value or "1 row" in at.caption[-1].value


def test_access_gate_shows_nothing_without_the_password(published):
    with pointed_at(published, ARREARS_DASHBOARD_PASSWORD="s3cret"):
        at = run_page()
        assert not at.metric and [t.value for t in at.title] == ["Arrears"]
        at.text_input[0].input("guess")
        at.button[0].click().run()
        assert [e.value for e in at.error] == ["Wrong password."] and not at.metric
        at.text_input[0].input("s3cret")
        at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"] and at.metric


def test_no_published_warehouse_yet(tmp_path):
    empty = load_settings({"ARREARS_HOME": str(tmp_path)})
    for _, _, page in PAGES:
        with pointed_at(empty):
            at = run_page(page)
        assert not at.exception
        assert any("Nothing to show yet" in i.value for i in at.info), page


def test_pages_state_the_windows_the_marts_were_built_with(published, tmp_path):
    """The windows in the pages' texts come from marts.metric_settings, never a copy of the
    default: a copy whose marts were built with a 45-day recovery window and 3 days of dunning
    attribution says 45 and 3 wherever it said 60 and 7, and a 40-day delinquency-score horizon
    says 40 where it said 60."""
    settings = copy_settings(published, tmp_path)
    with duckdb.connect(str(settings.published_path.resolve())) as con:
        for setting, value in (
            ("recovery_window_days", "45"),
            ("dunning_attribution_days", "3"),
            ("risk_horizon_days", "40"),
        ):
            con.execute(
                "update marts.metric_settings set value = ? where setting = ?", [value, setting]
            )
    with pointed_at(settings):
        pages = [run_page(), run_page("app_pages/recovery.py")]
        delinquency = run_page("app_pages/delinquency.py")
    assert "At risk: who may fall behind in the next 40 days" in [
        s.value for s in delinquency.subheader
    ]
    captions = [c.value for at in pages for c in at.caption]
    assert any("cohorts whose 45-day window has not fully elapsed" in c for c in captions)
    assert any("their 45-day window has not elapsed for every invoice" in c for c in captions)
    assert any("'Paid within 3 days' is measured" in c for c in captions)
    assert [c for c in captions if "60-day" in c or "7 days" in c] == []


def test_missing_marts_render_a_note_not_a_traceback(partial):
    notes = {}
    for _, title, page in PAGES:
        with pointed_at(partial):
            at = run_page(page)
        assert not at.exception, (title, at.exception)
        assert not at.error, (title, [e.value for e in at.error])
        notes[title] = not_available(at)
    assert any("marts.recovery_cohorts" in n for n in notes["Overview"])
    assert any("marts.incidents" in n for n in notes["Fraud & alerts"])
    assert any("quality.check_results" in n for n in notes["Data quality"])


def test_serves_the_published_copy_while_the_pipeline_writes(published, tmp_path):
    settings = copy_settings(published, tmp_path)
    (month,) = mart(
        settings,
        "select max(month_start) from marts.collections_monthly where is_complete_month",
    )[0]
    with pointed_at(settings):
        before = metric(run_page(), "Involuntary churn").value
        # The pipeline holds its own file open for writing (as dbt does during a build) ...
        with duckdb.connect(str(settings.warehouse_path)) as writer:
            writer.execute(
                "update marts.collections_monthly set involuntary_churn_rate = 0.5 "
                "where month_start = ?",
                [month],
            )
            # ... and every page keeps serving the last published copy, without a lock error.
            for _, title, page in PAGES:
                at = run_page(page)
                assert not at.exception and not at.error, title
            assert metric(run_page(), "Involuntary churn").value == before
        # Publishing swaps copies while pages render: readers never see a lock or half a file.
        failures = []

        def publish_twice():
            try:
                for _ in range(2):
                    publish(settings.warehouse_path, settings.published_path)
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        publisher = threading.Thread(target=publish_twice)
        publisher.start()
        while publisher.is_alive():
            at = run_page("app_pages/delinquency.py")
            assert not at.exception and not at.error
        publisher.join()
        assert not failures, failures
        assert metric(run_page(), "Involuntary churn").value == "50.00%"


def test_schema_browser_shows_the_dbt_column_descriptions(published):
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    node = manifest["nodes"]["model.arrears.fct_invoices"]
    columns = [name for (name,) in mart(
        published,
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'fct_invoices' order by ordinal_position",
    )]  # fmt: skip
    with pointed_at(published):
        at = run_page("app_pages/sql_workbench.py")
    (browser,) = [
        df.value for df in at.dataframe
        if "column_name" in df.value and df.value["column_name"].tolist() == columns
    ]  # fmt: skip
    described = dict(zip(browser["column_name"], browser["description"], strict=True))
    assert described["days_past_due"] == node["columns"]["days_past_due"]["description"].strip()
    assert described["invoice_id"] == "Unique id of the invoice."


def test_workbench_runs_an_example_from_the_analyst_guide(published):
    with pointed_at(published):
        at = run_page("app_pages/sql_workbench.py")
        examples = at.selectbox(key="workbench_example")
        first = examples.options[0]
        examples.select(first).run()
        sql = at.text_area(key="workbench_sql").value
        at.button[0].click().run()
    assert not at.exception and not at.error
    guide = (REPO_ROOT / "docs" / "analyst_guide.md").read_text()
    assert f"### {first}" in guide and sql in guide
    assert not at.warning and len(at.dataframe[-1].value) > 0


def test_customer_deep_link_opens_that_customer(published):
    """The fraud page links card-testing customers as `?customer=<id>`."""
    ((customer_id, invoices),) = mart(
        published,
        """select customer_id, count(*) from marts.fct_invoices
           group by customer_id order by customer_id limit 1""",
    )
    with pointed_at(published):
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["customer"] = customer_id
        at.switch_page("app_pages/customer_lookup.py").run()
    assert not at.exception and not at.error
    assert at.text_input[0].value == customer_id
    assert any(
        list(df.value.columns)[:1] == ["invoice_id"] and len(df.value) == invoices
        for df in at.dataframe
    )


def _configs(frame_element) -> dict[str, dict]:
    """Column name -> the column config Streamlit sends the browser for one st.dataframe."""
    return {
        name: config for name, config in json.loads(frame_element.proto.columns or "{}").items()
    }


def _open_every_page(published):
    """Each page's AppTest, the customer lookup on the customer owing the most past-due money."""
    ((customer_id,),) = mart(
        published,
        """select customer_id from marts.fct_invoices where is_past_due
           group by customer_id order by sum(amount_remaining_reporting) desc limit 1""",
    )
    for _, title, page in PAGES:
        at = run_page(page)
        if title == "Customer lookup":
            at.text_input[0].input(customer_id).run()
        yield title, at


def test_every_table_formats_its_numbers_and_names_its_columns(published):
    """What a reader sees in every table of every page: no raw column name for a header, every
    number column with a format (money: € and thousands separators; rates: one decimal), and
    never "None" in a cell."""
    checked = 0
    with pointed_at(published):
        for title, at in _open_every_page(published):
            if title == "SQL workbench":  # an analyst's own query results are shown as they are
                continue
            for element in at.dataframe:
                frame, configs = element.value, _configs(element)
                for column in frame.columns:
                    config = configs.get(column, {})
                    header = config.get("label") or column
                    assert "_" not in header, (title, column, header)
                    kind = config.get("type_config", {})
                    if pd.api.types.is_numeric_dtype(frame[column]) and not (
                        pd.api.types.is_bool_dtype(frame[column])
                    ):
                        fmt = kind.get("format") or ""
                        assert fmt, (title, column, config)
                        if "(EUR" in header:
                            assert fmt.startswith("€%,"), (title, header, fmt)
                        if fmt.endswith("%%"):
                            assert fmt == "%.1f%%", (title, header, fmt)
                        checked += 1
                    else:
                        texts = frame[column].astype(str)
                        assert not texts.isin(["None", "nan", "NaT", "<NA>"]).any(), (
                            title,
                            column,
                        )
    assert checked > 40


def test_formatting_helpers_show_what_a_reader_expects():
    """The text the tables print where a column has gaps, and the labels of raw ids."""
    from dashboards import components as ui

    assert ui.cell(550984.97, ui.Col("money"), "EUR") == "€550,984.97"
    assert ui.cell(-1234.5, ui.Col("money"), "EUR") == "-€1,234.50"
    assert ui.cell(0.0308, ui.Col("pct"), "EUR") == "3.1%"
    assert ui.cell(35649, ui.Col("count"), "EUR") == "35,649"
    assert ui.cell(pd.Timestamp("2026-11-30"), ui.Col("date"), "EUR") == "30 Nov 2026"
    assert ui.cell(pd.Timestamp("2026-11-03 07:05"), ui.Col("datetime"), "EUR") == (
        "3 Nov 2026 07:05"
    )
    assert ui.cell(None, ui.Col("datetime"), "EUR") == "—"
    assert [ui.label(v) for v in ("automatic_retry", "pre_due_reminder", "not_verified")] == [
        "Automatic retry",
        "Pre-due reminder",
        "Not verified",
    ]
    assert ui.label("no_3ds") == "Without 3-D Secure"
    assert ui.title("amount_due_reporting", "EUR") == "Amount due (EUR)"
    assert ui.label("insufficient_funds") == "Insufficient funds"
    assert ui.label("GB") == "GB"
    assert ui.label("collections") == "Collections"


def test_sections_the_filters_do_not_reach_carry_the_company_wide_badge(published):
    with pointed_at(published):
        at = run_page()
        badges = [m.value for m in at.markdown if "Company-wide" in m.value]
        # Open alerts, and the recovery-and-churn row.
        assert len(badges) == 2, badges
        at.switch_page("app_pages/delinquency.py").run()
        # Monthly collection metrics, prevention and the at-risk scores; receivables and segments
        # apply the filters.
        assert len([m for m in at.markdown if "Company-wide" in m.value]) == 3
        at.switch_page("app_pages/recovery.py").run()
        # Every section but the recoveries in progress and the first-attempt failure rate.
        assert len([m for m in at.markdown if "Company-wide" in m.value]) == 9
        at.switch_page("app_pages/fraud_alerts.py").run()
        # Incidents, dispute ratios and card testing; the failure-rate charts use the filters.
        assert len([m for m in at.markdown if "Company-wide" in m.value]) == 3
    assert not at.exception


def test_recoveries_in_progress_reconcile_with_the_mart_and_honour_the_filters(published):
    rows = mart(
        published,
        """select invoice_id, plan, amount_remaining_reporting, next_step
           from marts.recoveries_in_progress
           order by days_in_recovery desc, amount_remaining_reporting desc, invoice_id""",
    )
    assert rows, "the sample has invoices in recovery"
    plan = rows[0][1]
    with pointed_at(published):
        at = run_page("app_pages/recovery.py")
        (listing,) = [df.value for df in at.dataframe if "days_in_recovery" in df.value]
        assert listing["invoice_id"].tolist() == [r[0] for r in rows]
        owed = sum(float(r[2]) for r in rows)
        assert listing["amount_remaining_reporting"].sum() == pytest.approx(owed, abs=0.005)
        assert set(listing["next_step"]) <= {
            "Plan instalment due", "Scheduled retry", "Collections agency", "Nothing scheduled"
        }  # fmt: skip
        caption = next(c.value for c in at.caption if "invoices in recovery" in c.value)
        assert caption.startswith(f"{len(rows):,} invoices in recovery at the as-of date, €")
        assert any(b.label == "Download the list (CSV)" for b in at.get("download_button"))
        # The plan filter narrows the list to that plan's invoices.
        at.multiselect(key="filter_plan").select(plan).run()
        (listing,) = [df.value for df in at.dataframe if "days_in_recovery" in df.value]
        assert listing["invoice_id"].tolist() == [r[0] for r in rows if r[1] == plan]
    assert not at.exception and not at.error


def test_customer_header_tells_a_collector_what_is_owed_and_what_comes_next(published):
    ((customer_id, owed, past_due, oldest),) = mart(
        published,
        """select customer_id,
                  sum(amount_remaining_reporting) filter (
                      where is_receivable and written_off_at is null),
                  sum(amount_remaining_reporting) filter (where is_past_due),
                  max(days_past_due) filter (where is_past_due)
           from marts.fct_invoices
           group by customer_id
           order by sum(amount_remaining_reporting) filter (where is_past_due) desc nulls last
           limit 1""",
    )
    steps = mart(
        published,
        """select next_step, next_step_at from marts.recoveries_in_progress
           where customer_id = ? order by next_step_at nulls last, days_past_due desc""",
        [customer_id],
    )
    (oldest_invoice,) = mart(
        published,
        """select invoice_id from marts.fct_invoices where customer_id = ? and is_past_due
           order by days_past_due desc limit 1""",
        [customer_id],
    )[0]
    with pointed_at(published):
        at = run_page("app_pages/customer_lookup.py")
        at.text_input[0].input(customer_id).run()
    assert not at.exception and not at.error
    assert metric(at, "Total owed").value == f"€{float(owed):,.2f}"
    assert metric(at, "Past due").value == f"€{float(past_due):,.2f}"
    assert metric(at, "Oldest past due").value == f"{oldest:,} days"
    labels = {
        "plan_instalment": "Plan instalment due",
        "scheduled_retry": "Scheduled retry",
        "collections_agency": "Collections agency",
        "none_scheduled": "Nothing scheduled",
    }
    if steps:
        step, when = steps[0]
        expected = labels[step] + (f" · {when:%d %b %Y}" if when else "")
    else:
        expected = "None in progress"
    assert metric(at, "Next dunning step").value == expected
    (invoices,) = [df.value for df in at.dataframe if list(df.value.columns)[:1] == ["invoice_id"]]
    assert invoices["invoice_id"].iloc[0] == oldest_invoice  # oldest past-due first
    masked = metric(at, "Email (masked)").value
    assert masked.split("@")[1].startswith("***."), masked  # the domain is masked too


def test_an_unknown_id_lists_the_ids_starting_with_it_to_pick_from(published):
    ids = [c for (c,) in mart(published, "select customer_id from marts.dim_customers")]
    prefix = ids[0][:5]
    # The id box matches case-insensitively (ilike), in id order.
    starting = sorted(c for c in ids if c.lower().startswith(prefix.lower()))[:20]
    with pointed_at(published):
        at = run_page("app_pages/customer_lookup.py")
        at.text_input[0].input(prefix).run()
    assert not at.exception
    assert any(f"No customer with id `{prefix}`" in w.value for w in at.warning)
    (similar,) = [
        df
        for df in at.dataframe
        if list(df.value.columns) == ["customer_id", "email_masked", "country"]
    ]
    assert similar.value["customer_id"].tolist() == starting
    # Selectable: a picked row fills the id box (the callback of the top-customers table).
    assert similar.proto.selection_mode, "the suggestions are not selectable"


def test_check_history_counts_one_run_per_build(published):
    from dashboards import queries as q

    ((builds, results),) = mart(
        published, "select count(distinct run_id), count(*) from quality.check_results"
    )
    with pointed_at(published):
        history = q.check_history()
    assert len(history) == builds  # the sample's one build is one run, not one per asset
    assert int(history["checks"].sum()) == results


def charts(at) -> list[dict]:
    """Every Plotly figure of the page, as the JSON Streamlit sends the browser."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def chart(at, x_title: str) -> dict:
    found = [c for c in charts(at) if c["layout"]["xaxis"].get("title", {}).get("text") == x_title]
    assert len(found) == 1, [c["layout"]["xaxis"].get("title") for c in charts(at)]
    return found[0]


def test_every_chart_keeps_its_legend_above_the_plot_away_from_the_axis_title(published):
    """One place (components.style) puts every legend in a row above the plotting area, so it
    cannot sit on the x-axis title below it as it did at y=-0.2 of short charts."""
    checked = 0
    with pointed_at(published):
        for page in (None, *(p for _, _, p in PAGES[1:4])):
            for figure in charts(run_page(page)):
                legend, xaxis = figure["layout"]["legend"], figure["layout"]["xaxis"]
                assert legend["yanchor"] == "bottom" and legend["y"] >= 1, (page, legend)
                assert xaxis["title"]["text"], (page, "an x-axis without a title")
                checked += 1
    assert checked > 20


def test_month_end_balances_are_drawn_in_their_own_month_and_partial_months_marked(published):
    """Overview's past-due bars: the balance at 31 Oct stands over "Oct 2026" (x = the month's
    first day, the exact day on hover), and the months the data does not cover in full (May, the
    first month of data, and November, which ends on the as-of day) are hatched and shaded."""
    rows = mart(
        published,
        """select month_start, month_end, is_complete_month from marts.collections_monthly
           order by month_start""",
    )
    (as_of_day,) = mart(published, "select max(month_end) from marts.collections_monthly")[0]
    with pointed_at(published):
        at = run_page()
    figure = chart(at, "Month (balances at its end)")
    bars = [t for t in figure["data"] if t["type"] == "bar"]
    first = bars[0]
    assert first["name"] == "1–30 days"
    days = [pd.Timestamp(d).date() for d in first["customdata"]]
    months = [pd.Timestamp(x).date() for x in first["x"]]
    assert days[-1] == as_of_day
    assert months == [d.replace(day=1) for d in days]  # every bar in the month of its day
    whole = {start: complete for start, _, complete in rows}
    partial = {start for start, complete in whole.items() if not complete}
    assert partial, "the sample has partial months (its first and the as-of month)"
    for trace in bars:
        assert trace["marker"]["pattern"]["shape"] == [
            "/" if m in partial else "" for m in months
        ], trace["name"]
    shaded = [
        pd.Timestamp(s["x0"]) + (pd.Timestamp(s["x1"]) - pd.Timestamp(s["x0"])) / 2
        for s in figure["layout"]["shapes"]
    ]
    assert sorted(d.date() for d in shaded) == sorted(m for m in partial if m in months)
    assert {a["text"] for a in figure["layout"]["annotations"]} == {"partial"}


def test_recovery_curves_draw_the_latest_cohorts_in_colour_and_the_rest_grey(published):
    cohorts = [
        m for (m,) in mart(
            published,
            "select distinct cohort_month from marts.recovery_cohorts order by cohort_month",
        )
    ]  # fmt: skip
    with pointed_at(published):
        at = run_page("app_pages/recovery.py")
    figure = chart(at, "Days since entering recovery")
    colours = [t["line"]["color"] for t in figure["data"]]
    assert len(colours) == len(cohorts) > 4
    assert colours[:-4] == ["#999999"] * (len(cohorts) - 4)
    assert len(set(colours[-4:])) == 4 and "#999999" not in colours[-4:]
    # One legend entry stands for the grey lines; each coloured cohort has its own.
    shown = [t["name"] for t in figure["data"] if t.get("showlegend", True)]
    assert shown[0] == "Earlier cohorts" and len(shown) == 5
    assert shown[-1].startswith(f"{cohorts[-1]:%b %Y}")


def test_retry_heatmap_cells_say_how_many_retries_of_how_many(published):
    cells = mart(
        published,
        """select attempt_number, hours_since_previous_attempt, successes, attempts
           from marts.retry_heatmap""",
    )
    with pointed_at(published):
        at = run_page("app_pages/recovery.py")
    (heatmap,) = [t for c in charts(at) for t in c["data"] if t["type"] == "heatmap"]
    assert heatmap.get("text"), "the heatmap's cells carry no counts"
    shown = {
        (int(y), x): text
        for y, row in zip(heatmap["y"], heatmap["text"], strict=True)
        for x, text in zip(heatmap["x"], row, strict=True)
        if text
    }
    assert shown == {(n, hours): f"{k:,} of {a:,}" for n, hours, k, a in cells}
    assert any(text.startswith("0 of ") for text in shown.values())  # a 0 % cell says of how many


def test_dunning_funnel_draws_only_nested_stages_and_paid_as_k_of_n(published):
    """Sent ⊇ opened, clicked: a funnel. "Paid within 7 days" is counted on other messages (about
    an unpaid invoice, window elapsed), so it is a chart of its own, never a wider funnel stage."""
    (sent, opened, clicked), *_ = mart(
        published,
        """select sum(messages_sent), sum(messages_opened), sum(messages_clicked)
           from marts.dunning_funnel""",
    )
    paid = dict(
        (channel, (int(k), int(n)))
        for channel, k, n in mart(
            published,
            """select channel, sum(invoices_paid_in_window), sum(messages_measured)
               from marts.dunning_funnel group by channel""",
        )
    )
    with pointed_at(published):
        at = run_page("app_pages/recovery.py")
    (funnel,) = [t for c in charts(at) for t in c["data"] if t["type"] == "funnel"]
    assert funnel["y"] == ["Sent", "Opened", "Clicked"]
    assert funnel["x"] == [sent, opened, clicked]
    figure = chart(at, "Paid within 7 days (%)")
    (bars,) = figure["data"]
    labels = {"email": "Email", "sms": "SMS", "in_app": "In-app", "phone": "Phone"}
    assert dict(zip(bars["y"], bars["text"], strict=True)) == {
        labels[c]: f"{k:,} of {n:,}" for c, (k, n) in paid.items()
    }


def test_dispute_ratio_bars_show_their_cases_and_the_case_minimum(published):
    """A bar over a threshold line on too few cases reaches no level: its bar says how many cases,
    it is hatched as below the program's case minimum, and the caption says why nothing is
    reached - the chart and the verdict agree."""
    rows = mart(
        published,
        """select program, month_start, any_value(is_complete_month), any_value(cases),
                  any_value(projected_cases), min(min_cases),
                  bool_or(projected_ratio >= ratio_threshold),
                  bool_or(is_reached or is_projected_reached)
           from marts.dispute_network_ratios group by program, month_start
           order by program, month_start""",
    )
    with pointed_at(published):
        at = run_page("app_pages/fraud_alerts.py")
    figures = [
        c for c in charts(at) if c["layout"]["yaxis"]["title"]["text"] == "Dispute ratio (%)"
    ]
    assert len(figures) == 2  # mastercard_ecp, visa_vamp (sorted)
    over_unreached = False
    for figure, program in zip(figures, ("mastercard_ecp", "visa_vamp"), strict=True):
        (bars,) = [t for t in figure["data"] if t["type"] == "bar"]
        mine = [r for r in rows if r[0] == program]
        minimum = mine[0][5]
        assert f"fewer than {minimum:,} cases" in bars["name"]
        expected = ["x" if (r[3] if r[2] else r[4]) < minimum else "" for r in mine]
        assert bars["marker"]["pattern"]["shape"] == expected, program
        assert bars["text"] == [f"{r[3]:,} cases" if r[3] else "" for r in mine]
        over_unreached |= any(r[6] and not r[7] for r in mine)
    assert over_unreached, "the sample has a ratio over a threshold on too few cases"
    assert any("fewer cases than that level's minimum" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]


def test_failed_vs_recovered_mrr_churn_and_first_attempt_tiles_equal_the_marts(published):
    (month, failed, recovered), *_ = mart(
        published,
        """select month_start, amount_failed_reporting, amount_recovered_reporting
           from marts.recovery_monthly where is_complete_month order by month_start desc""",
    )
    (churn_month, mrr_churn), *_ = mart(
        published,
        """select month_start, involuntary_mrr_churn_rate from marts.collections_monthly
           where is_complete_month order by month_start desc""",
    )
    first = mart(
        published,
        """select month_start, plan, sum(first_attempts_failed), sum(invoices_first_attempted)
           from marts.first_attempt_failures_monthly where is_complete_month
           group by grouping sets ((month_start), (month_start, plan))
           order by month_start desc""",
    )
    latest = first[0][0]
    everyone = next(r for r in first if r[0] == latest and r[1] is None)
    plan_row = max((r for r in first if r[0] == latest and r[1]), key=lambda r: r[3])
    with pointed_at(published):
        at = run_page("app_pages/recovery.py")
        assert metric(at, f"Failed · {month:%b %Y}").value == euros(float(failed))
        assert metric(at, f"Recovered · {month:%b %Y}").value == euros(float(recovered))
        assert (
            metric(at, f"Involuntary MRR churn · {churn_month:%b %Y}").value
            == f"{float(mrr_churn) * 100:.2f}%"
        )
        label = f"First-attempt failure rate · {latest:%b %Y}"
        assert metric(at, label).value == f"{everyone[2] / everyone[3] * 100:.1f}%"
        # The first-attempt rate honours the plan filter (its mart has segments).
        at.multiselect(key="filter_plan").select(plan_row[1]).run()
        assert metric(at, label).value == f"{plan_row[2] / plan_row[3] * 100:.1f}%"
    assert not at.exception and not at.error


def test_at_risk_section_reads_a_summary_and_the_top_fifty_not_every_score(published, tmp_path):
    # 60 hand-made scores: subscription i has probability i/100 and MRR 10.00, so expected revenue
    # at risk i/10; in all 183.00 (10 x 1,830 / 100), 11 high (i >= 50) and 30 medium (20..49).
    # The page shows the 50 largest (s60 first) and fetches every score only when asked for the CSV.
    settings = copy_settings(published, tmp_path / "home")
    scores = pd.DataFrame(
        {
            "subscription_id": [f"s{i:02d}" for i in range(1, 61)],
            "customer_id": [f"c{i:02d}" for i in range(1, 61)],
            "scoring_date": pd.Timestamp("2026-11-23"),
            "probability": [i / 100 for i in range(1, 61)],
            "risk_band": [
                "high" if i >= 50 else "medium" if i >= 20 else "low" for i in range(1, 61)
            ],
            "mrr_reporting": 10.0,
            "expected_revenue_at_risk_reporting": [i / 10 for i in range(1, 61)],
            "model_version": "hand-made",
        }
    )
    with duckdb.connect(str(settings.published_path.resolve())) as con:
        con.execute("delete from marts.subscription_risk")
        con.register("scores", scores)
        con.execute("insert into marts.subscription_risk by name select * from scores")
        con.execute("update marts.subscription_risk_model set status = 'scored', reason = null")
        con.execute("delete from marts.subscription_risk_evaluation")
        con.execute(
            "insert into marts.subscription_risk_evaluation (model, roc_auc, evaluation_rows, "
            "evaluation_positives, model_version) values "
            "('gradient_boosting', 0.85, 100, 5, 'hand-made'), "
            "('rule_failed_payment_90d', 0.65, 100, 5, 'hand-made')"
        )
    with pointed_at(settings):
        at = run_page("app_pages/delinquency.py")
        assert not at.exception, at.exception
        caption = next(c.value for c in at.caption if "active subscriptions scored" in c.value)
        assert caption.startswith(
            "60 active subscriptions scored; €183.00 expected MRR at risk; 11 high and 30 medium"
        ), caption
        table = next(d.value for d in at.dataframe if "reason_1" in d.value.columns)
        assert len(table) == 50 and table["subscription_id"].iloc[0] == "s60"
        assert not at.get("download_button")
        at.toggle(key="subscription_risk_csv").set_value(True).run()
        assert not at.exception, at.exception
        assert len(at.get("download_button")) == 1
