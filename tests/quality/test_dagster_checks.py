"""The checks as Dagster asset checks on the real ingestion assets: a failing ERROR check stops
everything built from the asset it guards; a failing WARN check only reports."""

import os

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.config import load_settings
from orchestration.contract import ENTITY_BY_NAME
from orchestration.defs.ingestion.assets import raw_assets
from orchestration.defs.quality.checks import raw_quality_checks
from tests.quality.fixtures import ROWS


@dg.asset(deps=[dg.AssetKey(["raw", "invoices"])])
def built_from_invoices() -> None:
    """Stands for the dbt models and the published copy."""


def write_landing(landing, entity: str, name: str, rows: list[dict]) -> None:
    folder = landing / entity
    folder.mkdir(parents=True, exist_ok=True)
    columns = ENTITY_BY_NAME[entity].column_names
    pd.DataFrame(rows, columns=columns).to_csv(folder / name, index=False)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for var in list(os.environ):
        if var.startswith("ARREARS_") or var == "DAGSTER_HOME":
            monkeypatch.delenv(var)
    monkeypatch.setenv("ARREARS_HOME", str(tmp_path))
    settings = load_settings()
    for entity, rows in ROWS.items():
        write_landing(settings.landing_dir, entity, "2026-03-31.csv", rows)
    return settings


def materialize(settings):
    return dg.materialize(
        [*raw_assets, *raw_quality_checks, built_from_invoices],
        resources={"settings": settings},
        raise_on_error=False,
    )


def materialized(result) -> set[str]:
    return {
        e.event_specific_data.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}": (
            e.event_specific_data
        )
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_one_incoherent_landing_row_is_quarantined_and_blocks_nothing(settings):
    # i2's newer version is due a day before it was issued (beyond the 15-minute clock-skew
    # tolerance): one odd row, so ingestion quarantines it and everything is still built.
    bad = {**ROWS["invoices"][2], "due_at": "2026-02-01", "updated_at": "2026-02-02 01:00"}
    write_landing(settings.landing_dir, "invoices", "2026-04-01.csv", [bad])

    result = materialize(settings)

    assert "built_from_invoices" in materialized(result)
    assert evaluations(result)["raw/invoices:ranges"].passed
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select source_file, reason_code, reason from raw._quarantine"
        ).fetchall() == [
            ("invoices/2026-04-01.csv", "invalid",
             "due_before_issue: `due_at` before `issued_at` by more than the clock-skew tolerance"),
        ]  # fmt: skip


def test_a_failing_error_check_blocks_what_is_built_from_the_asset(settings):
    # Structural corruption that no landing row can cause: raw.invoices altered by hand (or by
    # a loader bug) with a version due before it was issued. The raw check refuses it.
    assert materialize(settings).success
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into raw.invoices by name select * replace ("
            "timestamp '2026-02-01' as due_at, timestamp '2026-02-02 01:00' as updated_at) "
            "from raw.invoices where invoice_id = 'i2'"
        )

    result = materialize(settings)

    assert not result.success
    assert "built_from_invoices" not in materialized(result)
    # Loading stops below the failed asset too: its children wait for a fixed invoice file.
    assert materialized(result) == {
        "raw/customers", "raw/subscriptions", "raw/payment_method_updates", "raw/invoices",
    }  # fmt: skip
    ranges = evaluations(result)["raw/invoices:ranges"]
    assert not ranges.passed and ranges.severity == dg.AssetCheckSeverity.ERROR
    assert ranges.metadata["due_before_issue"].value == 1
    assert ranges.metadata["expected"].value.startswith("negative_amount_due = 0; ")
    assert ranges.description == (
        "raw.invoices.ranges failed: due_before_issue = 1 (expected due_before_issue = 0): i2."
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        recorded = con.execute(
            "select asset || '.' || check_name, passed, severity, run_id from quality.check_results "
            "where not passed and severity = 'ERROR'"
        ).fetchall()
    assert recorded == [("raw.invoices.ranges", False, "ERROR", result.run_id)]


def test_a_failing_warning_only_reports(settings):
    """The fixture's newest record is from 2026-03-31, days before any wall clock running this:
    the WARN freshness checks fail, and everything downstream is still built."""
    result = materialize(settings)

    assert result.success
    assert "built_from_invoices" in materialized(result)
    failed = {k: e for k, e in evaluations(result).items() if not e.passed}
    assert set(failed) == {"raw/invoices:freshness", "raw/payment_attempts:freshness"}
    assert {e.severity for e in failed.values()} == {dg.AssetCheckSeverity.WARN}
    assert len(evaluations(result)) == 68
    assert (settings.data_docs_dir / "index.html").exists()
