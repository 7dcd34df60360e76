"""dbt unit tests (the models' logic on hand-made inputs), run apart from the data.

Production builds exclude them (`--exclude-resource-type unit_test`): they test code, which
does not change from one build to the next. Here they run against the sample warehouse,
whose tables give dbt the column types of each model's inputs.
"""

import json

from tests.dbt.conftest import Warehouse


def test_every_unit_test_passes(sample_settings):
    warehouse = Warehouse(sample_settings.warehouse_path.parent)
    warehouse.dbt("test", "--select", "test_type:unit")
    results = json.loads((warehouse.target / "run_results.json").read_text())["results"]
    # The project's on-run-start hooks (register_spark_raw, a no-op on DuckDB, and
    # create_incremental_state) report results too.
    statuses = {
        r["unique_id"].split(".")[-1]: r["status"]
        for r in results
        if r["unique_id"].startswith("unit_test.")
    }
    # Every unit test of the project's YAML, each passing: a renamed or lost test shows here.
    assert statuses == {name: "pass" for name in _declared_unit_tests()}


def _declared_unit_tests() -> set[str]:
    import yaml

    from orchestration.config import DBT_PROJECT_DIR

    names = set()
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            names.add(test["name"])
    # A unit test deleted from its YAML lowers the count: raise the floor as tests are added.
    assert len(names) >= 24
    return names
