"""Fixtures for the dashboard tests: the app pointed at a published warehouse, in-process
(AppTest) or served by Streamlit for a real browser."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from orchestration.config import REPO_ROOT, Settings, load_settings
from tests.dashboards.sparse_shapes import SHAPES, write_landing

APP = REPO_ROOT / "dashboards" / "streamlit_app.py"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "dashboards"
# url path, title, and the file st.navigation knows each page by.
PAGES = (
    ("", "Overview", "app_pages/overview.py"),
    ("delinquency", "Delinquency & ageing", "app_pages/delinquency.py"),
    ("recovery", "Recovery", "app_pages/recovery.py"),
    ("fraud_alerts", "Fraud & alerts", "app_pages/fraud_alerts.py"),
    ("customer_lookup", "Customer lookup", "app_pages/customer_lookup.py"),
    ("data_quality", "Data quality", "app_pages/data_quality.py"),
    ("sql_workbench", "SQL workbench", "app_pages/sql_workbench.py"),
)


def app_env(settings: Settings) -> dict[str, str]:
    """The variables that point `load_settings()` at `settings` (what `arrears serve` passes)."""
    env = {k: v for k, v in settings.subprocess_env().items() if k.startswith("ARREARS_")}
    env["ARREARS_DATA_DOCS"] = str(settings.data_docs_dir)
    env.pop("ARREARS_DASHBOARD_PASSWORD", None)
    return env


@contextmanager
def pointed_at(settings: Settings, **extra: str) -> Iterator[None]:
    """Run in-process app code against `settings` (the app reads its settings from the env)."""
    with mock.patch.dict(os.environ, {**app_env(settings), **extra}):
        if "ARREARS_DASHBOARD_PASSWORD" not in extra:
            os.environ.pop("ARREARS_DASHBOARD_PASSWORD", None)
        yield


def run_page(page_file: str | None = None, timeout: float = 60) -> AppTest:
    """A fresh session (as a new browser tab) opened on `page_file` (default: the home page)."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if page_file:
        at.switch_page(page_file)
    return at.run()


def copy_settings(source: Settings, home: Path) -> Settings:
    """A private home holding a copy of `source`'s warehouse and published copy (to mutate)."""
    settings = load_settings({"ARREARS_HOME": str(home)})
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.published_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source.warehouse_path, settings.warehouse_path)
    target = settings.published_path.with_name("arrears-copy.duckdb")
    shutil.copy(source.published_path.resolve(), target)
    settings.published_path.symlink_to(target.name)
    return settings


@pytest.fixture(scope="session")
def published(sample_settings) -> Settings:
    """The shared sample warehouse, built by the real pipeline (tests/conftest.py)."""
    return sample_settings


@pytest.fixture(scope="session")
def partial(published, tmp_path_factory) -> Settings:
    """A published copy missing the alerting, quality and recovery marts: pages must say
    "not available yet", never raise."""
    settings = copy_settings(published, tmp_path_factory.mktemp("partial_home"))
    with duckdb.connect(str(settings.published_path.resolve())) as con:
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('alerting', 'quality') "
            "or table_name in ('recovery_cohorts', 'incidents', 'collections_monthly')"
        ).fetchall():
            con.execute(f"drop table {schema}.{table}")
    return settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(published) -> Iterator[str]:
    """`streamlit run` on the sample warehouse, the way `arrears serve` starts it. Yields its URL."""
    port = _free_port()
    log = ARTIFACTS / "streamlit.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {**published.subprocess_env(), **app_env(published)}
    env.pop("ARREARS_DASHBOARD_PASSWORD", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(APP),
                "--server.port", str(port), "--server.headless", "true",
                "--browser.gatherUsageStats", "false",
            ],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def sparse_warehouses(tmp_path_factory):
    """`built(name)`: the settings of the sparse warehouse of that shape
    (tests/dashboards/sparse_shapes.py), built by the real pipeline from its landing files and
    published the first time a test asks for it, then shared by the session."""
    from orchestration.pipeline import build

    built: dict[str, Settings] = {}

    def get(name: str) -> Settings:
        if name not in built:
            shape = SHAPES[name]
            home = tmp_path_factory.mktemp(f"sparse_{name}")
            settings = load_settings({"ARREARS_HOME": str(home), **shape.env})
            write_landing(shape, settings.landing_dir)
            assert build(settings), f"the {name} build failed; see the log above"
            built[name] = settings
        return built[name]

    return get
