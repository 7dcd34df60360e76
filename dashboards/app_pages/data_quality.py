"""Data quality: the latest check results, their history, freshness per source, Data Docs."""

import pandas as pd
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q

ui.page_header(
    "Data quality",
    caption="What the pipeline's checks (Great Expectations and dbt) found in the latest build, "
    "over time, and how fresh each source is.",
)

with ui.section("Latest results", what="Check results"):
    latest = q.latest_check_results()
    failed = latest[~latest["passed"]]
    errors = int((failed["severity"] == "ERROR").sum())
    tiles = st.columns(4)
    tiles[0].metric("Checks", f"{len(latest):,}")
    tiles[1].metric("Passed", f"{int(latest['passed'].sum()):,}")
    tiles[2].metric("Failed: blocking (ERROR)", f"{errors:,}")
    tiles[3].metric("Failed: warnings", f"{len(failed) - errors:,}")
    last = pd.Timestamp(latest["checked_at"].max())
    kind, text = ui.check_verdict(errors, len(failed) - errors, last)
    {"success": st.success, "warning": st.warning, "error": st.error}[kind](
        text, icon={"success": ":material/verified:"}.get(kind, ":material/rule:")
    )
    only_failed = st.toggle("Failed checks only", value=not failed.empty)
    shown = failed if only_failed else latest
    ui.table(
        shown.assign(status=["passed" if ok else "FAILED" for ok in shown["passed"]]),
        {
            "status": ui.Col("text", "Status"),
            "severity": ui.Col("text", "Severity"),
            "check_name": ui.Col("label", "Check"),
            # The message names the asset, the value found and what was expected: it gets the room.
            "message": ui.Col("text", "Result", width=560),
            "checked_at": ui.Col("datetime", "Checked (UTC)"),
        },
        currency=q.reporting_currency(),
    )

with ui.section("History", what="Check history"):
    history = q.check_history()
    if history.empty:
        ui.empty_note("Check runs")
    else:
        # One bar per build, labelled by when its checks started: a category axis, so builds
        # minutes apart do not collapse into one sliver or spread over empty days.
        runs = [f"{pd.Timestamp(t):%d %b %H:%M:%S}" for t in history["started_at"]]
        ui.chart(
            history.assign(run=runs),
            "run",
            [
                ui.Series("passed", "Passed", ui.BLUE, "bar"),
                ui.Series("failed_warn", "Failed (warning)", ui.ORANGE, "bar"),
                ui.Series("failed_error", "Failed (blocking)", ui.VERMILLION, "bar"),
            ],
            x_title="Pipeline run, started (UTC)",
            y_title="Checks",
            x_axis={"type": "category"},
            stacked=True,
            height=300,
        )
        st.caption(
            f"The last {len(history)} pipeline runs: all the checks of one build are one run "
            "(they finish seconds apart as each asset is checked)."
        )

with ui.section("Freshness per source", what="Source loads"):
    loads = q.source_loads()
    try:
        fresh = q.freshness_checks()
    except q.NotAvailable:
        fresh = pd.DataFrame(
            columns=["entity", "newest_record_at", "age_hours", "passed", "message"]
        )
    sources = loads.merge(fresh, on="entity", how="outer")
    sources["freshness"] = [
        "not checked" if pd.isna(ok) else ("fresh" if ok else "STALE") for ok in sources["passed"]
    ]
    # A source the manifest has never loaded a file of has loaded nothing: 0, not a gap.
    counts = ["files", "rows_loaded", "rows_quarantined", "files_rejected"]
    sources[counts] = sources[counts].fillna(0).astype(int)
    ui.table(
        sources,
        {
            "entity": ui.Col("label", "Source"),
            "freshness": ui.Col("text", "Freshness"),
            "newest_record_at": ui.Col("datetime", "Newest record"),
            "age_hours": ui.Col(
                "number", "Age (h)", help="Hours between the newest record and the check."
            ),
            "last_loaded_at": ui.Col("datetime", "Last load"),
            "files": ui.Col("count", "Files"),
            "rows_loaded": ui.Col("count", "Rows"),
            "rows_quarantined": ui.Col("count", "Quarantined"),
            "files_rejected": ui.Col("count", "Rejected", help="Files rejected whole."),
        },
        currency=q.reporting_currency(),
        sort={"freshness": True, "entity": True},
    )
    st.caption("Times in UTC. Age: hours between the newest record and the freshness check.")
with ui.guard("Quarantine"):
    quarantine = q.quarantine_summary()
    if quarantine.empty:
        st.caption("Quarantine: empty — every row of every loaded file passed the contract.")
    else:
        st.markdown("**Quarantined rows** (kept aside, never loaded; released when fixed)")
        ui.table(quarantine, currency=q.reporting_currency())

st.subheader("Great Expectations Data Docs")
docs_dir = q.settings().data_docs_dir
if (docs_dir / "index.html").exists():
    st.markdown(
        "Every suite and validation result, rendered by Great Expectations as a static site. "
        "Download it, unzip it and open `index.html` in your browser (a web page cannot open "
        "files on the pipeline's machine)."
    )
    st.download_button(
        "Download the Data Docs (zip)",
        data=lambda: ui.zip_folder(docs_dir),  # built on click: a few MB
        file_name="arrears_data_docs.zip",
        mime="application/zip",
        icon=":material/download:",
        on_click="ignore",
    )
    st.caption(
        "On the pipeline's machine they can also be served: "
        f"`python -m http.server 8502 --directory {docs_dir}`, then open http://localhost:8502."
    )
else:
    st.info(
        "No Data Docs yet — the quality checks write them on the next build.",
        icon=":material/hourglass_empty:",
    )
