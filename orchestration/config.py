"""The one place that reads Arrears' configuration from the environment.

Everything else receives a `Settings` value. Defaults live under `<repo>/data/` (git-ignored);
each path can be moved with an environment variable, documented in README.md and .env.example.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


# Which Stripe objects a Stripe connector keeps: `auto` (live ones when the source has any,
# else test ones), `live`, `test` or `all` (docs/connectors.md).
LIVEMODES = ("auto", "live", "test", "all")

# Which engine dbt builds the models on (docs/spark.md): DuckDB in one file, or Apache Spark
# (a local session here; a cluster or Databricks through another dbt target).
ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class AlertChannelSettings:
    """Where alerts are sent; unset channels are off (the log file is always on). Secrets never
    appear in a repr or a log line. `orchestration.alerting.channels.AlertChannels` extends it."""

    webhook_url: str | None = field(default=None, repr=False)  # Slack-compatible
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    email_from: str = "arrears-alerts@localhost"
    email_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_path: Path  # the file only the pipeline writes
    published_path: Path  # the read-only copy dashboards and analysts open
    landing_dir: Path  # drop zone: one sub-folder per raw entity
    rejected_dir: Path  # whole files that could not be parsed, with an error report
    dagster_home: Path
    reporting_currency: str
    sources_dir: Path  # raw exports for the connectors (Stripe dumps, ELT tables, mapped CSV)
    data_docs_dir: Path  # Great Expectations Data Docs, linked from the dashboard
    dashboard_url: str  # base URL put in alert messages
    # DuckDB's default is 80 % of RAM per process; a cap makes big joins and sorts spill to
    # disk instead, so a build's several processes stay within a laptop's memory.
    duckdb_memory_limit: str = "4GB"
    dbt_threads: int = 2  # models dbt builds at once
    engine: str = "duckdb"  # one of ENGINES
    # The local Spark session's driver heap (the whole local[2] "cluster" lives in it).
    spark_driver_memory: str = "2g"
    # Salt of the stable customer hash in the analyst-facing marts (dbt var `pii_hash_salt`).
    pii_salt: str = field(default="arrears", repr=False)
    port: int = 8501  # where `arrears serve` listens
    # Alert policy (orchestration.alerting.state.AlertPolicy): a closed incident's alert resolves
    # after this many quiet hours (a flap inside them re-opens it); incidents that ended longer
    # ago than the look-back when first seen are backfilled without a notification.
    alert_cooldown_hours: float = 3.0
    alert_lookback_hours: float = 24.0
    alert_channels: AlertChannelSettings = AlertChannelSettings()
    # Connectors: where each kind of source export is read from (see docs/connectors.md).
    stripe_source: Path | None = None  # Stripe API objects (JSON / JSON Lines dumps)
    stripe_tables_source: str | None = None  # ELT-synced tables: folder, .duckdb file or URI
    stripe_tables_schema: str | None = None
    mapped_csv_source: Path | None = None  # <folder>/<mapping name>/*.csv
    stripe_livemode: str = "auto"  # one of LIVEMODES
    stripe_api_key: str | None = field(default=None, repr=False)  # optional live pull
    # Optional dashboard access gate (Streamlit secrets take precedence, see dashboards/).
    dashboard_password: str | None = field(default=None, repr=False)

    @property
    def spark_dir(self) -> Path:
        """The local Spark session's files: raw tables exported as Parquet (`raw/`), the table
        warehouse (`warehouse/`) and its Hive metastore (`metastore/`)."""
        return self.home / "spark"

    @property
    def alerts_log_path(self) -> Path:
        return self.home / "alerts.log"

    @property
    def alert_acknowledgements_path(self) -> Path:
        """Where `arrears alerts ack` writes its requests (read by the next alerting run)."""
        return self.home / "alert_acknowledgements.jsonl"

    @property
    def summaries_dir(self) -> Path:
        """The weekly leadership summaries (one HTML page per week), linked from Overview."""
        return self.home / "summaries"

    @property
    def connector_reports_dir(self) -> Path:
        return self.home / "connectors" / "reports"

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

    def exports(self) -> dict[str, str]:
        """The settings child processes read from their environment (dbt, Dagster, Streamlit).
        dbt's profile and project read these with `env_var()` and no default of their own: the
        defaults are the ones above. Secrets other than the hash salt dbt needs are not in it."""
        return dict(
            ARREARS_HOME=str(self.home),
            ARREARS_WAREHOUSE=str(self.warehouse_path),
            ARREARS_PUBLISHED=str(self.published_path),
            ARREARS_LANDING=str(self.landing_dir),
            ARREARS_REPORTING_CURRENCY=self.reporting_currency,
            ARREARS_DUCKDB_MEMORY_LIMIT=self.duckdb_memory_limit,
            ARREARS_DBT_THREADS=str(self.dbt_threads),
            ARREARS_ENGINE=self.engine,
            ARREARS_SPARK_DIR=str(self.spark_dir),
            ARREARS_SPARK_DRIVER_MEMORY=self.spark_driver_memory,
            ARREARS_PII_SALT=self.pii_salt,
            ARREARS_PORT=str(self.port),
            DAGSTER_HOME=str(self.dagster_home),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )

    def subprocess_env(self) -> dict[str, str]:
        """Environment for child processes: this one's, with the settings above."""
        return {**os.environ, **self.exports()}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    # absolute(), not resolve(): the published path is a symlink that must not be followed here.
    home = Path(os.path.abspath(env.get("ARREARS_HOME") or REPO_ROOT / "data"))

    def path(var: str, default: Path) -> Path:
        return Path(os.path.abspath(env[var])) if env.get(var) else default

    sources = path("ARREARS_SOURCES", home / "sources")
    port = int(env.get("ARREARS_PORT") or default_of("port"))
    engine = (env.get("ARREARS_ENGINE") or default_of("engine")).lower()
    if engine not in ENGINES:
        raise ValueError(f"ARREARS_ENGINE={engine!r}: expected one of {', '.join(ENGINES)}")
    return Settings(
        home=home,
        warehouse_path=path("ARREARS_WAREHOUSE", home / "warehouse" / "arrears.duckdb"),
        published_path=path("ARREARS_PUBLISHED", home / "published" / "arrears.duckdb"),
        landing_dir=path("ARREARS_LANDING", home / "landing"),
        rejected_dir=path("ARREARS_REJECTED", home / "rejected"),
        dagster_home=path("DAGSTER_HOME", home / "dagster"),
        reporting_currency=(env.get("ARREARS_REPORTING_CURRENCY") or "EUR").upper(),
        sources_dir=sources,
        data_docs_dir=path("ARREARS_DATA_DOCS", home / "data_docs"),
        dashboard_url=(env.get("ARREARS_DASHBOARD_URL") or f"http://localhost:{port}").rstrip("/"),
        duckdb_memory_limit=env.get("ARREARS_DUCKDB_MEMORY_LIMIT")
        or default_of("duckdb_memory_limit"),
        dbt_threads=int(env.get("ARREARS_DBT_THREADS") or default_of("dbt_threads")),
        engine=engine,
        spark_driver_memory=env.get("ARREARS_SPARK_DRIVER_MEMORY")
        or default_of("spark_driver_memory"),
        pii_salt=env.get("ARREARS_PII_SALT") or default_of("pii_salt"),
        port=port,
        alert_cooldown_hours=float(
            env.get("ARREARS_ALERT_COOLDOWN_HOURS") or default_of("alert_cooldown_hours")
        ),
        alert_lookback_hours=float(
            env.get("ARREARS_ALERT_LOOKBACK_HOURS") or default_of("alert_lookback_hours")
        ),
        alert_channels=AlertChannelSettings(
            webhook_url=env.get("ARREARS_ALERT_WEBHOOK_URL") or None,
            smtp_host=env.get("ARREARS_SMTP_HOST") or None,
            smtp_port=int(
                env.get("ARREARS_SMTP_PORT") or default_of("smtp_port", AlertChannelSettings)
            ),
            smtp_username=env.get("ARREARS_SMTP_USERNAME") or None,
            smtp_password=env.get("ARREARS_SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env.get("ARREARS_SMTP_STARTTLS")),
            smtp_ssl=_flag(env.get("ARREARS_SMTP_SSL")),
            email_from=env.get("ARREARS_ALERT_EMAIL_FROM")
            or default_of("email_from", AlertChannelSettings),
            email_to=tuple(
                a.strip() for a in (env.get("ARREARS_ALERT_EMAIL_TO") or "").split(",") if a.strip()
            ),
        ),
        dashboard_password=env.get("ARREARS_DASHBOARD_PASSWORD") or None,
        stripe_source=path("ARREARS_STRIPE_SOURCE", sources / "stripe"),
        stripe_tables_source=env.get("ARREARS_STRIPE_TABLES") or str(sources / "stripe_tables"),
        stripe_tables_schema=env.get("ARREARS_STRIPE_TABLES_SCHEMA") or None,
        mapped_csv_source=path("ARREARS_MAPPED_CSV_SOURCE", sources / "mapped_csv"),
        stripe_livemode=(
            env.get("ARREARS_STRIPE_LIVEMODE") or default_of("stripe_livemode")
        ).lower(),
        stripe_api_key=env.get("STRIPE_API_KEY") or None,
    )


def default_of(name: str, of: type = Settings):
    """A field's default, written once in `Settings` or the dataclass `of` (an unset or empty
    variable means it)."""
    return of.__dataclass_fields__[name].default


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """Expose the resolved paths to child processes (dbt's `env_var()`) for a block, then restore
    the environment, so one build's paths never leak into the next (tests build many homes)."""
    saved = dict(os.environ)
    os.environ.update(settings.exports())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
