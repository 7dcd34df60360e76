"""ELT table names as Fivetran, Airbyte and Stitch write them are recognised; a source with no
recognisable table fails loudly, naming what it found and what it expected (issue 14, defect 6:
it used to exit 0 having imported "nothing")."""

import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.cli import main
from orchestration.connectors.run import import_stripe_tables
from orchestration.connectors.stripe_tables import NoStripeTables, table_kind

FIVETRAN = Path(__file__).parent / "data" / "fivetran_stripe"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("charge", "charge"),  # Fivetran
        ("charges", "charge"),  # Airbyte, Stitch
        ("CHARGES", "charge"),  # a warehouse that upper-cases identifiers (Snowflake)
        ("Charge", "charge"),
        ("stripe_charges", "charge"),
        ("stripe__charge", "charge"),
        ("PaymentIntents", "payment_intent"),
        ("payment-intents", "payment_intent"),
        ("radar_early_fraud_warnings", "radar.early_fraud_warning"),
        ("subscription_history", "subscription"),
        ("balance_transactions", None),
        ("stripe_balance_transactions", None),
        ("chargebacks", None),
    ],
)
def test_table_kind(name, kind):
    assert table_kind(name) == kind


def _rename_tables(tmp_path: Path, rename) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    for path in FIVETRAN.glob("*.csv"):
        shutil.copy(path, folder / f"{rename(path.stem)}.csv")
    return folder


def test_prefixed_upper_case_plural_names_give_the_same_rows(tmp_path):
    """The Fivetran fixture renamed to `STRIPE_CHARGES.csv` etc. maps to the same rows."""
    as_is = import_stripe_tables(FIVETRAN, tmp_path / "a", prefix="t").report
    renamed = _rename_tables(tmp_path, lambda stem: f"STRIPE_{stem.upper()}S")
    other = import_stripe_tables(renamed, tmp_path / "b", prefix="t").report
    # from the CSVs: 2 customers, 2 subscriptions, 3 invoices less 1 deleted draft, 4 charges
    # less 1 test-mode one, 1 dispute, 1 refund
    assert dict(other.rows_mapped) == dict(as_is.rows_mapped) == {
        "customers": 2, "subscriptions": 2, "invoices": 2, "payment_attempts": 3,
        "disputes": 1, "refunds": 1,
    }  # fmt: skip
    for entity in as_is.rows_mapped:
        a, b = (pq.read_table(tmp_path / side / entity).to_pylist() for side in "ab")
        assert sorted(a, key=str) == sorted(b, key=str)


def test_folder_without_a_stripe_table_fails_with_what_was_found_and_expected(tmp_path):
    folder = _rename_tables(tmp_path, lambda stem: f"export_{stem}")  # export_charge.csv ...
    with pytest.raises(NoStripeTables) as raised:
        import_stripe_tables(folder, tmp_path / "landing")
    message = str(raised.value)
    assert (
        message.splitlines()[0] == f"No Stripe table recognised in {folder}: nothing was imported."
    )
    assert "Tables found: export_balance_transaction, export_card, export_charge," in message
    assert "customer, subscription, subscription_item, price, plan, product, invoice" in message
    assert not (tmp_path / "landing").exists()


def test_database_schema_without_stripe_tables_names_the_other_schemas(tmp_path):
    database = tmp_path / "elt.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema stripe; create schema billing")
        con.execute("create table stripe.orders (id varchar)")
        con.execute("create table billing.charge (id varchar)")
    with pytest.raises(NoStripeTables) as raised:
        import_stripe_tables(database, tmp_path / "landing")
    assert str(raised.value).splitlines()[1:] == [
        "Tables found: orders.",
        "Expected Stripe tables as Fivetran, Airbyte or Stitch name them (singular or plural, "
        "any case, optionally prefixed stripe_): customer, subscription, subscription_item, "
        "price, plan, product, invoice, invoice_payment, charge, payment_intent, refund, "
        "dispute, payment_method, payment_method_card, card, early_fraud_warning.",
        "Other schemas in the database: billing (choose one with --schema).",
    ]


def test_cli_exits_non_zero_with_the_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARREARS_HOME", str(tmp_path / "home"))
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "orders.csv").write_text("id,amount\no_1,10\n")
    assert main(["import", "stripe-tables", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"arrears import stripe-tables: No Stripe table recognised in {folder}: nothing was "
        "imported.\nTables found: orders.\n"
    )
    assert main(["import", "stripe-tables", str(tmp_path / "absent.duckdb")]) == 2
    assert "no such folder or database" in capsys.readouterr().err
