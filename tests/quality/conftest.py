"""Fixtures over the shared sample build (tests/conftest.py): private copies to tamper with."""

import datetime as dt
import shutil

import duckdb
import pytest

from orchestration.generator import GeneratorConfig

# The sample's newest records are from the generator's end day; "now" is half a day later.
SAMPLE_NOW = GeneratorConfig().end + dt.timedelta(hours=12)


@pytest.fixture
def sample_warehouse(sample_settings, tmp_path):
    """A read-write connection to a private copy of the sample's built warehouse."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_settings.warehouse_path, path)
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")
    yield con
    con.close()
