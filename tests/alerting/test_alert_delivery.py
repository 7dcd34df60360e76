"""Alert sync end to end on a warehouse file: real webhook receiver, real SMTP server, log file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import duckdb
import pytest

from orchestration.alerting.channels import AlertChannels, channels_from_settings
from orchestration.alerting.messages import render
from orchestration.alerting.state import AlertPolicy
from orchestration.alerting.store import request_acknowledgement, sync_alerts
from orchestration.config import load_settings
from tests.alerting.conftest import (
    INCIDENT_COLUMNS,
    SMTP_PASSWORD,
    SMTP_USER,
    incident,
    write_incidents,
)

T0 = datetime(2026, 3, 4, 16)
POLICY = AlertPolicy(cooldown=timedelta(hours=3), notify_lookback=timedelta(hours=24))


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def channels(tmp_path, webhook, smtp):
    return AlertChannels(
        log_path=tmp_path / "alerts.log",
        webhook_url=webhook.url,
        smtp_host=smtp.hostname,
        smtp_port=smtp.port,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        email_from="arrears@example.test",
        email_to=("oncall@example.test", "finance@example.test"),
        dashboard_url="http://dash.example.test:8501",
        timeout_seconds=5,
        max_tries=3,
        backoff_seconds=0.01,
    )


def rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_opening_notifies_every_channel_once_with_the_context_to_act(
    warehouse, channels, webhook, smtp, tmp_path
):
    write_incidents(warehouse, [incident()], as_of=T0)
    report = sync_alerts(warehouse, channels, POLICY, now=datetime(2026, 3, 4, 16, 5))

    assert (report.sent, report.failed) == (3, 0)
    assert len(webhook.requests) == 1
    request = webhook.requests[0]
    assert request["path"] == "/services/T000/B000/s3cr3tT0ken"
    assert request["headers"]["Content-Type"] == "application/json"
    payload = request["json"]
    assert payload["text"] == "[CRITICAL] failure rate spike — processor = adyen"
    fields = {f["title"]: f["value"] for f in payload["attachments"][0]["fields"]}
    assert fields["Where"] == "processor = adyen"
    assert fields["How big"] == (
        "62.0% failing vs 9.8% expected (412 of 664 attempts; peak 71.0% in one hour; score 180.5)"
    )
    assert fields["Since"] == "2026-03-04 14:00 UTC, still open"
    assert fields["Revenue affected"] == "12,345.67 EUR"
    assert fields["Severity"] == "critical"
    # Where to start: the fixture row's examples, each in its own field, in this order.
    assert [f["title"] for f in payload["attachments"][0]["fields"]][6:11] == [
        "Example attempts", "Customers (masked)", "Decline codes", "Top card BINs",
        "Issuing countries",
    ]  # fmt: skip
    assert fields["Example attempts"] == "py_0a1, py_0a2, py_0a3"
    assert fields["Customers (masked)"] == "…7Qx2, …b9Lm, …Zk41"
    assert fields["Decline codes"] == "processing_error (250), issuer_not_available (162)"
    assert fields["Top card BINs"] == "424242 (41), 535522 (30), 411111 (22)"
    assert fields["Issuing countries"] == "DE (180), FR (96), NL (51)"
    assert payload["attachments"][0]["color"] == "#d00000"
    blocks_text = json.dumps(payload["blocks"])
    assert "http://dash.example.test:8501/fraud_alerts?incident_id=inc-adyen-1" in blocks_text
    assert "select * from marts.anomalies where incident_id = 'inc-adyen-1'" in blocks_text

    assert len(smtp.handler.messages) == 1
    envelope = smtp.handler.messages[0]
    assert envelope.mail_from == "arrears@example.test"
    assert envelope.rcpt_tos == ["oncall@example.test", "finance@example.test"]
    email = message_from_bytes(envelope.content, policy=default_policy)
    assert email["Subject"] == "[CRITICAL] failure rate spike — processor = adyen"
    assert email["X-Arrears-Alert-Id"] == "inc-adyen-1"
    body = email.get_content()
    assert "Revenue affected: 12,345.67 EUR" in body
    assert "Example attempts: py_0a1, py_0a2, py_0a3\r\n" in body
    assert "Top card BINs: 424242 (41), 535522 (30), 411111 (22)\r\n" in body
    assert "Dashboard: http://dash.example.test:8501/fraud_alerts?incident_id=inc-adyen-1" in body

    log_lines = (tmp_path / "alerts.log").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in log_lines] == ["opened"]

    assert rows(
        warehouse,
        "select alert_id, status, severity, notify, open_notified_at is not null, "
        "resolve_notified_at from alerting.alerts",
    ) == [("inc-adyen-1", "open", "critical", True, True, None)]
    assert rows(warehouse, "select event from alerting.alert_events") == [("opened",)]
    assert rows(
        warehouse, "select channel, kind, status, try_number from alerting.notifications order by 1"
    ) == [
        ("email", "opened", "sent", 1),
        ("log", "opened", "sent", 1),
        ("webhook", "opened", "sent", 1),
    ]


def test_a_run_with_no_change_sends_nothing_and_resolution_is_sent_exactly_once(
    warehouse, channels, webhook, smtp
):
    write_incidents(warehouse, [incident()], as_of=T0)
    sync_alerts(warehouse, channels, POLICY, now=T0)
    # Next hour the outage is still on: same incident, one more window, bigger numbers.
    grown = incident(last_window_end=T0 + timedelta(hours=1), window_count=3, attempts=900)
    write_incidents(warehouse, [grown], as_of=T0 + timedelta(hours=1))
    report = sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=1))
    assert report.sent == 0 and len(webhook.requests) == 1 and len(smtp.handler.messages) == 1

    # The rate is back to normal since 17:00; the cooldown (3 h of data) is not over at 18:00.
    closed = incident(is_open=False, ended_at=datetime(2026, 3, 4, 17), window_count=3)
    write_incidents(warehouse, [closed], as_of=datetime(2026, 3, 4, 18))
    sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=2))
    assert len(webhook.requests) == 1
    assert rows(warehouse, "select status from alerting.alerts") == [("resolving",)]

    write_incidents(warehouse, [closed], as_of=datetime(2026, 3, 4, 20))
    report = sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=4))
    assert report.sent == 3
    assert len(webhook.requests) == 2
    resolution = webhook.requests[1]["json"]
    assert resolution["text"] == "RESOLVED [CRITICAL] failure rate spike — processor = adyen"
    fields = {f["title"]: f["value"] for f in resolution["attachments"][0]["fields"]}
    assert fields["Since"] == "2026-03-04 14:00 UTC → 2026-03-04 17:00 UTC (resolved)"
    assert resolution["attachments"][0]["color"] == "#2d6a4f"

    assert rows(
        warehouse, "select open_notified_at < resolve_notified_at from alerting.alerts"
    ) == [(True,)]
    for hours in (5, 6):  # later runs: nothing more
        write_incidents(warehouse, [closed], as_of=datetime(2026, 3, 4, 16 + hours))
        sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=hours))
    assert len(webhook.requests) == 2 and len(smtp.handler.messages) == 2
    assert rows(warehouse, "select event from alerting.alert_events order by occurred_at") == [
        ("opened",), ("closed",), ("resolved",)
    ]  # fmt: skip


def test_a_flap_within_the_cooldown_joins_the_open_alert_without_a_message(
    warehouse, channels, webhook
):
    first = incident(is_open=False, ended_at=datetime(2026, 3, 4, 17))
    write_incidents(warehouse, [first], as_of=datetime(2026, 3, 4, 18))
    sync_alerts(warehouse, channels, POLICY, now=T0)
    # The rate goes up again at 19:00, two hours after the first incident ended (< 3 h cooldown).
    second = incident(
        incident_id="inc-adyen-2", started_at=datetime(2026, 3, 4, 19),
        last_window_end=datetime(2026, 3, 4, 20), severity="high",
    )  # fmt: skip
    write_incidents(warehouse, [first, second], as_of=datetime(2026, 3, 4, 20))
    sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=4))
    assert len(webhook.requests) == 1  # only the first "opened"
    assert rows(warehouse, "select alert_id, incident_id, incident_ids, status, severity from alerting.alerts") == [
        ("inc-adyen-1", "inc-adyen-2", ["inc-adyen-1", "inc-adyen-2"], "open", "high")
    ]  # fmt: skip

    second_closed = {**second, "is_open": False, "ended_at": datetime(2026, 3, 4, 21)}
    write_incidents(warehouse, [first, second_closed], as_of=datetime(2026, 3, 5))
    sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(hours=8))
    assert [r["json"]["text"].split(" ")[0] for r in webhook.requests] == ["[CRITICAL]", "RESOLVED"]
    assert rows(warehouse, "select event from alerting.alert_events order by occurred_at, event") == [
        ("closed",), ("opened",), ("reopened",), ("severity_changed",), ("resolved",)
    ]  # fmt: skip


def test_a_new_incident_after_the_cooldown_is_a_new_alert(warehouse, channels, webhook):
    first = incident(is_open=False, ended_at=datetime(2026, 3, 4, 17))
    later = incident(
        incident_id="inc-adyen-2", started_at=datetime(2026, 3, 5, 9),
        last_window_end=datetime(2026, 3, 5, 10),
    )  # fmt: skip
    write_incidents(warehouse, [first, later], as_of=datetime(2026, 3, 5, 10))
    sync_alerts(warehouse, channels, POLICY, now=T0)
    assert sorted(r["json"]["text"] for r in webhook.requests) == [
        "RESOLVED [CRITICAL] failure rate spike — processor = adyen",
        "[CRITICAL] failure rate spike — processor = adyen",
        "[CRITICAL] failure rate spike — processor = adyen",
    ]
    assert rows(warehouse, "select alert_id, status from alerting.alerts order by 1") == [
        ("inc-adyen-1", "resolved"), ("inc-adyen-2", "open")
    ]  # fmt: skip


def test_a_failing_webhook_is_retried_with_backoff_recorded_and_delivered_next_run(
    warehouse, channels, webhook, caplog
):
    webhook.statuses = [500, 500, 500]
    write_incidents(warehouse, [incident()], as_of=T0)
    report = sync_alerts(warehouse, channels, POLICY, now=T0)
    assert len(webhook.requests) == 3  # max_tries
    assert (report.sent, report.failed) == (2, 1)  # log and email went through
    failed = rows(
        warehouse,
        "select try_number, status, error from alerting.notifications where channel = 'webhook' "
        "order by try_number",
    )
    assert [(n, s) for n, s, _ in failed] == [(1, "failed"), (2, "failed"), (3, "failed")]
    for _, _, error in failed:
        assert error.startswith("ChannelError: HTTP 500 from http://127.0.0.1:")
        assert "s3cr3tT0ken" not in error and error.endswith("/***: server exploded")
    assert "s3cr3tT0ken" not in caplog.text and "webhook" in caplog.text

    # The receiver is back: the next run delivers the pending message once, as try 4.
    report = sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(minutes=5))
    assert (report.sent, report.failed) == (1, 0)
    assert len(webhook.requests) == 4
    assert rows(
        warehouse,
        "select try_number, status from alerting.notifications where channel = 'webhook' "
        "and status = 'sent'",
    ) == [(4, "sent")]
    sync_alerts(warehouse, channels, POLICY, now=T0 + timedelta(minutes=10))
    assert len(webhook.requests) == 4


def test_an_unreachable_webhook_is_recorded_with_the_url_masked(warehouse, channels, tmp_path):
    down = AlertChannels(
        log_path=tmp_path / "alerts.log",
        webhook_url="http://127.0.0.1:9/services/T1/B1/an0therS3cret",  # discard port: refused
        max_tries=2,
        backoff_seconds=0.01,
    )
    write_incidents(warehouse, [incident()], as_of=T0)
    report = sync_alerts(warehouse, down, POLICY, now=T0)
    assert (report.sent, report.failed) == (1, 1)
    errors = rows(warehouse, "select error from alerting.notifications where status = 'failed'")
    assert len(errors) == 2
    assert all("an0therS3cret" not in e and "http://127.0.0.1:9/***" in e for (e,) in errors)


def test_history_seen_for_the_first_time_is_backfilled_silently(warehouse, channels, webhook):
    old = incident(
        is_open=False, started_at=datetime(2026, 1, 10, 3), ended_at=datetime(2026, 1, 10, 6),
        last_window_end=datetime(2026, 1, 10, 6),
    )  # fmt: skip
    write_incidents(
        warehouse, [old, incident(incident_id="inc-2", segment_value="stripe")], as_of=T0
    )
    sync_alerts(warehouse, channels, POLICY, now=T0)
    assert [r["json"]["text"] for r in webhook.requests] == [
        "[CRITICAL] failure rate spike — processor = stripe"
    ]
    assert rows(warehouse, "select alert_id, status, notify from alerting.alerts order by 1") == [
        ("inc-2", "open", True), ("inc-adyen-1", "resolved", False)
    ]  # fmt: skip
    assert rows(warehouse, "select event from alerting.alert_events where alert_id = 'inc-adyen-1' order by 1") == [
        ("backfilled",), ("resolved",)
    ]  # fmt: skip


def test_acknowledging_is_applied_by_the_next_run_kept_with_history_and_sends_nothing(
    warehouse, channels, webhook, tmp_path
):
    requests = tmp_path / "acknowledgements.jsonl"
    write_incidents(warehouse, [incident()], as_of=T0)
    sync_alerts(warehouse, channels, POLICY, now=T0, acknowledgements_path=requests)
    request_acknowledgement(requests, "inc-adyen-1", by="maria", note="rerouting to stripe", now=T0)
    request_acknowledgement(requests, "no-such-alert", by="maria", now=T0)
    report = sync_alerts(
        warehouse, channels, POLICY, now=T0 + timedelta(minutes=5), acknowledgements_path=requests
    )
    assert report.acknowledged == ["inc-adyen-1"]
    assert len(webhook.requests) == 1
    assert rows(
        warehouse, "select status, acknowledged_by, acknowledged_at from alerting.alerts"
    ) == [("open", "maria", T0 + timedelta(minutes=5))]
    assert rows(
        warehouse, "select details->>'note' from alerting.alert_events where event = 'acknowledged'"
    ) == [("rerouting to stripe",)]
    assert rows(
        warehouse, "select alert_id, outcome from alerting.acknowledgements order by alert_id"
    ) == [("inc-adyen-1", "applied"), ("no-such-alert", "unknown_alert")]
    # Requests are applied once.
    report = sync_alerts(
        warehouse, channels, POLICY, now=T0 + timedelta(minutes=10), acknowledgements_path=requests
    )
    assert report.acknowledged == []
    assert rows(
        warehouse, "select count(*) from alerting.alert_events where event = 'acknowledged'"
    ) == [(1,)]


def test_secrets_never_show_in_the_configuration_repr(webhook):
    channels = AlertChannels(webhook_url=webhook.url, smtp_host="mail", smtp_password=SMTP_PASSWORD)
    text = repr(channels) + str(channels)
    assert "s3cr3tT0ken" not in text and SMTP_PASSWORD not in text
    assert f"http://127.0.0.1:{webhook.server.server_port}/***" in text


def test_channels_are_configured_from_settings_and_unset_ones_are_off(tmp_path):
    settings = load_settings(
        {
            "ARREARS_HOME": str(tmp_path),
            "ARREARS_ALERT_WEBHOOK_URL": "https://hooks.example.test/services/x",
            "ARREARS_SMTP_HOST": "smtp.example.test",
            "ARREARS_ALERT_EMAIL_TO": "a@example.test, b@example.test",
        }
    )
    channels = channels_from_settings(settings)
    assert channels.email_to == ("a@example.test", "b@example.test")
    assert channels.log_path == tmp_path / "alerts.log"
    assert [c.name for c in channels.enabled()] == ["log", "webhook", "email"]
    quiet = channels_from_settings(load_settings({"ARREARS_HOME": str(tmp_path)}))
    assert [c.name for c in quiet.enabled()] == ["log"]


def test_a_rejected_smtp_login_is_recorded_without_the_password(warehouse, channels, smtp):
    wrong = AlertChannels(
        smtp_host=channels.smtp_host, smtp_port=channels.smtp_port, smtp_username=SMTP_USER,
        smtp_password="not-the-" + SMTP_PASSWORD, email_to=("oncall@example.test",),
        max_tries=1, backoff_seconds=0.01,
    )  # fmt: skip
    write_incidents(warehouse, [incident()], as_of=T0)
    report = sync_alerts(warehouse, wrong, POLICY, now=T0)
    assert (report.sent, report.failed) == (0, 1) and smtp.handler.messages == []
    [(error,)] = rows(warehouse, "select error from alerting.notifications")
    assert error.startswith("ChannelError: SMTP 127.0.0.1:") and "535" in error
    assert SMTP_PASSWORD not in error


def test_the_fixture_incident_has_exactly_the_columns_of_marts_incidents():
    """The messages read `marts.incidents` by column name: a fixture with a column the mart does
    not have (it had `failures`; the mart says `events`) hid a "?" in every real alert."""
    import yaml

    from orchestration.config import DBT_PROJECT_DIR

    spec = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/monitoring/incidents.yml").read_text())
    (model,) = [m for m in spec["models"] if m["name"] == "incidents"]
    assert list(INCIDENT_COLUMNS) == [c["name"] for c in model["columns"]]


def test_a_card_testing_alert_counts_its_tries_and_invents_no_score():
    message = render(
        "inc-ct-1",
        "opened",
        incident(
            incident_id="inc-ct-1", detector="card_testing", incident_type="card_testing",
            metric="distinct_cards", segment_type="customer", segment_value="cus_9",
            value_unit="cards", observed_value=23, expected_value=None, attempts=31, events=29,
            peak_score=None,
        ),
        "http://dash.example.test:8501",
    )  # fmt: skip
    fields = dict(message.fields)
    assert fields["How big"] == "23 distinct cards tried, 29 of 31 attempts failed"
    # A network-ratio incident has no attempts behind it: no example fields, not empty ones.
    bare = render(
        "inc-vamp-1", "opened",
        incident(
            detector="network_ratio", example_attempt_ids=None, example_customers=None,
            top_decline_codes=None, top_card_bins=None, top_card_countries=None,
        ),
        None,
    )  # fmt: skip
    assert "Example attempts" not in dict(bare.fields) and "Decline codes" not in bare.text
    assert message.link == "http://dash.example.test:8501/fraud_alerts?incident_id=inc-ct-1"
