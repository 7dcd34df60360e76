"""The landing sensor starts one build per new batch of files, and none for half-written ones."""

import os
import time

import dagster as dg

from orchestration.config import load_settings
from orchestration.defs.ingestion.assets import landing_sensor


def _evaluate(home, cursor=None):
    settings = load_settings({"ARREARS_HOME": str(home)})
    context = dg.build_sensor_context(cursor=cursor, resources={"settings": settings})
    result = landing_sensor.evaluate_tick(context)
    return result.run_requests, result.skip_message, result.cursor


def test_sensor_requests_one_run_per_new_file_batch(tmp_path):
    runs, skip, cursor = _evaluate(tmp_path)
    assert runs == [] and skip.startswith("no new landing files")

    settled = tmp_path / "landing" / "invoices" / "a.csv"
    settled.parent.mkdir(parents=True)
    settled.write_text("invoice_id\n")
    old = time.time() - 120
    os.utime(settled, (old, old))
    copying = tmp_path / "landing" / "customers" / "b.csv"
    copying.parent.mkdir(parents=True)
    copying.write_text("customer_id\n")  # modified just now: may still be copying

    runs, _, cursor = _evaluate(tmp_path, cursor)
    assert len(runs) == 1 and runs[0].tags["new_files"] == "1"

    runs, skip, cursor = _evaluate(tmp_path, cursor)
    assert runs == [] and "still being written" in skip

    os.utime(copying, (old, old))
    runs, _, cursor = _evaluate(tmp_path, cursor)
    assert len(runs) == 1 and runs[0].tags["new_files"] == "1"
    assert _evaluate(tmp_path, cursor)[0] == []
