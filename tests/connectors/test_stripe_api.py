"""The optional live pull, against a fake Stripe API: pagination, cursors, events later on."""

import json
from datetime import UTC, datetime

from orchestration.connectors.stripe_api import pull


class FakeStripe:
    """Serves list pages of 100 from fixed objects, honouring created[gte] and starting_after."""

    def __init__(self, objects: dict[str, list[dict]]):
        self.objects, self.calls = objects, []

    def __call__(self, path, params):
        self.calls.append((path, params))
        p = dict(params)
        rows = sorted(self.objects.get(path, []), key=lambda o: o["id"])
        if "created[gte]" in p:
            rows = [o for o in rows if o["created"] >= int(p["created[gte]"])]
        if "starting_after" in p:
            rows = [o for o in rows if o["id"] > p["starting_after"]]
        page = rows[: int(p["limit"])]
        return {"object": "list", "data": page, "has_more": len(rows) > len(page)}


def test_first_pull_pages_through_everything_then_only_what_is_new(tmp_path):
    charges = [{"id": f"ch_{i:03d}", "object": "charge", "created": 1000 + i} for i in range(250)]
    api = FakeStripe(
        {"charges": charges, "customers": [{"id": "cus_1", "object": "customer", "created": 5}]}
    )
    written = pull(tmp_path, api, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert written == {"20260301T000000Z_charge": 250, "20260301T000000Z_customer": 1}
    assert len([c for c in api.calls if c[0] == "charges"]) == 3  # 100 + 100 + 50
    lines = (tmp_path / "20260301T000000Z_charge.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [c["id"] for c in charges]
    state = json.loads((tmp_path / "_state.json").read_text())
    assert state["charges"] == 1249 and state["events"] == int(
        datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    )

    api.objects["charges"].append({"id": "ch_999", "object": "charge", "created": 2000})
    api.objects["events"] = [{"id": "evt_1", "object": "event", "created": state["events"] + 60,
                              "data": {"object": {"id": "in_1", "object": "invoice"}}}]  # fmt: skip
    written = pull(tmp_path, api, now=datetime(2026, 3, 2, tzinfo=UTC))
    # created[gte] re-reads each type's last second (ch_249, cus_1); identical states collapse
    # in the mapping, so a re-read costs nothing
    assert written == {
        "20260302T000000Z_charge": 2, "20260302T000000Z_customer": 1, "20260302T000000Z_events": 1
    }  # fmt: skip
    assert ("charges", [("created[gte]", "1249"), ("limit", "100")]) in api.calls
