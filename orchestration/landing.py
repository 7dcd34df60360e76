"""Which files in the landing folder are landing files: the ingestion loads them, the sensor
watches them, and a build's recorded inputs list them (orchestration/build_state.py). Kept apart
from the loader so listing them imports neither DuckDB nor Arrow."""

from __future__ import annotations

from pathlib import Path


def discover_files(landing_dir: Path, entity: str) -> list[Path]:
    """Landing files of one entity, oldest first. Hidden and partial (`.tmp`, `.part`) files are
    skipped: a writer may still be copying them."""
    folder = landing_dir / entity
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not p.name.startswith((".", "_", "~"))
        and p.suffix.lower() not in (".tmp", ".part", ".crdownload")
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, str(p)))
