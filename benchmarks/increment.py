"""One more day of billing data for a landing folder: the last day replayed one day later.

Every record version produced on the last day of the data is written again one day later, as a
new drop file per entity (`<landing>/<entity>/bench-next-day.parquet`), so the drop looks like
the next daily export: records created that day get new ids (and their children point at the new
ids), records merely updated that day stay the same records with a newer version. New records
move entirely by one day; updated records move only their timestamps that fall on that day.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.contract import ENTITIES, Entity

DROP_NAME = "bench-next-day"
ID_SUFFIX = "_d1"


def drop_files(landing_dir: Path) -> list[Path]:
    return sorted(landing_dir.glob(f"*/{DROP_NAME}.parquet"))


def remove_drop(landing_dir: Path) -> None:
    for path in drop_files(landing_dir):
        path.unlink()


def _source(landing_dir: Path, entity: Entity) -> str | None:
    files = [p for p in (landing_dir / entity.name).glob("*.parquet") if p.stem != DROP_NAME]
    if not files:
        return None
    listing = ", ".join(f"'{p}'" for p in sorted(files))
    return f"read_parquet([{listing}], union_by_name = true)"


def write_next_day(landing_dir: Path) -> dict[str, int]:
    """Write the drop; returns rows per entity (entities with nothing that day are left out)."""
    remove_drop(landing_dir)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    sources = {e.name: _source(landing_dir, e) for e in ENTITIES}
    last_day = con.execute(
        "select max(d) from ("
        + " union all ".join(
            f"select max(updated_at)::date as d from {sources[name]}"
            for name in ("invoices", "payment_attempts")
            if sources[name]
        )
        + ")"
    ).fetchone()[0]
    rows: dict[str, int] = {}
    for entity in ENTITIES:  # parents before children: a child maps onto its parent's new ids
        source = sources[entity.name]
        if source is None:
            continue
        key = entity.key
        con.execute(
            f"""
            create or replace temp table {entity.name}__new_ids as
            select {key} as old_id, {key} || '{ID_SUFFIX}' as new_id
            from {source}
            group by {key}
            having min(updated_at)::date = ?
            """,
            [last_day],
        )
        select, joins = [], []
        for column in entity.columns:
            name = column.name
            if name == key:
                select.append(f"coalesce(new_ids.new_id, day.{name}) as {name}")
            elif column.parent:
                parent = column.parent
                alias = f"{parent}__map_{name}"
                joins.append(
                    f"left join {parent}__new_ids as {alias} on day.{name} = {alias}.old_id"
                )
                select.append(f"coalesce({alias}.new_id, day.{name}) as {name}")
            elif column.type == "TIMESTAMP":
                select.append(
                    f"case when new_ids.new_id is not null or day.{name} >= $last_day "
                    f"then day.{name} + interval 1 day else day.{name} end as {name}"
                )
            else:
                select.append(f"day.{name}")
        folder = landing_dir / entity.name
        part = folder / f"{DROP_NAME}.parquet.part"
        query = f"""
            select {", ".join(select)}
            from {source} as day
            left join {entity.name}__new_ids as new_ids on day.{key} = new_ids.old_id
            {" ".join(joins)}
            where day.updated_at::date = $last_day
            order by updated_at
        """
        count = con.execute(f"select count(*) from ({query})", {"last_day": last_day}).fetchone()[0]
        if count == 0:
            continue
        con.execute(
            f"copy ({query}) to '{part}' (format parquet)",
            {"last_day": last_day},
        )
        part.rename(folder / f"{DROP_NAME}.parquet")
        rows[entity.name] = count
    con.close()
    return rows
