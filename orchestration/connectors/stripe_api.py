"""Optional live pull from the Stripe API into the Stripe source folder, incrementally.

It only downloads: objects are written as JSON Lines dumps into `<sources>/stripe/api/`, which
the file connector then maps like any other dump, so everything works without network and a
pull is just one more dump. First run: every object of each type (list endpoints,
`created[gte]` cursor per type). Later runs: objects created since the cursor, plus `/v1/events`
(state changes of older objects: an invoice paid, a dispute lost); Stripe keeps events for 30
days, so pull at least monthly. Cursors live in `api/_state.json` (files starting with `_` are
not read as dumps).

Through the official `stripe` library: its auto-pagination, its retries with exponential
backoff, and a pinned API version, so the object shapes do not change with the account's
default version. A secret or a read-only restricted key works.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import stripe

# The version stripe==16.1.0 is generated for. 2025+ versions link charges to invoices only
# through invoice_payment objects, which is why those are pulled too.
API_VERSION = "2026-10-28.endive"
MAX_NETWORK_RETRIES = 5  # backoff 0.5 s doubling, capped at 5 s per wait by the library
PAGE_SIZE = 100  # Stripe's maximum

# list endpoint (the cursor's key in _state.json) → object type (names the dump)
RESOURCES = {
    "customers": "customer", "subscriptions": "subscription", "invoices": "invoice",
    "invoice_payments": "invoice_payment", "charges": "charge",
    "payment_intents": "payment_intent", "refunds": "refund", "disputes": "dispute",
    "payment_methods": "payment_method", "radar/early_fraud_warnings": "radar.early_fraud_warning",
}  # fmt: skip


class _RateLimitRetryingClient(stripe.RequestsClient):
    """The library retries connection errors, 409 and 5xx, but not a plain 429 (by design: an
    application hitting the rate limit should slow down). A full backfill is exactly the job
    that reaches the limit, so a 429 is retried too, with the library's own backoff."""

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        if response is not None and response[1] == 429 and num_retries < (max_network_retries or 0):
            return True
        return super()._should_retry(
            response, api_connection_error, num_retries, max_network_retries
        )


def stripe_client(
    api_key: str, api_base: str | None = None, max_network_retries: int = MAX_NETWORK_RETRIES
) -> stripe.StripeClient:
    """A client with the pinned API version and retries; `api_base` points it elsewhere (tests)."""
    return stripe.StripeClient(
        api_key,
        stripe_version=API_VERSION,
        max_network_retries=max_network_retries,
        base_addresses={"api": api_base} if api_base else None,
        http_client=_RateLimitRetryingClient(timeout=60),
    )


def _service(client: stripe.StripeClient, path: str):
    service = client.v1
    for part in path.split(
        "/"
    ):  # radar/early_fraud_warnings → client.v1.radar.early_fraud_warnings
        service = getattr(service, part)
    return service


def _objects(client: stripe.StripeClient, path: str, created_gte: int | None):
    params: dict = {"limit": PAGE_SIZE}
    if created_gte is not None:
        params["created"] = {"gte": created_gte}
    for obj in _service(client, path).list(params=params).auto_paging_iter():
        yield obj.to_dict(recursive=True)


def pull(out_dir: Path, client: stripe.StripeClient, now: datetime | None = None) -> dict[str, int]:
    """Download new objects and events into `out_dir`; returns objects written per dump."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    written: dict[str, int] = {}
    jobs = list(RESOURCES)
    if "events" in state:
        jobs.append("events")
    else:  # first run: the lists about to be pulled are the current state; changes from now on
        state["events"] = int(now.timestamp())
        _save(state_path, state)
    for path in jobs:
        name = f"{stamp}_{RESOURCES.get(path, path).replace('.', '_')}"
        objects = list(_objects(client, path, state.get(path)))
        if objects:
            tmp = out_dir / f".{name}.jsonl.tmp"
            tmp.write_text("".join(json.dumps(o, sort_keys=True) + "\n" for o in objects))
            os.replace(tmp, out_dir / f"{name}.jsonl")
            written[name] = len(objects)
            # Same-second objects can straddle a pull: gte re-reads them; the mapping collapses
            # identical states, so a re-read costs nothing.
            state[path] = max(int(o.get("created") or 0) for o in objects)
        _save(state_path, state)  # after each type: an interrupted pull resumes where it stopped
    return written


def _save(state_path: Path, state: dict) -> None:
    state_path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
