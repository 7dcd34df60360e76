"""Writing the landing folder: one file per entity and month of `updated_at`, as exports arrive.

Files are written under a temporary name (`.part`, an extension ingestion ignores) and renamed
when complete, so a sensor watching the landing folder never reads half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from orchestration.contract import ENTITY_BY_NAME
from orchestration.generator.columns import arrow_schema
from orchestration.generator.timeutil import month_index

EXTENSIONS = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
FILE_PREFIX = "sample-"
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _text_timestamps(table: pa.Table) -> pa.Table:
    """CSV and JSON carry timestamps as ISO-8601 UTC text: 2026-03-01T09:15:00Z."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.strftime(table.column(i).cast(pa.timestamp("s")), format=_ISO)
            table = table.set_column(i, pa.field(field.name, pa.string()), text)
    return table


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode the repetitive text columns only: ids, times and amounts are nearly
    unique, and trying a dictionary on them doubles the writing time for nothing."""
    unique = ("_id", "card_fingerprint", "ip_address", "email", "name")
    return [f.name for f in schema if pa.types.is_string(f.type) and not f.name.endswith(unique)]


class LandingWriter:
    def __init__(self, out_dir: Path, file_format: str, t0: int, t1: int):
        if file_format not in EXTENSIONS:
            raise ValueError(
                f"file_format must be one of {sorted(EXTENSIONS)}, not {file_format!r}"
            )
        self.out_dir = out_dir
        self.format = file_format
        self.t0, self.t1 = t0, t1
        self.rows: dict[str, int] = {}
        self._open: dict[tuple[str, str], object] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="arrears-gen-")
        self._duck = None
        if file_format == "jsonl":
            self._duck = duckdb.connect()
            self._duck.execute("set threads = 1")  # one thread: rows keep their order
        for name in ENTITY_BY_NAME:
            folder = out_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            # A previous sample in this folder (maybe another format or period) would mix in.
            for old in folder.glob(f"{FILE_PREFIX}*"):
                old.unlink()

    def write(self, entity: str, table: pa.Table, updated_at: np.ndarray) -> None:
        """Appends rows, split by month of `updated_at` and ordered by it within a file."""
        if table.num_rows == 0:
            return
        order = np.argsort(updated_at, kind="stable")
        table = table.take(pa.array(order))
        months = month_index(np.clip(updated_at[order], self.t0, self.t1 - 1))
        bounds = np.flatnonzero(np.r_[True, months[1:] != months[:-1], True])
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            label = str(np.datetime64(int(months[lo]), "M"))
            self._append(entity, label, table.slice(lo, hi - lo))
        self.rows[entity] = self.rows.get(entity, 0) + table.num_rows

    def _path(self, entity: str, label: str) -> Path:
        return self.out_dir / entity / f"{FILE_PREFIX}{label}{EXTENSIONS[self.format]}"

    def _append(self, entity: str, label: str, table: pa.Table) -> None:
        key = (entity, label)
        part = Path(str(self._path(entity, label)) + ".part")
        if self.format == "parquet":
            if key not in self._open:
                schema = arrow_schema(ENTITY_BY_NAME[entity])
                self._open[key] = pq.ParquetWriter(
                    part, schema, compression="zstd", use_dictionary=_dictionary_columns(schema)
                )
            self._open[key].write_table(table)
        elif self.format == "csv":
            text = _text_timestamps(table)
            if key not in self._open:
                self._open[key] = pcsv.CSVWriter(part, text.schema)
            self._open[key].write_table(text)
        else:
            if key not in self._open:
                self._open[key] = open(part, "wb")  # noqa: SIM115 - closed in close()
            scratch = Path(self._tmp.name) / "block.jsonl"
            self._duck.register("block", _text_timestamps(table))
            self._duck.execute(f"copy block to '{scratch}' (format json)")
            self._duck.unregister("block")
            self._open[key].write(scratch.read_bytes())

    def close(self) -> list[Path]:
        """Finishes every file and gives it its final name. An entity without any row still
        gets one (empty) file, so every contract entity is present in every drop."""
        last_month = str(np.datetime64(int(month_index(np.array([self.t1 - 1]))[0]), "M"))
        for name, entity in ENTITY_BY_NAME.items():
            if not self.rows.get(name):
                empty = arrow_schema(entity).empty_table()
                self._append(name, last_month, empty)
                self.rows[name] = 0
        paths = []
        for (entity, label), handle in sorted(self._open.items()):
            handle.close()
            final = self._path(entity, label)
            os.replace(str(final) + ".part", final)
            paths.append(final)
        self._open.clear()
        if self._duck is not None:
            self._duck.close()
        self._tmp.cleanup()
        return paths
