"""The Dagster asset `alerting/alerts`, materialised on the crafted history's marts."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from orchestration.config import load_settings
from orchestration.defs.alerting.assets import ALERTS_KEY, alerts


def test_the_asset_announces_the_open_incident_once_and_reports_delivery(
    monitored, tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(monitored.read_bytes())
    settings = load_settings(
        {"ARREARS_HOME": str(tmp_path / "home"), "ARREARS_WAREHOUSE": str(warehouse)}
    )

    for run in (1, 2):
        result = dg.materialize([alerts], resources={"settings": settings})
        assert result.success
        [event] = result.get_asset_materialization_events()
        materialization = event.materialization
        metadata = materialization.metadata
        assert materialization.asset_key == ALERTS_KEY
        assert metadata["open_alerts"].value == 1  # the bolt spike still going at 23:39
        assert metadata["notifications_sent"].value == (1 if run == 1 else 0)
        [check] = result.get_asset_check_evaluations()
        assert check.check_name == "notifications_delivered" and check.passed

    # The only configured channel here is the log file under ARREARS_HOME.
    lines = (tmp_path / "home" / "alerts.log").read_text().splitlines()
    assert [json.loads(line)["fields"]["Where"] for line in lines] == ["processor = bolt"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*), count(*) filter (where notify) from alerting.alerts"
        ).fetchone() == (5, 1)
