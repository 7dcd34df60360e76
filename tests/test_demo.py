"""The demo's sample data ends where a fresh `make demo` finds it fresh."""

import dataclasses
from datetime import datetime, timedelta

import duckdb

from orchestration.cli import demo_config
from orchestration.generator import generate


def test_the_demo_sample_ends_at_the_start_of_today_and_is_fresh(tmp_path):
    now = datetime(2026, 12, 4, 15, 30)
    config = demo_config(now)
    assert config.end == datetime(2026, 12, 4)
    assert config.customers == 20_000

    generate(dataclasses.replace(config, customers=200), tmp_path)

    with duckdb.connect() as con:
        for entity in ("invoices", "payment_attempts"):
            files = sorted(str(p) for p in (tmp_path / entity).iterdir())
            (newest,) = con.execute(
                "select max(updated_at::timestamp) from read_parquet(?, union_by_name => true)"
                if files[0].endswith(".parquet")
                else "select max(updated_at::timestamp) from read_csv(?, union_by_name => true)",
                [files],
            ).fetchone()
            # The raw freshness check warns beyond 48 h; the newest record is hours old.
            assert now - timedelta(hours=48) < newest <= config.end, entity
