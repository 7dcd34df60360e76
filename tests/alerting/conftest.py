"""Real local receivers for the alerting tests: an HTTP server (webhook) and an SMTP server."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT, load_settings
from tests.alerting import detection_fixture, thin_hours_fixture, tiny_account_fixture

INCIDENT_COLUMNS = {
    "incident_id": "varchar", "detector": "varchar", "incident_type": "varchar",
    "metric": "varchar", "segment_type": "varchar", "segment_value": "varchar",
    "window_grain": "varchar", "started_at": "timestamp", "ended_at": "timestamp",
    "last_window_end": "timestamp", "first_detected_at": "timestamp", "is_open": "boolean",
    "window_count": "integer", "attempts": "bigint", "events": "bigint",
    "observed_value": "double", "expected_value": "double", "value_unit": "varchar",
    "peak_window_start": "timestamp", "peak_observed_value": "double",
    "peak_expected_value": "double", "peak_score": "double", "peak_lift": "double",
    "revenue_affected": "decimal(18,2)", "reporting_currency": "varchar", "severity": "varchar",
    "summary": "varchar", "drill_query": "varchar", "as_of": "timestamp",
    "example_attempt_ids": "varchar", "example_customers": "varchar",
    "top_decline_codes": "varchar", "top_card_bins": "varchar", "top_card_countries": "varchar",
}  # fmt: skip


class WebhookReceiver:
    """Records every POST; answers with the next status in `statuses` (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"server exploded")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        # The path plays the secret token of a Slack webhook URL.
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/s3cr3tT0ken"

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SMTP_USER, SMTP_PASSWORD = "alerts", "sm7p-pa55word"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture(scope="session")
def webhook_server():
    receiver = WebhookReceiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def webhook(webhook_server):
    webhook_server.reset()
    return webhook_server


@pytest.fixture(scope="session")
def smtp_server():
    sink = SmtpSink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticator,
        auth_require_tls=False,  # a local test server without a certificate
    )
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server


def incident(**overrides: Any) -> dict[str, Any]:
    """A `marts.incidents` row: a processor outage, open since 14:00."""
    row = {
        "incident_id": "inc-adyen-1",
        "detector": "failure_rate",
        "incident_type": "failure_rate_spike",
        "metric": "failure_rate",
        "segment_type": "processor",
        "segment_value": "adyen",
        "window_grain": "hour",
        "started_at": datetime(2026, 3, 4, 14),
        "ended_at": None,
        "last_window_end": datetime(2026, 3, 4, 16),
        "first_detected_at": datetime(2026, 3, 4, 15),
        "is_open": True,
        "window_count": 2,
        "attempts": 664,
        "events": 412,
        "observed_value": 412 / 664,
        "expected_value": 0.098,
        "value_unit": "rate",
        "peak_window_start": datetime(2026, 3, 4, 15),
        "peak_observed_value": 0.71,
        "peak_expected_value": 0.1,
        "peak_score": 180.5,
        "peak_lift": 7.1,
        "revenue_affected": 12345.67,
        "reporting_currency": "EUR",
        "severity": "critical",
        "summary": None,
        "drill_query": "select * from marts.anomalies where incident_id = 'inc-adyen-1'",
        "as_of": datetime(2026, 3, 4, 16),
        # What int_incident_examples gives: 412 failed attempts, these the first three.
        "example_attempt_ids": "py_0a1, py_0a2, py_0a3",
        "example_customers": "…7Qx2, …b9Lm, …Zk41",
        "top_decline_codes": "processing_error (250), issuer_not_available (162)",
        "top_card_bins": "424242 (41), 535522 (30), 411111 (22)",
        "top_card_countries": "DE (180), FR (96), NL (51)",
    }
    row.update(overrides)
    return row


def write_incidents(path: Path, incidents: list[dict[str, Any]], as_of: datetime) -> None:
    """Replace `marts.incidents` and `marts.monitoring_status` as a dbt build would."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        cols = ", ".join(f"{k} {v}" for k, v in INCIDENT_COLUMNS.items())
        con.execute(f"create or replace table marts.incidents ({cols})")
        con.execute("create or replace table marts.monitoring_status (as_of timestamp)")
        con.execute("insert into marts.monitoring_status values (?)", [as_of])
        for row in incidents:
            row = {**row, "as_of": as_of}
            con.execute(
                f"insert into marts.incidents values ({', '.join('?' for _ in INCIDENT_COLUMNS)})",
                [row[k] for k in INCIDENT_COLUMNS],
            )


@pytest.fixture(scope="session")
def monitored(tmp_path_factory) -> Path:
    """A warehouse holding the crafted history (detection_fixture) and the monitoring marts."""
    return build_monitoring(tmp_path_factory.mktemp("detection"), detection_fixture.build)


@pytest.fixture(scope="session")
def monitored_tiny(tmp_path_factory) -> Path:
    """The monitoring marts of a tiny account with no history (tiny_account_fixture)."""
    return build_monitoring(tmp_path_factory.mktemp("tiny_account"), tiny_account_fixture.build)


@pytest.fixture(scope="session")
def monitored_thin_hours(tmp_path_factory) -> Path:
    """The monitoring marts of an incident spread over thin hours (thin_hours_fixture)."""
    return build_monitoring(tmp_path_factory.mktemp("thin_hours"), thin_hours_fixture.build)


def build_monitoring(root: Path, fill: Callable[[duckdb.DuckDBPyConnection], None]) -> Path:
    """Fill `raw.*` with `fill`, then build the monitoring marts and what they depend on."""
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        fill(con)
    env = {
        **load_settings({"ARREARS_WAREHOUSE": str(warehouse)}).subprocess_env(),
        "DBT_TARGET_PATH": str(root / "target"),  # never the shared dbt_project/target
        "DBT_LOG_PATH": str(root / "logs"),
    }
    # Models and seeds only: the data tests run in the project's own `dbt build`.
    result = subprocess.run(
        [
            str(REPO_ROOT / ".venv" / "bin" / "dbt"), "build", "--profiles-dir", ".",
            "--select", "+path:models/marts/monitoring", "path:seeds/monitoring",
            "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
        ],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    return warehouse
