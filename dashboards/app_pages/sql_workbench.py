"""SQL workbench: read-only, sandboxed SQL on the published warehouse, for analysts."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards import components as ui
from dashboards import queries as q
from dashboards import sandbox

ui.page_header(
    "SQL workbench",
    caption=(
        "Read-only SQL on the published warehouse. One SELECT at a time; files, ATTACH, COPY "
        f"and extensions are off; queries stop after {sandbox.DEFAULT_TIMEOUT_S:g} s and show "
        f"at most {sandbox.DEFAULT_ROW_LIMIT:,} rows."
    ),
)

browser, editor = st.columns([1, 2], gap="large")

with browser, ui.guard("Schema browser"):
    st.subheader("Schema")
    columns = q.schema_columns()
    described = q.table_descriptions()
    search = st.text_input("Find a table or column", placeholder="e.g. recovery").strip().lower()
    if search:
        hit = (
            columns["table_name"].str.lower().str.contains(search, regex=False)
            | columns["column_name"].str.lower().str.contains(search, regex=False)
            | columns["description"].str.lower().str.contains(search, regex=False)
        )
        # Keep whole tables: a matching column shows with its siblings.
        columns = columns[
            hit.groupby([columns["schema_name"], columns["table_name"]]).transform("any")
        ]
    if not columns["description"].astype(bool).any():
        st.caption("Column descriptions come from dbt's manifest (`dbt parse` writes it).")
    for (schema, table), cols in columns.groupby(["schema_name", "table_name"], sort=True):
        with st.expander(f"`{schema}.{table}` · {len(cols)} columns"):
            if described.get((schema, table)):
                st.caption(described[(schema, table)])
            st.dataframe(
                cols[["column_name", "data_type", "description"]],
                hide_index=True,
                column_config={
                    "column_name": "Column",
                    "data_type": "Type",
                    "description": st.column_config.TextColumn("Description", width="large"),
                },
            )

with editor:
    st.subheader("Query")
    examples = q.analyst_examples()
    if examples:
        titles = [example.title for example in examples]

        def _load_example() -> None:
            chosen = st.session_state["workbench_example"]
            st.session_state["workbench_sql"] = examples[titles.index(chosen)].sql

        st.selectbox(
            "Example queries from the analyst guide",
            titles,
            index=None,
            placeholder="Pick an example to load it",
            key="workbench_example",
            on_change=_load_example,
        )
    st.session_state.setdefault(
        "workbench_sql",
        "select table_schema, table_name, estimated_size as approx_rows\n"
        "from duckdb_tables()\norder by 1, 2",
    )
    sql = st.text_area("SQL", key="workbench_sql", height=220)
    if st.button("Run query", type="primary", icon=":material/play_arrow:"):
        try:
            database = Path(q.snapshot().path)
            st.session_state["workbench_result"] = sandbox.run_query(database, sql)
        except (sandbox.Refused, sandbox.QueryTimeout, sandbox.QueryError, q.NotAvailable) as exc:
            st.session_state["workbench_result"] = exc

    result = st.session_state.get("workbench_result")
    if isinstance(result, sandbox.Refused):
        st.warning(f"Refused. {result}", icon=":material/block:")
    elif isinstance(result, sandbox.QueryTimeout):
        st.warning(str(result), icon=":material/timer_off:")
    elif isinstance(result, sandbox.QueryError):
        st.error(f"The query failed: {result}", icon=":material/error:")
    elif isinstance(result, q.NotAvailable):
        st.info(f"Not available yet — {result}")
    elif isinstance(result, sandbox.QueryResult):
        shown = len(result.frame)
        note = (
            f"first {shown:,} rows shown (row limit); add a LIMIT or aggregate"
            if result.truncated
            else f"{shown:,} rows"
        )
        st.caption(f"{note} · {result.elapsed_s * 1000:,.0f} ms")
        st.dataframe(result.frame, hide_index=True)
        ui.download_csv(result.frame, "Download CSV", "arrears_query.csv")
