"""A comparable fingerprint of a warehouse: row count and an order-independent checksum per table."""

from pathlib import Path

import duckdb

# Columns that record *when* a build ran, not *what* it computed.
VOLATILE = (
    "_loaded_at", "loaded_at", "built_at", "checked_at", "run_id", "published_at",
    "quarantined_at", "replayed_at", "loaded_through", "evaluated_at",
)  # fmt: skip


def fingerprint(db_path: Path, schemas: tuple[str, ...] = ("marts",)) -> dict[str, tuple[int, int]]:
    result = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in (select unnest(?)) order by 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in VOLATILE
            ]
            row = ", ".join(f'"{c}"' for c in cols)
            count, checksum = con.execute(
                f'select count(*), coalesce(sum(hash({row})), 0) from "{schema}"."{table}"'
            ).fetchone()
            result[f"{schema}.{table}"] = (count, int(checksum))
    return result
