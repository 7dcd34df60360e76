"""Writing mapped rows into the landing folder as contract Parquet files, deterministically.

`<landing>/<entity>/<prefix>--<source>.parquet`: one file per entity and source file. The same
input gives the same bytes, and an unchanged file is not rewritten, so the ingestion's checksum
manifest skips it. Files of the same prefix that the current mapping no longer produces are
removed: the landing folder mirrors the source folder (whatever was loaded stays in raw).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow.parquet as pq

from orchestration.connectors.common import contract_table, slug
from orchestration.contract import ENTITIES


def output_name(prefix: str, source: str) -> str:
    return f"{prefix}--{slug(source)}.parquet"


def _parquet_bytes(entity: str, rows: list[dict]) -> bytes:
    table = contract_table(entity, rows)
    buffer = io.BytesIO()
    # No statistics timestamps or pandas metadata: bytes depend on the rows only.
    pq.write_table(table, buffer, compression="zstd", write_statistics=True)
    return buffer.getvalue()


def write_landing(
    landing_dir: Path, prefix: str, rows_by_entity: dict[str, list[dict]]
) -> dict[str, list[Path]]:
    """Write `rows_by_entity` (rows carry `_source`, the output group) and prune stale outputs.

    Returns {"written": [...], "unchanged": [...], "removed": [...]}.
    """
    result: dict[str, list[Path]] = {"written": [], "unchanged": [], "removed": []}
    for entity in (e.name for e in ENTITIES):
        folder = landing_dir / entity
        wanted: set[str] = set()
        groups: dict[str, list[dict]] = {}
        for row in rows_by_entity.get(entity, []):
            groups.setdefault(row["_source"], []).append(row)
        for source, rows in sorted(groups.items()):
            path = folder / output_name(prefix, source)
            wanted.add(path.name)
            data = _parquet_bytes(entity, rows)
            if path.exists() and path.read_bytes() == data:
                result["unchanged"].append(path)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            # Hidden temp name: the ingestion skips dot-files, so it never reads a half file.
            tmp = folder / f".{path.name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, path)
            result["written"].append(path)
        if folder.is_dir():
            for stale in sorted(folder.glob(f"{prefix}--*.parquet")):
                if stale.name not in wanted:
                    stale.unlink()
                    result["removed"].append(stale)
    return result
