"""The dbt models as Dagster assets: wiring to the raw ingestion assets, checks, pool, and a real
materialisation of the golden history through dagster-dbt."""

import dagster as dg
import pytest

from orchestration.contract import ENTITIES
from orchestration.defs.ingestion.assets import WRITER_POOL


@pytest.fixture(scope="module")
def transform():
    from orchestration.defs.transform import assets

    return assets


def test_staging_models_hang_off_their_raw_assets(transform):
    specs = {s.key: s for s in transform.arrears_dbt_assets.specs}
    for entity in ENTITIES:
        spec = specs[dg.AssetKey(["staging", f"stg_billing__{entity.name}"])]
        assert [d.asset_key for d in spec.deps] == [dg.AssetKey(["raw", entity.name])]


def test_every_model_is_downstream_of_raw(transform):
    specs = {s.key: s for s in transform.arrears_dbt_assets.specs}

    def reaches_raw(key, seen=()):
        if key.path[0] == "raw":
            return True
        spec = specs.get(key)
        return spec is not None and any(
            reaches_raw(d.asset_key, (*seen, key)) for d in spec.deps if d.asset_key not in seen
        )

    models = [k for k, s in specs.items() if s.group_name != "reference"]
    assert len(models) >= 30
    # Only the FX rate periods (a seed), the semantic layer's calendar and the build's own
    # settings (dbt vars) use no billing data.
    assert sorted(k.to_user_string() for k in models if not reaches_raw(k)) == [
        "intermediate/int_fx_rates",
        "marts/metric_settings",
        "marts/metricflow_time_spine",
    ]


def test_groups_follow_the_layer_folders_and_monitoring_is_its_own_group(transform):
    """The golden build selects groups (conftest.OWN_GROUPS): were the monitoring models of
    intermediate/monitoring and marts/monitoring grouped with their layer, it would build them."""
    groups = {s.key.to_user_string(): s.group_name for s in transform.arrears_dbt_assets.specs}
    assert {
        name: groups[name]
        for name in (
            "staging/stg_billing__invoices",
            "intermediate/int_as_of",
            "intermediate/int_failure_rate_windows",
            "marts/fct_invoices",
            "marts/incidents",
            "marts/metricflow_time_spine",
            "reference/decline_codes",
            "reference/network_thresholds",
        )
    } == {
        "staging/stg_billing__invoices": "staging",
        "intermediate/int_as_of": "intermediate",
        "intermediate/int_failure_rate_windows": "monitoring",
        "marts/fct_invoices": "marts",
        "marts/incidents": "monitoring",
        "marts/metricflow_time_spine": "semantic",
        "reference/decline_codes": "reference",
        "reference/network_thresholds": "reference",
    }


def test_dbt_tests_are_asset_checks_and_writers_share_the_pool(transform):
    checks = {c.key for c in transform.arrears_dbt_assets.check_specs}
    fct_invoices = dg.AssetKey(["marts", "fct_invoices"])
    assert dg.AssetCheckKey(fct_invoices, "unique_fct_invoices_invoice_id") in checks
    assert transform.arrears_dbt_assets.node_def.pool == WRITER_POOL


def test_golden_build_ran_every_check(golden_run):
    warehouse, result = golden_run
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "collections_monthly"]) in materialised
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 100 and all(e.passed for e in evaluations)
    assert warehouse.query("select count(*) from marts.fct_invoices") == [(40,)]
