"""The SQL workbench sandbox: what it refuses (and why), its timeout and its row limit."""

from pathlib import Path

import duckdb
import pytest

from dashboards import sandbox


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sandbox") / "published.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.invoices as select * from (values "
            "('in_1', 120.00::decimal(18,2)), ('in_2', 80.50), ('in_3', 0.00)) t(invoice_id, amount)"
        )
    return path


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("COPY marts.invoices TO '/tmp/out.csv'", "COPY is not allowed"),
        ("copy (select 1) to 'x.parquet' (format parquet)", "COPY is not allowed"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH is not allowed"),
        ("INSTALL httpfs", "INSTALL is not allowed"),
        ("LOAD httpfs", "LOAD is not allowed"),
        ("select * from read_csv('/etc/passwd')", "read_csv() is not allowed"),
        ("select * from read_text('/etc/passwd')", "read_text() is not allowed"),
        ("with x as (select * from read_parquet('a.parquet')) select 1", "read_parquet() is not"),
        ("select * from '/etc/passwd'", "Reading files ('/etc/passwd') is not allowed"),
        ("select * from query('select 1')", "query() is not allowed"),
        ("CREATE TABLE marts.t AS SELECT 1", "CREATE is not allowed"),
        ("drop table marts.invoices", "DROP is not allowed"),
        ("SET enable_external_access = true", "SET is not allowed"),
        ("select * from marts.invoices; drop table marts.invoices", "One statement at a time"),
        ("select 1;\n-- harmless?\nattach 'x.db'", "found 2 statements"),
        ("  -- only a comment", "Nothing to run"),
    ],
)
def test_refuses_with_a_clear_message(database, sql, expected):
    with pytest.raises(sandbox.Refused) as refusal:
        sandbox.run_query(database, sql)
    assert expected in str(refusal.value)


def test_a_semicolon_inside_a_string_is_not_a_second_statement(database):
    result = sandbox.run_query(database, "select 'a; drop table marts.invoices' as text")
    assert result.frame["text"].tolist() == ["a; drop table marts.invoices"]


def test_runs_a_select_on_the_published_tables(database):
    result = sandbox.run_query(
        database, "select count(*) as n, sum(amount) as total from marts.invoices where amount > 0"
    )
    assert result.frame.to_dict("records") == [{"n": 2, "total": 200.50}]
    assert not result.truncated


def test_row_limit_keeps_the_first_rows_and_says_so(database):
    result = sandbox.run_query(database, "select range as i from range(25)", row_limit=10)
    assert result.frame["i"].tolist() == list(range(10))
    assert result.truncated
    exact = sandbox.run_query(database, "select range as i from range(10)", row_limit=10)
    assert len(exact.frame) == 10 and not exact.truncated


def test_an_empty_result_keeps_its_columns(database):
    result = sandbox.run_query(
        database, "select invoice_id, amount from marts.invoices where 1 = 0"
    )
    assert list(result.frame.columns) == ["invoice_id", "amount"] and result.frame.empty


def test_a_long_query_is_cut_by_the_timeout(database):
    with pytest.raises(sandbox.QueryTimeout, match=r"Stopped after 0.5 s"):
        sandbox.run_query(database, "select count(*) from range(1000000000000)", timeout_s=0.5)
    # The interrupted statement leaves nothing behind: the next query runs normally.
    assert sandbox.run_query(database, "select 42 as x").frame["x"].tolist() == [42]


def test_sql_errors_are_reported_not_refused(database):
    with pytest.raises(sandbox.QueryError, match="no_such_table"):
        sandbox.run_query(database, "select * from marts.no_such_table")


def test_the_engine_itself_blocks_files_even_past_the_parser(database):
    """Defence in depth: the connection refuses what check_query would have caught first."""
    with sandbox.connect_sandbox(database) as con:
        with pytest.raises(duckdb.PermissionException):
            con.execute("select * from read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error, match="configuration has been locked"):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("create table marts.t as select 1")


def test_runs_beside_the_dashboards_own_connections(database):
    """DuckDB allows one configuration per file in a process: the sandbox must not clash."""
    with duckdb.connect(str(database), read_only=True) as dashboard:
        result = sandbox.run_query(database, "select count(*) as n from marts.invoices")
        assert result.frame["n"].tolist() == [3]
        assert dashboard.execute("select count(*) from marts.invoices").fetchone() == (3,)
