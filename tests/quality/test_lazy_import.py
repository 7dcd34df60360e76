"""Great Expectations takes ~10 s to import: only running checks may pay for it."""

import subprocess
import sys

PROBE = """
import sys
def gx_loaded():
    return 'great_expectations' in sys.modules
import data_quality
print('data_quality', gx_loaded())
import data_quality.core, data_quality.raw, data_quality.marts, data_quality.results
print('check definitions', gx_loaded())
import orchestration.cli, orchestration.defs.quality.checks
print('CLI and Dagster code location', gx_loaded())
import duckdb
from data_quality.runner import run_checks
print('runner module', gx_loaded())
run_checks(duckdb.connect(), [])
print('running checks', gx_loaded())
"""


def test_only_running_checks_imports_great_expectations(tmp_path):
    # Run as a script file, as every entry point is: under `python -c` pyspark (imported by GX)
    # takes the nameless __main__ for its own doctest run and exits the process.
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.splitlines() == [
        "data_quality False",
        "check definitions False",
        "CLI and Dagster code location False",
        "runner module False",
        "running checks True",  # the probe does see GX once it is imported
    ]
