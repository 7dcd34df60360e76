"""Every connector source at once through the real pipeline (one build: it is slow): the Stripe
fixtures and crafted dumps, the ELT-synced tables and a Recurly export land, the dbt marts build
on them, and the dashboard renders from the published warehouse."""

import os
import shutil

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from orchestration.config import REPO_ROOT, load_settings
from orchestration.connectors import run_import
from tests.connectors.crafted_stripe import write_crafted_stripe
from tests.connectors.test_mapped_csv import DATA
from tests.connectors.test_stripe_fixtures import DJ, OPENAPI


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from orchestration.pipeline import build

    home = tmp_path_factory.mktemp("connectors_home")
    saved = dict(os.environ)
    os.environ["ARREARS_HOME"] = str(home)
    for var in (
        "ARREARS_LANDING",
        "ARREARS_WAREHOUSE",
        "ARREARS_PUBLISHED",
        "ARREARS_REJECTED",
        "DAGSTER_HOME",
    ):
        os.environ.pop(var, None)
    try:
        settings = load_settings()
        sources = home / "sources"
        write_crafted_stripe(sources / "stripe")  # live mode
        shutil.copytree(DATA / "fivetran_stripe", sources / "stripe_tables")
        shutil.copytree(DATA / "recurly", sources / "mapped_csv" / "recurly")
        # The shared fixtures are test mode: imported beside the live source, by the CLI path.
        fixtures = home / "fixtures"
        shutil.copytree(DJ, fixtures)
        shutil.copy(OPENAPI, fixtures / "openapi_examples.json")
        run_import("stripe", fixtures, settings, livemode="test")
        # The build runs the connector assets too; importing first keeps this test independent
        # of the order Dagster gives the connector and ingestion steps (the same bytes are then
        # left untouched by the build's own run of the connectors).
        for kind, path in [("stripe", sources / "stripe"), ("stripe_tables", sources / "stripe_tables"),
                           ("mapped_csv", sources / "mapped_csv" / "recurly")]:  # fmt: skip
            run_import(kind, path, settings)
        assert build(settings), "the pipeline build failed; see the log above"
        yield settings
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_marts_hold_every_source(built):
    with duckdb.connect(str(built.published_path), read_only=True) as con:
        attempts = {
            r[0]
            for r in con.execute(
                "select attempt_id from marts.fct_payment_attempts where attempt_id in "
                "('ch_A1', 'ch_J1', 'ch_FA2', 't2', 'ch_fakefakefakefakefake0001')"
            ).fetchall()
        }
        assert attempts == {"ch_A1", "ch_J1", "ch_FA2", "t2", "ch_fakefakefakefakefake0001"}
        invoices = dict(
            con.execute(
                "select invoice_id, status from marts.fct_invoices "
                "where invoice_id in ('in_J1', 'in_FD1', '1003', 'in_fakefakefakefakefake0001')"
            ).fetchall()
        )
        assert invoices == {
            "in_J1": "uncollectible", "in_FD1": "uncollectible", "1003": "uncollectible",
            "in_fakefakefakefakefake0001": "paid",
        }  # fmt: skip


def test_dashboard_renders(built, monkeypatch):
    monkeypatch.setenv("ARREARS_HOME", str(built.home))
    app = AppTest.from_file(str(REPO_ROOT / "dashboards" / "streamlit_app.py"), default_timeout=120)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.metric or app.markdown
