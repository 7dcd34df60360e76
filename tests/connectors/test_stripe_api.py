"""The optional live pull through the official `stripe` library, against a fake Stripe API: a real
HTTP server on 127.0.0.1 (no mocks) that pages lists, honours created[gte] and starting_after,
and answers one request with 429 first."""

import json
import threading
from collections import defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from orchestration.connectors.stripe_api import API_VERSION, pull, stripe_client


class FakeStripe(ThreadingHTTPServer):
    def __init__(self, objects: dict[str, list[dict]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects = objects
        self.requests: list[tuple[str, dict, dict]] = []  # (path, query, headers)
        self.rate_limited: dict[str, int] = {}  # path → how many of its next requests get a 429
        self.statuses: dict[str, list[int]] = defaultdict(list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeStripe

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        path = url.path.removeprefix("/v1/")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append((path, query, dict(self.headers)))
        if self.server.rate_limited.get(path):
            self.server.rate_limited[path] -= 1
            # a plain rate-limit answer: no Stripe-Should-Retry header
            return self._send(429, {"error": {"type": "invalid_request_error",
                                              "code": "rate_limit", "message": "Too many"}})  # fmt: skip
        rows = sorted(self.server.objects.get(path, []), key=lambda o: o["id"])
        if "created[gte]" in query:
            rows = [o for o in rows if o["created"] >= int(query["created[gte]"])]
        if "starting_after" in query:
            rows = [o for o in rows if o["id"] > query["starting_after"]]
        page = rows[: int(query.get("limit", 10))]
        self._send(
            200,
            {"object": "list", "url": f"/v1/{path}", "data": page,
             "has_more": len(rows) > len(page)},
        )  # fmt: skip

    def _send(self, status: int, body: dict):
        self.server.statuses[urlsplit(self.path).path].append(status)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_stripe():
    charges = [{"id": f"ch_{i:03d}", "object": "charge", "created": 1000 + i} for i in range(250)]
    server = FakeStripe(
        {"charges": charges, "customers": [{"id": "cus_1", "object": "customer", "created": 5}]}
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_pull_pages_retries_a_429_and_then_takes_only_what_is_new(tmp_path, fake_stripe):
    client = stripe_client("sk_test_fake", api_base=fake_stripe.base)
    fake_stripe.rate_limited["charges"] = 1
    written = pull(tmp_path, client, now=datetime(2026, 3, 1, tzinfo=UTC))

    assert written == {"20260301T000000Z_charge": 250, "20260301T000000Z_customer": 1}
    # 250 charges in pages of 100: 3 pages, the first one asked twice (429, then 200)
    assert fake_stripe.statuses["/v1/charges"] == [429, 200, 200, 200]
    charge_queries = [q for p, q, _ in fake_stripe.requests if p == "charges"]
    assert [q.get("starting_after") for q in charge_queries] == [None, None, "ch_099", "ch_199"]
    assert all(q["limit"] == "100" for q in charge_queries)
    # every endpoint asked once (one page each, empty but charges), events not on a first run
    assert sorted({p for p, _, _ in fake_stripe.requests}) == [
        "charges", "customers", "disputes", "invoice_payments", "invoices", "payment_intents",
        "payment_methods", "radar/early_fraud_warnings", "refunds", "subscriptions",
    ]  # fmt: skip
    headers = [h for _, _, h in fake_stripe.requests]
    assert {h["Stripe-Version"] for h in headers} == {API_VERSION}
    assert {h["Authorization"] for h in headers} == {"Bearer sk_test_fake"}
    lines = (tmp_path / "20260301T000000Z_charge.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [f"ch_{i:03d}" for i in range(250)]
    state = json.loads((tmp_path / "_state.json").read_text())
    assert state["charges"] == 1249
    assert state["events"] == int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())

    fake_stripe.objects["charges"].append({"id": "ch_999", "object": "charge", "created": 2000})
    fake_stripe.objects["events"] = [
        {"id": "evt_1", "object": "event", "created": state["events"] + 60,
         "data": {"object": {"id": "in_1", "object": "invoice"}}},
    ]  # fmt: skip
    fake_stripe.requests.clear()
    written = pull(tmp_path, client, now=datetime(2026, 3, 2, tzinfo=UTC))
    # created[gte] re-reads each type's last second (ch_249, cus_1); identical states collapse
    # in the mapping, so a re-read costs nothing
    assert written == {
        "20260302T000000Z_charge": 2, "20260302T000000Z_customer": 1, "20260302T000000Z_events": 1
    }  # fmt: skip
    assert ("charges", {"created[gte]": "1249", "limit": "100"}) in [
        (p, q) for p, q, _ in fake_stripe.requests
    ]
    assert ("events", {"created[gte]": str(state["events"]), "limit": "100"}) in [
        (p, q) for p, q, _ in fake_stripe.requests
    ]
    event = json.loads((tmp_path / "20260302T000000Z_events.jsonl").read_text())
    assert event["data"]["object"] == {"id": "in_1", "object": "invoice"}


def test_a_rate_limit_that_does_not_end_gives_up_with_the_librarys_error(tmp_path, fake_stripe):
    """After MAX_NETWORK_RETRIES the 429 surfaces; nothing is half-written for that type."""
    import stripe

    client = stripe_client("sk_test_fake", api_base=fake_stripe.base, max_network_retries=1)
    fake_stripe.rate_limited["customers"] = 5
    with pytest.raises(stripe.RateLimitError):
        pull(tmp_path, client, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert fake_stripe.statuses["/v1/customers"] == [429, 429]  # the request and one retry
    assert not list(tmp_path.glob("*.jsonl"))  # customers come first: nothing written
    # the first-run events cursor is kept, so a resumed pull reads the changes since this start
    assert json.loads((tmp_path / "_state.json").read_text()) == {
        "events": int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    }
