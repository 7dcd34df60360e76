"""Notification channels (Slack-compatible webhook, SMTP email, local log file) and delivery.

The channel configuration is one value, `AlertChannels`, built from `Settings` by
`channels_from_settings`. The webhook URL and the SMTP password are secrets: they never appear
in a repr, a log line or a recorded error (`mask_secrets`).
"""

from __future__ import annotations

import json
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from orchestration.alerting.messages import Message
from orchestration.config import AlertChannelSettings, Settings


@dataclass(frozen=True)
class AlertChannels(AlertChannelSettings):
    """The configured channels (declared once, in `AlertChannelSettings`), the log file, the
    dashboard link put in messages, and how hard delivery tries. Unset channels are off."""

    log_path: Path | None = None
    dashboard_url: str | None = None
    timeout_seconds: float = 10.0
    # Tries per delivery within one run; what still fails is recorded and retried next run.
    max_tries: int = 3
    backoff_seconds: float = 1.0

    def __repr__(self) -> str:  # secrets masked, the rest as usual
        return (
            f"AlertChannels(log_path={self.log_path!r}, "
            f"webhook_url={mask_url(self.webhook_url)!r}, smtp_host={self.smtp_host!r}, "
            f"smtp_port={self.smtp_port}, smtp_username={self.smtp_username!r}, "
            f"smtp_password={'***' if self.smtp_password else None!r}, "
            f"email_to={self.email_to!r}, dashboard_url={self.dashboard_url!r})"
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.webhook_url, self.smtp_password) if s)

    def enabled(self) -> list[Channel]:
        channels: list[Channel] = []
        if self.log_path is not None:
            channels.append(LogFileChannel(self.log_path))
        if self.webhook_url:
            channels.append(WebhookChannel(self.webhook_url, self.timeout_seconds))
        if self.smtp_host and self.email_to:
            channels.append(EmailChannel(self))
        return channels


def channels_from_settings(settings: Settings) -> AlertChannels:
    return AlertChannels(
        **asdict(settings.alert_channels),
        log_path=settings.alerts_log_path,
        dashboard_url=settings.dashboard_url,
    )


def acknowledgements_path(settings: Settings) -> Path:
    """Where `arrears alerts ack` writes its requests (read by the next alerting run)."""
    return settings.alert_acknowledgements_path


def mask_url(url: str | None) -> str | None:
    """`https://hooks.example.com/***`: enough to tell which endpoint, never the token."""
    if not url:
        return url
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}/***"
    )


def mask_secrets(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, mask_url(secret) if "://" in secret else "***")
    return text


class ChannelError(Exception):
    """A delivery failed; the message is safe to record (no secrets)."""


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class LogFileChannel:
    """One JSON line per notification: the record that survives when every remote channel is down."""

    name = "log"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"logged_at": datetime.now(UTC).isoformat(timespec="seconds"), **message.as_dict()}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, default=str) + "\n")


class WebhookChannel:
    """POSTs a Slack-compatible JSON payload (`text` + `blocks` + `attachments`)."""

    name = "webhook"

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        self.timeout_seconds = timeout_seconds

    def send(self, message: Message) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(message.slack_payload()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                response.read()
        except urllib.error.HTTPError as e:
            # str(e) of urllib carries no URL; the body may explain (e.g. Slack's "invalid_payload").
            body = e.read(200).decode(errors="replace")
            raise ChannelError(f"HTTP {e.code} from {mask_url(self.url)}: {body}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ChannelError(f"cannot reach {mask_url(self.url)}: {reason}") from None


class EmailChannel:
    """Email through the configured SMTP server (STARTTLS/SSL and login optional): plain-text
    alerts, and any other mail Arrears sends (the weekly leadership summary) through `send_email`."""

    name = "email"

    def __init__(self, config: AlertChannels) -> None:
        self.config = config

    def send(self, message: Message) -> None:
        self.send_email(
            message.title, message.text, headers={"X-Arrears-Alert-Id": message.alert_id}
        )

    def send_email(
        self,
        subject: str,
        text: str,
        *,
        html: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """One email to every configured recipient: `text`, with `html` as its alternative."""
        c = self.config
        email = EmailMessage()
        email["Subject"] = subject
        email["From"] = c.email_from
        email["To"] = ", ".join(c.email_to)
        for name, value in (headers or {}).items():
            email[name] = value
        email.set_content(text)
        if html is not None:
            email.add_alternative(html, subtype="html")
        smtp_class = smtplib.SMTP_SSL if c.smtp_ssl else smtplib.SMTP
        try:
            with smtp_class(c.smtp_host, c.smtp_port, timeout=c.timeout_seconds) as smtp:
                if c.smtp_starttls:
                    smtp.starttls()
                if c.smtp_username:
                    smtp.login(c.smtp_username, c.smtp_password or "")
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as e:
            raise ChannelError(f"SMTP {c.smtp_host}:{c.smtp_port}: {e}") from None


@dataclass(frozen=True)
class DeliveryTry:
    channel: str
    try_number: int
    tried_at: datetime  # naive UTC, like every warehouse timestamp
    ok: bool
    error: str | None


def deliver(
    channel: Channel,
    message: Message,
    *,
    max_tries: int,
    backoff_seconds: float,
    secrets: tuple[str, ...] = (),
    first_try_number: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryTry]:
    """Send with exponential backoff (backoff, 2×, 4×…); every try is returned for the record."""
    tries: list[DeliveryTry] = []
    for i in range(max_tries):
        if i:
            sleep(backoff_seconds * 2 ** (i - 1))
        tried_at = datetime.now(UTC).replace(tzinfo=None)
        try:
            channel.send(message)
        except Exception as e:  # noqa: BLE001 - any failure is recorded, never raised mid-batch
            error = mask_secrets(f"{type(e).__name__}: {e}", secrets)
            tries.append(DeliveryTry(channel.name, first_try_number + i, tried_at, False, error))
            continue
        tries.append(DeliveryTry(channel.name, first_try_number + i, tried_at, True, None))
        break
    return tries
