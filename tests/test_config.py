"""Production defaults: what Arrears does when nothing is configured.

Most tests pass explicit values, so a changed default would go unnoticed; these read the defaults
the way production does (an empty environment) and state each one. The behaviour at each window
and threshold is tested where it is used: see the "Pinned defaults" table in tests/README.md.
"""

from __future__ import annotations

import re

import pytest
import yaml

from orchestration.config import (
    DBT_PROJECT_DIR,
    REPO_ROOT,
    AlertChannelSettings,
    Settings,
    load_settings,
)


class _Recorder(dict):
    """An environment that notes every variable `load_settings` looks up."""

    def __init__(self):
        super().__init__()
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def _variables_read() -> set[str]:
    env = _Recorder()
    load_settings(env)
    return env.read


ENV_EXAMPLE_VARIABLES = {
    m.group(1)
    for m in re.finditer(
        r"^#?\s*([A-Z][A-Z0-9_]*)=", (REPO_ROOT / ".env.example").read_text(), re.M
    )
}


def test_env_example_documents_exactly_the_variables_settings_read():
    read = _variables_read()
    assert read - ENV_EXAMPLE_VARIABLES == set(), "read by config.py, missing from .env.example"
    assert ENV_EXAMPLE_VARIABLES - read == set(), "in .env.example, never read by config.py"


def test_load_settings_with_an_empty_environment():
    home = REPO_ROOT / "data"
    expected = Settings(
        home=home,
        warehouse_path=home / "warehouse" / "arrears.duckdb",
        published_path=home / "published" / "arrears.duckdb",
        landing_dir=home / "landing",
        rejected_dir=home / "rejected",
        dagster_home=home / "dagster",
        reporting_currency="EUR",
        sources_dir=home / "sources",
        data_docs_dir=home / "data_docs",
        dashboard_url="http://localhost:8501",
        duckdb_memory_limit="4GB",
        dbt_threads=2,
        engine="duckdb",  # Spark only when asked for (docs/spark.md)
        spark_driver_memory="2g",
        pii_salt="arrears",  # set your own: the default makes customer hashes guessable
        port=8501,
        alert_cooldown_hours=3.0,
        alert_lookback_hours=24.0,
        alert_channels=AlertChannelSettings(  # every alert channel but the log file is off
            webhook_url=None,
            smtp_host=None,
            smtp_port=25,
            smtp_username=None,
            smtp_password=None,
            smtp_starttls=False,
            smtp_ssl=False,
            email_from="arrears-alerts@localhost",
            email_to=(),
        ),
        stripe_source=home / "sources" / "stripe",
        stripe_tables_source=str(home / "sources" / "stripe_tables"),
        stripe_tables_schema=None,
        mapped_csv_source=home / "sources" / "mapped_csv",
        stripe_livemode="auto",
        stripe_api_key=None,
        dashboard_password=None,  # the dashboard is open unless a password is set
    )
    actual = load_settings({})
    differing = {
        name: (getattr(actual, name), getattr(expected, name))
        for name in Settings.__dataclass_fields__
        if getattr(actual, name) != getattr(expected, name)
    }
    assert differing == {}, f"defaults changed (actual, expected): {differing}"


def test_empty_values_fall_back_to_the_defaults():
    # An exported-but-empty variable (`ARREARS_REPORTING_CURRENCY=`) means "unset", not "".
    blank = {name: "" for name in ENV_EXAMPLE_VARIABLES}
    assert load_settings(blank) == load_settings({})


def _vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def test_dbt_project_vars_and_their_environment_defaults():
    # Each window's behaviour at its boundary is unit-tested in the model YAML that uses it
    # (tests/README.md, "Pinned defaults"); this states the production values in one place.
    assert _vars() == {
        "reporting_currency": "{{ env_var('ARREARS_REPORTING_CURRENCY') | upper }}",
        "recovery_window_days": 60,
        "dunning_attribution_days": 7,
        "plan_grace_days": 7,
        "pii_hash_salt": "{{ env_var('ARREARS_PII_SALT') }}",
        # The Spark engine's raw tables (docs/spark.md); read by the register_spark_raw hook.
        "spark_raw_dir": "{{ env_var('ARREARS_SPARK_DIR') }}/raw",
        # Failure-rate monitoring's floor and history (boundaries: _monitoring_intermediate.yml
        # failure_rate_windows_are_judged_from_the_volume_floor_with_a_baseline).
        "failure_rate_min_score": 6,
        "failure_rate_min_attempts": 20,
        "failure_rate_min_level_blocks": 2,
        "failure_rate_min_block_attempts": 20,
        # The CUSUM's alarm bar: h = ln(8760 x years) from one false alarm per segment per 100
        # years (tests/alerting/test_cusum.py derives it and follows a thin incident to it).
        "failure_rate_cusum_years_per_false_alarm": 100,
        "failure_rate_cusum_odds_ratio": 4,
        # The rest of the monitoring parameters. Card-testing, incident and dispute-window ones
        # are unit-tested at their boundaries (tests/README.md); the other failure-rate ones are
        # only stated here so far.
        "failure_rate_level_blocks": 4,
        "failure_rate_baseline_weeks": 6,
        "failure_rate_prior_attempts": 50,
        "failure_rate_screening_score": 3,
        "failure_rate_day_of_month_months": 6,
        "failure_rate_day_of_month_prior_failures": 10,
        "failure_rate_day_of_month_max_factor": 2,
        "failure_rate_baseline_z": 2,
        "failure_rate_min_excess_failures": 5,
        "failure_rate_min_lift": 1.5,
        "failure_rate_min_increase": 0.05,
        "failure_rate_continue_score": 1.3,
        "failure_rate_attribution_margin": 0.2,
        "card_testing_small_amount": 5,
        "card_testing_gap_minutes": 10,
        "card_testing_min_cards": 5,
        "card_testing_min_failure_share": 0.5,
        "incident_max_silence_windows": 3,
        "incident_critical_rate_increase": 0.4,
        "incident_high_lift": 2,
        "incident_card_testing_critical_cards": 50,
        "incident_card_testing_critical_validated": 5,
        "incident_dispute_critical_lift": 5,
        # The delinquency score's target and feature windows (boundaries: risk_features.yml
        # risk_target_horizon_and_days_past_due_at_their_boundaries; the 90-day window is stated
        # only).
        "risk_days_past_due": 30,
        "risk_horizon_days": 60,
        "risk_feature_window_days": 90,
        "dispute_baseline_days": 28,
        "dispute_min_history_days": 14,
        "dispute_screening_score": 3,
        "dispute_baseline_z": 2,
        "dispute_spike_min_disputes": 5,
        "dispute_spike_min_lift": 2,
        "dispute_spike_min_score": 4,
        "dispute_continue_score": 1.3,
        "dispute_continue_lift": 2,
        "incident_example_count": 3,
        # The daily dispute CUSUM: h = ln(365 x years) (disputes_daily.yml unit test
        # cusum_alarms_on_the_day_a_spike_crosses_the_bar works a spike to it).
        "dispute_cusum_rate_ratio": 6,
        "dispute_cusum_baseline_lag_days": 7,
        "dispute_cusum_years_per_false_alarm": 100,
    }
    # Their defaults are Settings' (EUR, "arrears"), exported to dbt.
    exports = load_settings({}).exports()
    assert (exports["ARREARS_REPORTING_CURRENCY"], exports["ARREARS_PII_SALT"]) == (
        "EUR",
        "arrears",
    )


def _vars_read() -> dict[str, set[str]]:
    """Every `var('name'[, default])` in the project's SQL: name -> the inline defaults found."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"\bvar\(\s*['\"](\w+)['\"]\s*(?:,\s*([^)]+?))?\s*\)")
    for folder in ("models", "macros", "tests"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*.sql"):
            for name, default in pattern.findall(path.read_text()):
                found.setdefault(name, set()).update({default} if default else set())
    return found


def test_every_var_has_its_one_default_in_dbt_project_yml():
    # An inline `var('x', 5)` is a second default that can drift from the project's, and a
    # variable read in several models could get several (the monitoring models held 35 before
    # they moved here). dbt stops on a var with no value at all: every var read is declared.
    read = _vars_read()
    assert {name: defaults for name, defaults in read.items() if defaults} == {}
    assert set(read) - set(_vars()) == set(), "read in SQL, not declared in dbt_project.yml"
    assert set(_vars()) - set(read) == set(), "declared in dbt_project.yml, never read"


def test_dbt_reads_every_setting_from_the_exports_with_no_default_of_its_own():
    # One default per setting, in config.py: a second one in the profile or the project could
    # drift (it did: "4GB" was written three times). A bare `dbt` call needs `arrears env`.
    texts = [(DBT_PROJECT_DIR / name).read_text() for name in ("profiles.yml", "dbt_project.yml")]
    read = {m.group(1): m.group(2) for t in texts for m in ENV_VAR.finditer(t)}
    assert {name: default for name, default in read.items() if default} == {}
    assert set(read) <= set(load_settings({}).exports())
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    output = profile["arrears"]["outputs"]["warehouse"]
    assert output["settings"]["memory_limit"] == "{{ env_var('ARREARS_DUCKDB_MEMORY_LIMIT') }}"
    assert output["threads"] == "{{ env_var('ARREARS_DBT_THREADS') | int }}"
    exports = load_settings({}).exports()
    assert (exports["ARREARS_DUCKDB_MEMORY_LIMIT"], exports["ARREARS_DBT_THREADS"]) == ("4GB", "2")


ENV_VAR = re.compile(r"env_var\(\s*'(\w+)'\s*(?:,\s*'([^']*)')?\s*\)")


def test_each_setting_is_read_from_its_variable():
    env = {
        "ARREARS_DBT_THREADS": "4",
        "ARREARS_PII_SALT": "s3cret",
        "ARREARS_PORT": "9000",
        "ARREARS_ALERT_COOLDOWN_HOURS": "1.5",
        "ARREARS_ALERT_LOOKBACK_HOURS": "48",
    }
    settings = load_settings(env)
    assert (settings.dbt_threads, settings.pii_salt, settings.port) == (4, "s3cret", 9000)
    assert (settings.alert_cooldown_hours, settings.alert_lookback_hours) == (1.5, 48.0)
    # The dashboard link in alert messages follows the port unless set itself.
    assert settings.dashboard_url == "http://localhost:9000"
    assert "s3cret" not in repr(settings)
    # Child processes (dbt, Streamlit) see the same values.
    assert {
        k: settings.exports()[k]
        for k in ("ARREARS_DBT_THREADS", "ARREARS_PII_SALT", "ARREARS_PORT")
    } == {  # fmt: skip
        "ARREARS_DBT_THREADS": "4",
        "ARREARS_PII_SALT": "s3cret",
        "ARREARS_PORT": "9000",
    }


def test_alert_channels_built_by_hand_default_like_unset_settings():
    # The channel defaults (SMTP port, sender) are written once, in AlertChannelSettings.
    from dataclasses import replace

    from orchestration.alerting.channels import AlertChannels, channels_from_settings

    configured = channels_from_settings(load_settings({}))
    assert replace(configured, log_path=None, dashboard_url=None) == AlertChannels()


def test_the_engine_is_read_once_and_an_unknown_one_stops_the_start():
    settings = load_settings({"ARREARS_ENGINE": "Spark", "ARREARS_SPARK_DRIVER_MEMORY": "3g"})
    assert (settings.engine, settings.spark_driver_memory) == ("spark", "3g")
    # dbt's profile picks its target from the export (profiles.yml), so dbt run by hand follows it.
    assert {
        k: settings.exports()[k] for k in ("ARREARS_ENGINE", "ARREARS_SPARK_DRIVER_MEMORY")
    } == {
        "ARREARS_ENGINE": "spark",
        "ARREARS_SPARK_DRIVER_MEMORY": "3g",
    }
    assert settings.exports()["ARREARS_SPARK_DIR"] == str(settings.home / "spark")
    with pytest.raises(ValueError, match="ARREARS_ENGINE='postgres'"):
        load_settings({"ARREARS_ENGINE": "postgres"})
