"""`arrears alerts list|ack` against a published warehouse holding alerts."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from orchestration.alerting.channels import AlertChannels
from orchestration.alerting.commands import add_alerts_parser
from orchestration.alerting.store import sync_alerts
from orchestration.config import load_settings
from orchestration.publish import publish
from tests.alerting.conftest import incident, write_incidents


def cli(settings, *argv):
    parser = argparse.ArgumentParser()
    add_alerts_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["alerts", *argv])
    return args.func(args, settings)


def test_list_then_ack_by_prefix_writes_a_request_for_the_next_run(tmp_path, capsys):
    settings = load_settings({"ARREARS_HOME": str(tmp_path)})
    settings.ensure_dirs()
    write_incidents(
        settings.warehouse_path,
        [
            incident(incident_id="12d4499fa11a0ebe"),
            incident(incident_id="12d4aaaa", segment_value="stripe"),
        ],
        as_of=datetime(2026, 3, 4, 16),
    )
    sync_alerts(settings.warehouse_path, AlertChannels(), now=datetime(2026, 3, 4, 16))
    publish(settings.warehouse_path, settings.published_path)

    assert cli(settings, "list") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(
        "open      critical failure_rate processor=" in line for line in out
    )

    assert cli(settings, "ack", "12d4", "--by", "maria") == 2  # ambiguous prefix
    assert cli(settings, "ack", "nope", "--by", "maria") == 2  # unknown
    assert cli(settings, "ack", "12d449", "--by", "maria", "--note", "on it") == 0
    [line] = (tmp_path / "alert_acknowledgements.jsonl").read_text().splitlines()
    request = json.loads(line)
    assert (request["alert_id"], request["by"], request["note"]) == (
        "12d4499fa11a0ebe",
        "maria",
        "on it",
    )
