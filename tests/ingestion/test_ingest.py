"""Ingestion: every kind of bad row is quarantined with its reason, the good rows still load,
nothing loads twice, newer versions supersede older ones, unreadable files are set aside."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import ingest
from orchestration.config import load_settings
from orchestration.contract import ENTITIES, ENTITY_BY_NAME

CUSTOMER_HEADER = "customer_id,email,name,country,verification_status,created_at,updated_at"
INVOICE_HEADER = (
    "invoice_id,subscription_id,customer_id,currency,amount_due,amount_paid,issued_at,due_at,"
    "paid_at,status,written_off_at,billing_reason,updated_at"
)
SUB_HEADER = (
    "subscription_id,customer_id,plan,billing_interval,amount,currency,status,started_at,"
    "canceled_at,cancel_reason,updated_at"
)


def write(landing: Path, entity: str, name: str, text: str | bytes) -> Path:
    path = landing / entity / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def env(tmp_path):
    landing, rejected = tmp_path / "landing", tmp_path / "rejected"
    con = ingest.connect(tmp_path / "w.duckdb")
    ingest.create_raw_schema(con)

    def load(entity: str) -> ingest.EntityLoadReport:
        return ingest.load_entity(con, entity, landing, rejected)

    yield con, landing, rejected, load
    con.close()


def base_parents(landing: Path) -> None:
    write(
        landing,
        "customers",
        "c.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,Ann,DE,verified,2026-01-01,2026-01-01\n",
    )
    write(
        landing,
        "subscriptions",
        "s.csv",
        f"{SUB_HEADER}\ns1,c1,growth,month,49.00,EUR,active,2026-01-01,,,2026-01-01\n",
    )


def quarantine(con, entity=None) -> dict[int, str]:
    rows = con.execute(
        "select source_row, reason from raw._quarantine where entity = coalesce(?, entity) order by 1",
        [entity],
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize(
    ("bad_row", "expected_reason"),
    [
        ("i9,s1,c1,EUR,abc,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "unparseable amount_due (expected decimal(18,2)): 'abc'"),
        (",s1,c1,EUR,10,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "missing invoice_id"),
        ("i9,s1,c1,EUR,-10,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "negative amount_due: -10.00"),
        ("i9,s1,c1,XYZ,10,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "unknown currency 'XYZ' (allowed: "),
        ("i9,s1,c1,EUR,10,0,2026-02-01,9999-12-31,,open,,subscription_cycle,2026-02-01",
         "due_at out of range [2000, 2100): 9999-12-31 00:00:00"),
        ("i9,s1,c9,EUR,10,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "unknown customer_id 'c9' (no such customer)"),
        ("i9,s1,c1,EUR,10,0,02/01/2026,2026-02-10,,open,,subscription_cycle,2026-02-01",
         "unparseable issued_at (expected timestamp): '02/01/2026'"),
        ("i9,s1,c1,EUR,10,0,2026-02-01,2026-02-10,,pending,,subscription_cycle,2026-02-01",
         "unknown status 'pending' (allowed: draft, open, paid, void, uncollectible)"),
        ("i9,s1,c1,EUR,10", "expected 13 fields, found 5"),
    ],
)  # fmt: skip
def test_each_bad_row_kind_is_quarantined_with_its_reason(env, bad_row, expected_reason):
    con, landing, _, load = env
    base_parents(landing)
    load("customers"), load("subscriptions")
    good = "i1,s1,c1,EUR,49.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01"
    good2 = "i2,s1,c1,EUR,49.00,49.00,2026-03-01,2026-03-10,2026-03-02,paid,,subscription_cycle,2026-03-02"
    write(landing, "invoices", "drop.csv", f"{INVOICE_HEADER}\n{good}\n{bad_row}\n{good2}\n")

    report = load("invoices")

    (file,) = report.files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (3, 2, 1)
    assert con.execute("select list(invoice_id order by invoice_id) from raw.invoices").fetchone()[
        0
    ] == ["i1", "i2"]
    reasons = quarantine(con, "invoices")
    assert list(reasons) == [2]  # the bad row is data row 2 of the file
    assert reasons[2].startswith(expected_reason)
    source = con.execute("select source_file from raw._quarantine").fetchone()[0]
    assert source == "invoices/drop.csv"


def test_same_file_twice_and_same_content_renamed_load_once(env):
    con, landing, _, load = env
    base_parents(landing)
    load("customers")
    load("customers")
    write(landing, "customers", "copy-of-c.csv", (landing / "customers" / "c.csv").read_text())
    second = load("customers")
    assert second.files == []  # the copy has the same checksum: skipped
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 1
    assert con.execute("select count(*) from raw._load_manifest").fetchone()[0] == 1


def test_overlapping_exports_do_not_duplicate_versions(env):
    con, landing, _, load = env
    write(
        landing,
        "customers",
        "a.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,Ann,DE,verified,2026-01-01,2026-01-01\n",
    )
    load("customers")
    # A later export re-sends c1 unchanged plus a new customer.
    write(
        landing,
        "customers",
        "b.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,Ann,DE,verified,2026-01-01,2026-01-01\n"
        "c2,b@x.io,Bo,FR,pending,2026-01-02,2026-01-02\n",
    )
    (file,) = load("customers").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.rows_already_loaded) == (
        2,
        1,
        0,
        1,
    )
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 2


def test_newer_version_supersedes_and_history_is_kept(env):
    con, landing, _, load = env
    base_parents(landing)
    load("customers"), load("subscriptions")
    open_v = (
        "i1,s1,c1,EUR,49.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01T00:00:00Z"
    )
    paid_v = "i1,s1,c1,EUR,49.00,49.00,2026-02-01,2026-02-10,2026-02-15T10:00:00Z,paid,,subscription_cycle,2026-02-15T10:00:00Z"
    # The newer version arrives FIRST (out of order), the older one later.
    write(landing, "invoices", "1-new.csv", f"{INVOICE_HEADER}\n{paid_v}\n")
    load("invoices")
    write(landing, "invoices", "2-old.csv", f"{INVOICE_HEADER}\n{open_v}\n")
    load("invoices")
    versions = con.execute(
        "select status, updated_at::varchar from raw.invoices order by updated_at"
    ).fetchall()
    assert versions == [("open", "2026-02-01 00:00:00"), ("paid", "2026-02-15 10:00:00")]
    latest = con.execute(
        "select status from raw.invoices qualify row_number() over "
        "(partition by invoice_id order by updated_at desc, _loaded_at desc) = 1"
    ).fetchone()[0]
    assert latest == "paid"


def test_child_before_parent_is_released_when_the_parent_arrives(env):
    con, landing, _, load = env
    write(
        landing,
        "subscriptions",
        "s.csv",
        f"{SUB_HEADER}\ns1,c1,growth,month,49,EUR,active,2026-01-01,,,2026-01-01\n",
    )
    load("customers")
    first = load("subscriptions")
    assert first.rows_quarantined == 1 and first.rows_loaded == 0
    write(
        landing,
        "customers",
        "c.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,Ann,DE,verified,2026-01-01,2026-01-01\n",
    )
    load("customers")
    second = load("subscriptions")
    assert second.released_from_quarantine == 1
    assert con.execute(
        "select subscription_id, _source_file, _source_row from raw.subscriptions"
    ).fetchall() == [("s1", "subscriptions/s.csv", 1)]
    assert (
        con.execute(
            "select count(*) from raw._quarantine where replayed_at is not null"
        ).fetchone()[0]
        == 1
    )
    assert load("subscriptions").released_from_quarantine == 0  # released once, not again


def test_encodings_delimiters_and_header_variants_are_read_correctly(env):
    con, landing, _, load = env
    latin1 = f"{CUSTOMER_HEADER}\nc1,a@x.io,Zoë Müller,DE,verified,2026-01-01,2026-01-01\n".encode(
        "latin-1"
    )
    write(landing, "customers", "latin1.csv", latin1)
    bom = "\ufeff" + f"{CUSTOMER_HEADER}\nc2,b@x.io,Renée,FR,verified,2026-01-01,2026-01-01\n"
    write(landing, "customers", "bom.csv", bom.encode("utf-8"))
    semicolon = (
        CUSTOMER_HEADER.replace(",", ";").upper()
        + "\nc3;c@x.io;Åsa;SE;verified;2026-01-01;2026-01-01\n"
    )
    write(landing, "customers", "semi.csv", semicolon)
    report = load("customers")
    assert sum(f.rows_loaded for f in report.files) == 3
    names = dict(con.execute("select customer_id, name from raw.customers").fetchall())
    assert names == {"c1": "Zoë Müller", "c2": "Renée", "c3": "Åsa"}
    notes = con.execute("select file_path, error from raw._load_manifest order by 1").fetchall()
    # The files carry the contract's first columns only: the optional ones load as null.
    absent = "optional column(s) absent, loaded as null: delinquent, balance, balance_currency"
    assert notes == [
        ("customers/bom.csv", absent),
        ("customers/latin1.csv", f"read as cp1252 (not valid UTF-8); {absent}"),
        ("customers/semi.csv", f"delimiter ';'; {absent}"),
    ]


def test_jsonl_with_one_broken_line_and_parquet(env, tmp_path):
    con, landing, _, load = env
    lines = [
        json.dumps({"customer_id": "c1", "email": "a@x.io", "name": "A", "country": "DE",
                    "verification_status": "verified", "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z"}),
        '{"customer_id": "c2", "email": ',
        json.dumps({"customer_id": "c3", "created_at": "2026-01-02", "updated_at": "2026-01-02",
                    "extra_field": 1}),
    ]  # fmt: skip
    write(landing, "customers", "a.jsonl", "\n".join(lines) + "\n")
    pq = tmp_path / "p.parquet"
    duckdb.sql(
        "copy (select 'c4' as customer_id, 'd@x.io' as email, 'D' as name, 'FR' as country, "
        "'verified' as verification_status, timestamp '2026-01-03' as created_at, "
        f"timestamp '2026-01-03' as updated_at) to '{pq}' (format parquet)"
    )
    write(landing, "customers", "b.parquet", pq.read_bytes())
    report = load("customers")
    by_name = {f.path.name: f for f in report.files}
    jsonl = by_name["a.jsonl"]
    assert (jsonl.rows_read, jsonl.rows_loaded, jsonl.rows_quarantined) == (3, 2, 1)
    assert quarantine(con)[2].startswith("invalid JSON")
    assert by_name["b.parquet"].rows_loaded == 1
    assert sorted(r[0] for r in con.execute("select customer_id from raw.customers").fetchall()) == [
        "c1", "c3", "c4"
    ]  # fmt: skip


def test_unreadable_files_are_set_aside_with_a_report(env):
    con, landing, rejected, load = env
    write(landing, "customers", "garbage.parquet", b"\x00\x01 not parquet at all")
    write(landing, "customers", "wrong.csv", "foo,bar\n1,2\n")
    write(landing, "customers", "notes.txt", "hello")
    write(landing, "customers", "empty.csv", b"")
    report = load("customers")
    statuses = {f.path.name: f.status for f in report.files}
    assert statuses == {"garbage.parquet": "rejected", "wrong.csv": "rejected", "notes.txt": "rejected",
                        "empty.csv": "empty"}  # fmt: skip
    assert not (landing / "customers" / "wrong.csv").exists()
    report_text = (rejected / "customers" / "wrong.csv.error.txt").read_text()
    assert "missing required column(s) customer_id, created_at, updated_at" in report_text
    assert (
        "not a readable Parquet file"
        in (rejected / "customers" / "garbage.parquet.error.txt").read_text()
    )
    # Re-running neither reloads nor re-reports them.
    assert load("customers").files == []


def test_row_accounting_holds_on_a_mixed_file(env):
    con, landing, _, load = env
    rows = [
        "c1,a@x.io,A,DE,verified,2026-01-01,2026-01-01",
        "c2,b@x.io,B,DE,bogus,2026-01-01,2026-01-01",
        "c1,a@x.io,A,DE,verified,2026-01-01,2026-01-01",  # duplicate version in the same file
        "c3,c@x.io,C,DE,verified,2026-01-01",  # truncated
        CUSTOMER_HEADER,  # header repeated mid-file
        "c4,d@x.io,D,DE,verified,2026-01-01,2026-01-01",
    ]
    write(landing, "customers", "mixed.csv", CUSTOMER_HEADER + "\n" + "\n".join(rows) + "\n")
    (file,) = load("customers").files
    assert file.rows_read == 6
    assert file.rows_read == file.rows_loaded + file.rows_quarantined + file.rows_already_loaded
    assert (file.rows_loaded, file.rows_quarantined) == (2, 4)
    reasons = quarantine(con)
    assert reasons[3] == "duplicate of an earlier row with the same customer_id and updated_at"
    assert reasons[4] == "expected 7 fields, found 6"
    assert reasons[5] == "repeated header line"


def test_a_crash_mid_file_leaves_nothing_and_the_rerun_loads_it_whole(env, monkeypatch):
    con, landing, _, load = env
    write(
        landing,
        "customers",
        "c.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,A,DE,verified,2026-01-01,2026-01-01\n",
    )

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the rows were inserted")

    monkeypatch.setattr(ingest, "_insert_quarantine", crash)
    with pytest.raises(RuntimeError):
        load("customers")
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 0
    assert con.execute("select count(*) from raw._load_manifest").fetchone()[0] == 0
    monkeypatch.undo()
    assert load("customers").rows_loaded == 1


def test_ingestion_assets_materialise_through_dagster(tmp_path, monkeypatch):
    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    settings = load_settings()
    base_parents(settings.landing_dir)
    from orchestration.defs.ingestion.assets import raw_assets

    result = dg.materialize(raw_assets)
    assert result.success
    mats = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(mats) == {e.name for e in ENTITIES}
    assert mats["customers"]["rows_loaded"].value == 1
    assert mats["subscriptions"]["rows_loaded"].value == 1
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.subscriptions").fetchone()[0] == 1
    # A second materialisation with no new files changes nothing.
    assert dg.materialize(raw_assets).success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.customers").fetchone()[0] == 1


def test_a_quarantined_row_fixed_and_dropped_again_loads_and_is_marked_replayed(env, tmp_path):
    con, landing, _, load = env
    write(
        landing,
        "customers",
        "a.csv",
        f"{CUSTOMER_HEADER}\nc1,a@x.io,A,DE,verified,2026-01-01,2026-01-01\n"
        "c2,b@x.io,B,DE,verified,2026-13-45,2026-01-01\n",
    )
    load("customers")
    out = tmp_path / "fix" / "customers.csv"
    assert ingest.export_quarantine(con, "customers", out) == 1
    exported = out.read_text().splitlines()
    # Every contract column, in contract order, then where the row came from and why it stayed.
    columns = ",".join(ENTITY_BY_NAME["customers"].column_names)
    assert exported[0] == columns + ",_reason,_source_file,_source_row"
    fixed = exported[1].replace("2026-13-45", "2026-01-05")
    write(landing, "customers", "fixed.csv", exported[0] + "\n" + fixed + "\n")
    (file,) = load("customers").files
    assert (file.rows_loaded, file.rows_quarantined) == (1, 0)
    assert (
        con.execute("select count(*) from raw._quarantine where replayed_at is null").fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select created_at::date::varchar from raw.customers where customer_id = 'c2'"
        ).fetchone()[0]
        == "2026-01-05"
    )


def test_typed_parquet_loads_and_quarantines_exactly_like_the_same_rows_as_text(env, tmp_path):
    """Parquet columns already of the contract's type skip the text round trip (the fast path
    at scale); a file must still load the same values and quarantine the same rows, for the same
    reasons, as the same rows written as CSV."""
    con, landing, _, load = env
    base_parents(landing)
    load("customers"), load("subscriptions")
    rows = [
        # good; an offset timestamp (converted to UTC); the same version twice; negative;
        # missing required; out of range; unknown reference; unknown status.
        "i1,s1,c1,EUR,49.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
        "i2,s1,c1,eur,49.50,49.50,2026-03-01 10:00:00+02,2026-03-10,2026-03-02,PAID,,subscription_cycle,2026-03-02",
        "i2,s1,c1,EUR,49.50,49.50,2026-03-01 08:00:00,2026-03-10,2026-03-02,paid,,subscription_cycle,2026-03-02",
        "i3,s1,c1,EUR,-10.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
        "i4,s1,c1,EUR,10.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,",
        "i5,s1,c1,EUR,10.00,0,2026-02-01,2199-02-10,,open,,subscription_cycle,2026-02-01",
        "i6,s1,c9,EUR,10.00,0,2026-02-01,2026-02-10,,open,,subscription_cycle,2026-02-01",
        "i7,s1,c1,EUR,10.00,0,2026-02-01,2026-02-10,,pending,,subscription_cycle,2026-02-01",
    ]  # fmt: skip
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(INVOICE_HEADER + "\n" + "\n".join(rows) + "\n")
    parquet_path = tmp_path / "rows.parquet"
    # Typed as a billing system's export would be: decimals, TIMESTAMPTZ, TIMESTAMP_NS.
    duckdb.sql(
        f"""copy (
            select * replace (
                amount_due::decimal(18,2) as amount_due, amount_paid::decimal(18,2) as amount_paid,
                issued_at::timestamptz as issued_at, due_at::timestamp_ns as due_at,
                paid_at::timestamp as paid_at, written_off_at::timestamp as written_off_at,
                updated_at::timestamp as updated_at)
            from read_csv('{csv_path}', all_varchar = true)
        ) to '{parquet_path}' (format parquet)"""
    )
    described = dict(
        duckdb.sql(f"select column_name, column_type from (describe '{parquet_path}')").fetchall()
    )
    assert (described["amount_due"], described["issued_at"], described["due_at"]) == (
        "DECIMAL(18,2)", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS",
    )  # fmt: skip

    def load_as(name: str, data: bytes) -> tuple[list, list]:
        con.execute(
            "delete from raw.invoices; delete from raw._quarantine where entity = 'invoices'"
        )
        write(landing, "invoices", name, data)
        (file,) = load("invoices").files
        (landing / "invoices" / name).unlink()
        loaded = con.execute(
            "select * exclude (_source_file, _loaded_at) from raw.invoices order by all"
        ).fetchall()
        quarantined = con.execute(
            "select source_row, reason, reason_code from raw._quarantine "
            "where entity = 'invoices' order by source_row"
        ).fetchall()
        assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (8, 2, 6)
        return loaded, quarantined

    csv_loaded, csv_quarantined = load_as("rows.csv", csv_path.read_bytes())
    parquet_loaded, parquet_quarantined = load_as("rows.parquet", parquet_path.read_bytes())

    assert parquet_loaded == csv_loaded
    assert [r[0] for r in csv_loaded] == ["i1", "i2"]
    # 10:00 at +02 is 08:00 UTC; the status and currency are normalised.
    i2 = csv_loaded[1]
    assert (i2[3], str(i2[6]), i2[9]) == ("EUR", "2026-03-01 08:00:00", "paid")
    assert [(row, code) for row, _, code in csv_quarantined] == [
        (3, "invalid"), (4, "invalid"), (5, "invalid"), (6, "invalid"), (7, "unknown_reference"),
        (8, "invalid"),
    ]  # fmt: skip
    assert [r[1].split(":")[0].split(" '")[0] for r in parquet_quarantined] == [
        "duplicate of an earlier row with the same invoice_id and updated_at",
        "negative amount_due", "missing updated_at", "due_at out of range [2000, 2100)",
        "unknown customer_id", "unknown status",
    ]  # fmt: skip
    assert parquet_quarantined == csv_quarantined


def test_json_amounts_load_to_the_cent_however_many_digits(env):
    """JSON numbers are decimals: read as floats, 1234567890123456.78 loaded as ...456.80 and
    9999999999999999.99 (the largest DECIMAL(18,2)) became 1e+16 and was quarantined."""
    con, landing, _, load = env
    base_parents(landing)
    load("customers"), load("subscriptions")
    lines = [
        '{"invoice_id": "i1", "customer_id": "c1", "currency": "EUR", "amount_due": '
        f'{amount}, "issued_at": "2026-02-01", "due_at": "2026-02-10", "status": "open", '
        f'"updated_at": "2026-02-0{day}"}}'
        for day, amount in enumerate(["1234567890123456.78", "9999999999999999.99", "49.9"], 1)
    ]
    write(landing, "invoices", "big.jsonl", "\n".join(lines) + "\n")
    (file,) = load("invoices").files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (3, 3, 0)
    amounts = con.execute("select amount_due::varchar from raw.invoices order by updated_at")
    assert [a for (a,) in amounts.fetchall()] == [
        "1234567890123456.78", "9999999999999999.99", "49.90"
    ]  # fmt: skip
