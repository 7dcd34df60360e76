"""Optional live pull from the Stripe API into the Stripe source folder, incrementally.

It only downloads: pages of objects are written as JSON Lines dumps into
`<sources>/stripe/api/`, which the file connector then maps like any other dump, so everything
works without network and a pull is just one more dump. First run: every object of each type
(list endpoints, `created[gte]` cursor per type). Later runs: objects created since the cursor,
plus `/v1/events` (state changes of older objects: an invoice paid, a
dispute lost); Stripe keeps events for 30 days, so pull at least monthly. Cursors live in
`api/_state.json` (files starting with `_` are not read as dumps).

Plain HTTPS with the secret key (read-only restricted keys work); `fetch` is injectable for tests.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

API = "https://api.stripe.com/v1/"
RESOURCES = {  # list endpoint → object type
    "customers": "customer", "subscriptions": "subscription", "invoices": "invoice",
    "charges": "charge", "payment_intents": "payment_intent", "refunds": "refund",
    "disputes": "dispute", "payment_methods": "payment_method",
    "radar/early_fraud_warnings": "radar.early_fraud_warning",
}  # fmt: skip
Fetch = Callable[[str, list[tuple[str, str]]], dict]


def https_fetch(api_key: str) -> Fetch:
    token = base64.b64encode(f"{api_key}:".encode()).decode()

    def fetch(path: str, params: list[tuple[str, str]]) -> dict:
        url = API + path + "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (fixed host)
            return json.loads(response.read())

    return fetch


def _pages(fetch: Fetch, path: str, params: list[tuple[str, str]]):
    after = None
    while True:
        page = fetch(
            path, params + [("limit", "100")] + ([("starting_after", after)] if after else [])
        )
        data = page.get("data") or []
        yield from data
        if not page.get("has_more") or not data:
            return
        after = data[-1]["id"]


def pull(out_dir: Path, fetch: Fetch, now: datetime | None = None) -> dict[str, int]:
    """Download new objects and events into `out_dir`; returns objects written per dump."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / "_state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    written: dict[str, int] = {}
    first_run = "events" not in state
    jobs = [(path, f"{stamp}_{kind.replace('.', '_')}") for path, kind in RESOURCES.items()]
    jobs.append(("events", f"{stamp}_events"))
    for path, name in jobs:
        cursor = state.get(path)
        if path == "events":
            if first_run:  # the lists just pulled are the current state
                state["events"] = int((now or datetime.now(UTC)).timestamp())
                continue
            params = [("created[gte]", str(cursor))]  # all types: the mapping skips the others
        else:
            params = [("created[gte]", str(cursor))] if cursor else []
        objects = list(_pages(fetch, path, params))
        if objects:
            tmp = out_dir / f".{name}.jsonl.tmp"
            tmp.write_text("".join(json.dumps(o, sort_keys=True) + "\n" for o in objects))
            os.replace(tmp, out_dir / f"{name}.jsonl")
            written[name] = len(objects)
            # Same-second objects can straddle a pull: gte re-reads them; the mapping collapses
            # identical states, so a re-read costs nothing.
            state[path] = max(int(o.get("created") or 0) for o in objects)
    state_path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    return written
