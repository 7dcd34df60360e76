"""Fixtures for the dbt warehouse tests: build the warehouse from a landing folder, once per session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration import ingest
from orchestration.config import DBT_PROJECT_DIR, load_settings
from orchestration.contract import ENTITIES

GOLDEN_LANDING = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "landing"
DBT = Path(sys.executable).with_name("dbt")


class Warehouse:
    """A DuckDB warehouse file built by dbt in a temp folder, with helpers to run dbt and query."""

    def __init__(self, root: Path):
        self.root = root
        # Named like the pipeline's file: dbt-duckdb names the catalog after it, and the semantic
        # manifest that `mf` reads (always dbt_project/target) refers to tables by catalog.
        self.path = root / "arrears.duckdb"
        self.landing = root / "landing"
        # Own target/log folders: never touch dbt_project/target, which the pipeline uses.
        self.target = root / "dbt_target"
        # What dbt reads from its environment (the profile has no defaults of its own).
        self.settings = load_settings({"ARREARS_WAREHOUSE": str(self.path)})

    def load(self, source_landing: Path) -> None:
        """Copy a landing folder in and load it through the real ingestion."""
        shutil.copytree(source_landing, self.landing, dirs_exist_ok=True)
        con = ingest.connect(self.path)
        try:
            for entity in ENTITIES:
                report = ingest.load_entity(con, entity.name, self.landing, self.root / "rejected")
                assert not report.rejected and not report.rows_quarantined, (entity.name, report)
        finally:
            con.close()

    def dbt(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(DBT), *args, "--profiles-dir", str(DBT_PROJECT_DIR),
             "--target-path", str(self.target), "--log-path", str(self.root / "dbt_logs")],
            cwd=DBT_PROJECT_DIR,
            env={**self.settings.subprocess_env(), **(env or {})},
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        return result

    def query(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def query_dicts(self, sql: str) -> list[dict]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# Dagster groups of this piece's assets (the monitoring group belongs to the alerting piece).
OWN_GROUPS = ("reference", "staging", "intermediate", "marts", "semantic")


def materialise(warehouse: Warehouse):
    """`dbt build` of this piece's models through the Dagster assets (dagster-dbt)."""
    import dagster as dg

    from orchestration.defs.transform import assets

    return dg.materialize(
        [assets.arrears_dbt_assets],
        resources={**assets.defs.resources, "settings": warehouse.settings},
        selection=dg.AssetSelection.groups(*OWN_GROUPS),
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def golden_run(tmp_path_factory):
    """The golden billing history, ingested, then built by Dagster: models, data and unit tests."""
    warehouse = Warehouse(tmp_path_factory.mktemp("golden"))
    warehouse.load(GOLDEN_LANDING)
    return warehouse, materialise(warehouse)


@pytest.fixture(scope="session")
def golden_warehouse(golden_run) -> Warehouse:
    warehouse, result = golden_run
    assert result.success, "the golden build failed; see the dbt output above"
    return warehouse
