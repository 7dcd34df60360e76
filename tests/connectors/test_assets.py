"""The connector assets under Dagster: sources under <home>/sources/ → landing, checks reported."""

import shutil

import dagster as dg
import pytest

from orchestration.config import load_settings
from orchestration.defs.connectors.assets import (
    CONNECTOR_ASSET_KEYS,
    mapped_csv_asset,
    stripe_objects_asset,
    stripe_tables_asset,
)
from tests.connectors.crafted_stripe import write_crafted_stripe
from tests.connectors.test_mapped_csv import DATA


@pytest.fixture
def home(tmp_path, monkeypatch):
    for var in ("ARREARS_LANDING", "ARREARS_WAREHOUSE", "ARREARS_PUBLISHED", "ARREARS_REJECTED"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    return tmp_path


def _materialize(home):
    return dg.materialize(
        [stripe_objects_asset, stripe_tables_asset, mapped_csv_asset],
        resources={"settings": load_settings({"ARREARS_HOME": str(home)})},
    )


def test_no_sources_is_a_quiet_success(home):
    result = _materialize(home)
    assert result.success
    assert not (home / "landing").exists() or not any((home / "landing").rglob("*.parquet"))
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"orphan_references": True, "values_outside_contract": True}


def test_sources_land_and_checks_count_what_is_messy(home):
    write_crafted_stripe(home / "sources" / "stripe")
    shutil.copytree(DATA / "fivetran_stripe", home / "sources" / "stripe_tables")
    shutil.copytree(DATA / "recurly", home / "sources" / "mapped_csv" / "recurly")
    result = _materialize(home)
    assert result.success
    prefixes = {p.name.split("--")[0] for p in (home / "landing").rglob("*.parquet")}
    assert prefixes == {"stripe", "stripe_tables", "mapped_csv-recurly"}
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    stripe_orphans = evaluations[("stripe", "orphan_references")]
    assert not stripe_orphans.passed  # a warning, not a failure of the run
    assert stripe_orphans.metadata["total"].value == 3
    assert stripe_orphans.metadata["placeholder_customers"].value == 1
    assert not evaluations[("stripe", "values_outside_contract")].passed  # sub_U "archived"
    assert evaluations[("stripe_tables", "orphan_references")].passed
    assert evaluations[("mapped_csv", "orphan_references")].metadata["total"].value == 1
    assert (home / "connectors" / "reports" / "stripe.json").exists()
    assert [k.to_user_string() for k in CONNECTOR_ASSET_KEYS] == [
        "connectors/stripe",
        "connectors/stripe_tables",
        "connectors/mapped_csv",
    ]


def test_sources_sensor_starts_a_build_once_a_change_has_settled(home):
    import os
    import time

    from orchestration.defs.connectors.assets import connector_sources_sensor

    dump = write_crafted_stripe(home / "sources" / "stripe") / "2026-03-01_charges.json"
    context = dg.build_sensor_context(
        cursor=None, resources={"settings": load_settings({"ARREARS_HOME": str(home)})}
    )
    assert isinstance(connector_sources_sensor(context), dg.SkipReason)  # still being copied
    old = time.time() - 120
    for path in dump.parent.iterdir():
        os.utime(path, (old, old))
    request = connector_sources_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert isinstance(connector_sources_sensor(context), dg.SkipReason)  # nothing new since


def test_the_cli_and_the_assets_share_one_table_of_connector_options():
    from orchestration.connectors.run import connector_options
    from orchestration.defs.connectors.assets import _options

    settings = load_settings({"ARREARS_STRIPE_TABLES_SCHEMA": "stripe"})
    assert _options("stripe", settings) == {"livemode": "auto"}
    assert _options("stripe_tables", settings) == {"livemode": "auto", "schema": "stripe"}
    assert _options("mapped_csv", settings) == {}
    # What a kind does not take is left out; unset options too.
    assert connector_options("mapped_csv", livemode="live", mapping="recurly") == {
        "mapping": "recurly"
    }
    assert connector_options("stripe", livemode=None) == {}
