"""The one place that reads Arrears' configuration from the environment.

Everything else receives a `Settings` value. Defaults live under `<repo>/data/` (git-ignored);
each path can be moved with an environment variable, documented in README.md and .env.example.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_path: Path  # the file only the pipeline writes
    published_path: Path  # the read-only copy dashboards and analysts open
    landing_dir: Path  # drop zone: one sub-folder per raw entity
    rejected_dir: Path  # whole files that could not be parsed, with an error report
    dagster_home: Path
    reporting_currency: str

    @property
    def alerts_log_path(self) -> Path:
        return self.home / "alerts.log"

    def ensure_dirs(self) -> None:
        for path in (
            self.home,
            self.warehouse_path.parent,
            self.published_path.parent,
            self.landing_dir,
            self.rejected_dir,
            self.dagster_home,
        ):
            path.mkdir(parents=True, exist_ok=True)

    def subprocess_env(self) -> dict[str, str]:
        """Environment for child processes (dbt, Dagster) so they see the same paths."""
        env = dict(os.environ)
        env.update(
            ARREARS_HOME=str(self.home),
            ARREARS_WAREHOUSE=str(self.warehouse_path),
            ARREARS_PUBLISHED=str(self.published_path),
            ARREARS_LANDING=str(self.landing_dir),
            ARREARS_REPORTING_CURRENCY=self.reporting_currency,
            DAGSTER_HOME=str(self.dagster_home),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        return env


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    # absolute(), not resolve(): the published path is a symlink that must not be followed here.
    home = Path(os.path.abspath(env.get("ARREARS_HOME") or REPO_ROOT / "data"))

    def path(var: str, default: Path) -> Path:
        return Path(os.path.abspath(env[var])) if env.get(var) else default

    return Settings(
        home=home,
        warehouse_path=path("ARREARS_WAREHOUSE", home / "warehouse" / "arrears.duckdb"),
        published_path=path("ARREARS_PUBLISHED", home / "published" / "arrears.duckdb"),
        landing_dir=path("ARREARS_LANDING", home / "landing"),
        rejected_dir=path("ARREARS_REJECTED", home / "rejected"),
        dagster_home=path("DAGSTER_HOME", home / "dagster"),
        reporting_currency=(env.get("ARREARS_REPORTING_CURRENCY") or "EUR").upper(),
    )


@contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """Expose the resolved paths to child processes (dbt's `env_var()`) for a block, then restore
    the environment, so one build's paths never leak into the next (tests build many homes)."""
    saved = dict(os.environ)
    os.environ.update(
        {k: v for k, v in settings.subprocess_env().items() if k.startswith(("ARREARS_", "D"))}
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
