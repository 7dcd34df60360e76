"""The dbt project as Dagster sees it, and the manifest Dagster builds the asset graph from."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from orchestration.build_state import DBT_INPUTS
from orchestration.config import DBT_PROJECT_DIR, Settings, exported, load_settings

arrears_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The virtualenv's dbt, found next to this interpreter (the venv's bin/ need not be on PATH).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=arrears_dbt, dbt_executable=DBT_EXECUTABLE)


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in DBT_INPUTS:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            # Folders too: deleting or renaming a file changes only its folder's mtime.
            for entry in (path, *path.rglob("*")):
                newest = max(newest, entry.stat().st_mtime)
    return newest


def manifest_is_stale() -> bool:
    manifest = arrears_dbt.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_input_mtime()


def prepare_manifest(settings: Settings | None = None, force: bool = False) -> Path:
    """Run `dbt parse` when target/manifest.json is missing or older than the project's files.

    dbt reuses target/partial_parse.msgpack, so a re-parse after a small change is quick. The
    profile reads the settings from the environment even to parse: `settings` are exported for
    it. Without them (this module imported on its own, as tests and `dg dev`'s loader do), the
    process environment is the configuration.
    """
    if force or manifest_is_stale():
        with exported(settings or load_settings()):
            dbt_resource().cli(["parse", "--quiet"], target_path=arrears_dbt.target_path).wait()
    return arrears_dbt.manifest_path
