"""Data quality: the latest check results, their history, freshness per source, Data Docs."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from dashboards import queries as q

ui.page_header(
    "Data quality",
    caption="What the pipeline's checks (Great Expectations and dbt) found in the latest build, "
    "over time, and how fresh each source is.",
)

st.subheader("Latest results")
with ui.guard("Check results"):
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
    st.dataframe(
        shown.assign(status=["passed" if ok else "FAILED" for ok in shown["passed"]])[
            ["status", "severity", "asset", "check_name", "message", "expected", "checked_at"]
        ],
        hide_index=True,
        column_config={
            "status": "Status",
            "severity": "Severity",
            "asset": "Asset",
            "check_name": "Check",
            "message": st.column_config.TextColumn("Result", width="large"),
            "expected": "Expected",
            "checked_at": st.column_config.DatetimeColumn("Checked (UTC)", format="D MMM HH:mm"),
        },
    )

st.subheader("History")
with ui.guard("Check history"):
    history = q.check_history()
    if history.empty:
        ui.empty_note("Check runs")
    else:
        fig = go.Figure()
        fig.add_bar(
            x=history["checked_at"], y=history["passed"], name="Passed", marker_color=ui.BLUE
        )
        fig.add_bar(
            x=history["checked_at"], y=history["failed_warn"], name="Failed (warning)",
            marker_color=ui.ORANGE,
        )  # fmt: skip
        fig.add_bar(
            x=history["checked_at"], y=history["failed_error"], name="Failed (blocking)",
            marker_color=ui.VERMILLION,
        )  # fmt: skip
        fig.update_layout(barmode="stack")
        st.plotly_chart(ui.style(fig, x="Check run (UTC)", y="Checks", height=300))
        st.caption(f"The last {len(history)} check runs (wall-clock time of each run).")

st.subheader("Freshness per source")
with ui.guard("Source loads"):
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
    st.dataframe(
        sources[
            [
                "entity",
                "freshness",
                "newest_record_at",
                "age_hours",
                "last_loaded_at",
                "files",
                "rows_loaded",
                "rows_quarantined",
                "files_rejected",
            ]
        ],
        hide_index=True,
        column_config={
            "entity": "Source",
            "freshness": "Freshness check",
            "newest_record_at": st.column_config.DatetimeColumn(
                "Newest record (UTC)", format="D MMM YYYY HH:mm"
            ),
            "age_hours": st.column_config.NumberColumn(
                "Age at check (h)",
                format="%.1f",
                help="Hours between the newest record and the check.",
            ),
            "last_loaded_at": st.column_config.DatetimeColumn(
                "Last file loaded (UTC)", format="D MMM YYYY HH:mm"
            ),
            "files": st.column_config.NumberColumn("Files", format="%d"),
            "rows_loaded": st.column_config.NumberColumn("Rows loaded", format="%d"),
            "rows_quarantined": st.column_config.NumberColumn("Rows quarantined", format="%d"),
            "files_rejected": st.column_config.NumberColumn("Files rejected", format="%d"),
        },
    )
with ui.guard("Quarantine"):
    quarantine = q.quarantine_summary()
    if quarantine.empty:
        st.caption("Quarantine: empty — every row of every loaded file passed the contract.")
    else:
        st.markdown("**Quarantined rows** (kept aside, never loaded; released when fixed)")
        st.dataframe(quarantine, hide_index=True)

st.subheader("Great Expectations Data Docs")
docs = q.settings().data_docs_dir / "index.html"
if docs.exists():
    st.markdown(
        f"Every suite and validation result, rendered by Great Expectations: "
        f"[{docs}]({docs.as_uri()})"
    )
    st.caption(
        "A static site on the pipeline's machine: open the file above there (browsers do not "
        "follow file links from a web page; copy the path), or publish the folder on a web server."
    )
    st.code(str(docs), language=None)
else:
    st.info(
        f"No Data Docs yet at `{docs}` — the quality checks write them on the next build.",
        icon=":material/hourglass_empty:",
    )
