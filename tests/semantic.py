"""`mf query` against a warehouse file, the way an analyst runs it (tests share this one runner)."""

import csv
import subprocess
import sys
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR, Settings

MF = Path(sys.executable).with_name("mf")


def metricflow(settings: Settings, published: Path, work: Path):
    """A `query(*mf_args) -> rows` function reading `published` through the `published` target."""
    env = {
        **settings.subprocess_env(),
        "ARREARS_PUBLISHED": str(published),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    # mf always reads dbt_project/target/semantic_manifest.json; write it for a catalog named
    # `arrears`, as the pipeline's own parse does.
    parsed = subprocess.run(
        [str(MF.with_name("dbt")), "parse", "--quiet"], cwd=DBT_PROJECT_DIR, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr

    def query(*args: str) -> list[dict]:
        out = work / "result.csv"
        result = subprocess.run(
            [str(MF), "query", *args, "--csv", str(out)],
            cwd=DBT_PROJECT_DIR, env={**env, "DBT_TARGET": "published"},
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        with out.open() as fh:
            return list(csv.DictReader(fh))

    return query
