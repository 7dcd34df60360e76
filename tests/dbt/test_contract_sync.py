"""The dbt project stays in step with the billing data contract (orchestration/contract.py)."""

import csv

import yaml

from orchestration.config import DBT_PROJECT_DIR
from orchestration.contract import (
    CURRENCIES,
    ENTITIES,
    FRAUD_DECLINE_CODES,
    HARD_DECLINE_CODES,
    LINEAGE_COLUMNS,
    SOFT_DECLINE_CODES,
)


def _seed(name: str) -> list[dict]:
    with (DBT_PROJECT_DIR / "seeds" / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "_raw__sources.yml"
HEADER = """\
# The raw billing export, one table per contract entity (orchestration/contract.py).
# These columns ARE the documented data contract; generated from contract.py by
# `python -m tests.dbt.test_contract_sync` (a test keeps them equal). Raw tables hold every
# version of a record; staging keeps the latest.
"""


def render_sources_yaml() -> str:
    def column(c) -> dict:
        notes = [c.description]
        if c.allowed:
            notes.append("Allowed: " + ", ".join(c.allowed) + ".")
        if c.references:
            notes.append(f"References {c.references}.")
        if c.pii:
            notes.append("PII: masked in every analyst-facing model.")
        return {"name": c.name, "data_type": c.type.lower(), "description": " ".join(notes)}

    source = {
        "name": "raw",
        "schema": "raw",
        "description": "Billing records as loaded by the ingestion (orchestration.ingest), "
        "all versions kept, with lineage columns.",
        "tables": [
            {
                "name": e.name,
                "description": f"{e.description} Key: `{e.key}` (several versions per key).",
                "columns": [column(c) for c in (*e.columns, *LINEAGE_COLUMNS)],
            }
            for e in ENTITIES
        ],
    }
    body = yaml.safe_dump({"version": 2, "sources": [source]}, sort_keys=False, width=100)
    return HEADER + body


def test_source_yaml_is_the_contract():
    assert SOURCES_YAML.read_text() == render_sources_yaml(), (
        "contract.py changed: run `python -m tests.dbt.test_contract_sync` to regenerate "
        f"{SOURCES_YAML.name}, then review the staging models"
    )
    [raw] = yaml.safe_load(SOURCES_YAML.read_text())["sources"]
    assert [t["name"] for t in raw["tables"]] == [e.name for e in ENTITIES]


def test_every_entity_has_one_staging_model():
    staging = sorted(p.stem for p in (DBT_PROJECT_DIR / "models/staging").glob("stg_*.sql"))
    assert staging == sorted(f"stg_billing__{e.name}" for e in ENTITIES)


def test_decline_code_seed_matches_the_contract():
    seed = {(r["decline_code"], r["decline_class"]) for r in _seed("decline_codes")}
    expected = (
        {(c, "soft") for c in SOFT_DECLINE_CODES}
        | {(c, "hard") for c in HARD_DECLINE_CODES}
        | {(c, "fraud") for c in FRAUD_DECLINE_CODES}
    )
    assert seed == expected


def test_fx_rates_cover_every_contract_currency_in_every_period():
    rows = _seed("fx_rates")
    periods = {r["valid_from"] for r in rows}
    for currency in CURRENCIES:
        mine = {r["valid_from"] for r in rows if r["currency"] == currency}
        assert mine == periods, currency
    assert {r["currency"] for r in rows} == set(CURRENCIES)
    assert all(float(r["rate_to_eur"]) > 0 for r in rows)
    assert all(float(r["rate_to_eur"]) == 1 for r in rows if r["currency"] == "EUR")


def test_every_published_mart_and_column_is_described():
    import json

    from orchestration.defs.transform.project import prepare_manifest

    manifest = json.loads(prepare_manifest().read_text())
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["path"].startswith("marts/")
    ]
    assert len(marts) >= 12
    for node in marts:
        # The naming rule (dbt_project/README.md): a mart's name says what it reports, its
        # description its grain.
        assert "one row" in node["description"].lower(), node["name"]
        # The monitoring marts document every column but state no data types yet; the detection
        # branches still add columns to them (dbt_project.yml).
        if not node["path"].startswith("marts/monitoring/"):
            assert node["config"]["contract"]["enforced"], node["name"]
        assert node["columns"], node["name"]
        undocumented = [c for c, spec in node["columns"].items() if not spec["description"].strip()]
        assert undocumented == [], node["name"]


if __name__ == "__main__":
    SOURCES_YAML.write_text(render_sources_yaml())
    print(f"wrote {SOURCES_YAML}")
