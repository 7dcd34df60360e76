"""The Dagster code location as a whole: the asset graph every build runs (a snapshot in spirit
of dagster-open-platform's test_defs.py)."""

import dagster as dg
from dagster._core.execution.api import create_execution_plan

from orchestration.config import exported, load_settings
from orchestration.contract import ENTITIES
from orchestration.pipeline import load_definitions, prepare_dbt


def _definitions(tmp_path):
    settings = load_settings({"ARREARS_HOME": str(tmp_path)})
    with exported(settings):
        prepare_dbt(settings)
        return load_definitions(settings)


def test_asset_graph_runs_ingest_then_one_dbt_step_then_alerts_then_publish(tmp_path):
    defs = _definitions(tmp_path)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{e.name}" for e in ENTITIES} <= keys
    assert {"marts/fct_invoices", "marts/fct_payment_attempts", "marts/receivables_daily",
            "marts/incidents", "alerting/alerts", "published_warehouse"} <= keys  # fmt: skip

    # Each staging model reads its own raw ingestion asset.
    for entity in ENTITIES:
        stg = next(
            k for k in graph.get_all_asset_keys() if k.path[-1] == f"stg_billing__{entity.name}"
        )
        assert dg.AssetKey(["raw", entity.name]) in graph.get(stg).parent_keys

    # Publishing waits for every other asset.
    published = dg.AssetKey("published_warehouse")
    ancestors, todo = set(), [published]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                todo.append(parent)
    readable = {k for k in graph.get_all_asset_keys() if k.path[0] in ("raw", "marts", "alerting")}
    assert readable - ancestors == set()

    # dbt runs as ONE step: a blocking check between two dbt models would split it (slow, and dbt
    # tests would run in subsets whose parents were not built).
    plan = create_execution_plan(defs.resolve_job_def("build_warehouse"))
    steps = [s.key for s in plan.get_steps_to_execute_in_topo_order()]
    assert [s for s in steps if s.startswith("arrears_dbt")] == ["arrears_dbt"]
    assert steps[-1] == "published_warehouse"
    raw_steps = [steps.index(f"raw__{e.name}") for e in ENTITIES]
    assert max(raw_steps) < steps.index("arrears_dbt") < steps.index("alerting__alerts")


def test_automation_sensor_and_daily_schedule_target_the_build(tmp_path):
    defs = _definitions(tmp_path)
    assert defs.resolve_sensor_def("landing_sensor").job_name == "build_warehouse"
    schedule = defs.resolve_schedule_def("daily_rebuild")
    assert schedule.job_name == "build_warehouse" and schedule.cron_schedule == "0 5 * * *"
    summary = defs.resolve_schedule_def("weekly_leadership_summary_schedule")
    assert summary.job_name == "weekly_leadership_summary" and summary.cron_schedule == "0 7 * * 1"


def test_every_asset_check_and_sensor_receives_the_one_settings_value(tmp_path):
    defs = _definitions(tmp_path)
    settings = defs.resources["settings"]
    assert settings == load_settings({"ARREARS_HOME": str(tmp_path)})
    # Every job resolves with it: no asset asks for a resource the location lacks.
    assert defs.resolve_job_def("build_warehouse").resource_defs["settings"]
    for name in ("landing_sensor", "connector_sources_sensor"):
        assert "settings" in defs.resolve_sensor_def(name).required_resource_keys
