"""How the checks sit in the Dagster graph: on the assets they guard, ERROR ones blocking,
without splitting the dbt build into several steps."""

import pytest

from data_quality.marts import mart_checks
from data_quality.raw import raw_checks
from orchestration.defs.quality.checks import mart_quality_checks, raw_quality_checks


@pytest.fixture(scope="module")
def definitions():
    from orchestration.definitions import defs

    return defs()


def test_every_check_guards_an_existing_asset_and_only_errors_block(definitions):
    assets = definitions.resolve_asset_graph().get_all_asset_keys()
    specs = [s for op in (*raw_quality_checks, mart_quality_checks) for s in op.check_specs]
    checks = {c.suite_name: c for c in raw_checks() + mart_checks()}
    assert len(specs) == len(checks) == 71
    for spec in specs:
        check = checks[f"{'.'.join(spec.asset_key.path)}.{spec.name}"]
        assert spec.asset_key in assets
        assert spec.blocking is (check.severity == "ERROR")
    references = next(s for s in specs if s.key.to_user_string() == "raw/disputes:references")
    assert {d.asset_key.to_user_string() for d in references.additional_deps} == {
        "raw/customers",
        "raw/payment_attempts",
    }


def test_the_build_job_keeps_one_dbt_step_and_one_check_step_per_load_layer(definitions):
    """A check op spanning parent and child raw entities makes a cycle through the blocking
    checks; Dagster then splits every multi-asset, dbt included, into one step per layer."""
    ops = set(definitions.resolve_job_def("build_warehouse").graph.node_dict)
    assert {op for op in ops if op.startswith("arrears_dbt")} == {"arrears_dbt"}
    assert {op for op in ops if "quality" in op} == {
        *(f"raw_quality_layer_{i}" for i in range(5)),
        "mart_quality_checks",
    }
