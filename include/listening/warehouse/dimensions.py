"""Dimensions, the generic upsert and the crawl cursors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import Connection, Engine

from listening.config import Config
from listening.core.model import date_key
from listening.warehouse.engine import create_schema, now_utc
from listening.warehouse.schema import (
    dim_brand,
    dim_brand_competitor,
    dim_date,
    dim_owned_account,
    dim_source,
    etl_cursor,
)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None, chunk: int = 2000) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL; a portable fallback elsewhere.

    For small tables (dimensions, audit rows); the bulk fact path is :mod:`listening.warehouse.load`.
    """
    if not rows:
        return
    name = conn.dialect.name
    cols = list(rows[0].keys())
    update = [c for c in (update if update is not None else cols) if c not in keys]
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            stmt = dialect_insert(table)
            if update:
                stmt = stmt.on_conflict_do_update(
                    index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
            conn.execute(stmt, part)
        return
    # other dialects: delete the keys then insert (same transaction, same result); with update=[]
    # (insert only if missing) existing rows are kept
    if not update:
        present = set()
        for row in rows:
            if conn.execute(select(*[table.c[k] for k in keys])
                            .where(*[table.c[k] == row[k] for k in keys])).first():
                present.add(tuple(row[k] for k in keys))
        rows = [r for r in rows if tuple(r[k] for k in keys) not in present]
        if rows:
            conn.execute(table.insert(), list(rows))
        return
    for row in rows:
        conn.execute(delete(table).where(*[table.c[k] == row[k] for k in keys]))
    conn.execute(table.insert(), list(rows))


def ensure_dates(conn: Connection, days: Iterable[date]) -> None:
    rows = []
    for d in sorted(set(days)):
        iso_year, iso_week, weekday = d.isocalendar()
        rows.append({
            "date_key": date_key(d),
            "date": d,
            "year": d.year,
            "quarter": (d.month - 1) // 3 + 1,
            "month": d.month,
            "day": d.day,
            "iso_year": iso_year,
            "iso_week": iso_week,
            "weekday": weekday,
            "is_weekend": weekday >= 6,
        })
    upsert(conn, dim_date, rows, ["date_key"], update=[])


def sync_dimensions(conn: Connection, config: Config) -> None:
    """dim_brand (with its competitor and owned-account lists) and dim_source follow the configuration."""
    now = now_utc()
    upsert(conn, dim_brand, [
        {
            "brand_id": b.id,
            "brand_name": b.name,
            "query": b.query_text,
            "competitors": ",".join(b.competitors),
            "owned_accounts": ",".join(b.owned_accounts),
            "updated_at": now,
        }
        for b in config.brands
    ], ["brand_id"])
    upsert(conn, dim_source, [
        {"source_id": s.id, "kind": s.kind, "base_url": s.base_url, "enabled": s.enabled, "updated_at": now}
        for s in config.sources
    ], ["source_id"])
    ids = [b.id for b in config.brands]
    want_comp = {(b.id, c) for b in config.brands for c in b.competitors}
    want_owned = {(b.id, a) for b in config.brands for a in b.owned_accounts}
    for table, want, cols in ((dim_brand_competitor, want_comp, ("brand_id", "competitor_id")),
                              (dim_owned_account, want_owned, ("brand_id", "account_name"))):
        have = {tuple(r) for r in conn.execute(select(table.c[cols[0]], table.c[cols[1]])
                                               .where(table.c.brand_id.in_(ids)))}
        for a, b in have - want:
            conn.execute(delete(table).where(table.c[cols[0]] == a, table.c[cols[1]] == b))
        if want - have:
            conn.execute(table.insert(), [dict(zip(cols, r, strict=True)) for r in sorted(want - have)])


def kol_tier(followers: int | None) -> str:
    f = followers or 0
    if f >= 1_000_000:
        return "mega"
    if f >= 100_000:
        return "macro"
    if f >= 10_000:
        return "micro"
    if f >= 1_000:
        return "nano"
    return "none"


def model_utc(dt: datetime) -> datetime:
    """A datetime read back from the database as aware UTC (SQLite returns naive UTC values)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def get_cursor_conn(conn: Connection, source_id: str) -> dict[str, Any]:
    row = conn.execute(select(etl_cursor.c.cursor).where(etl_cursor.c.source_id == source_id)).first()
    return json.loads(row[0]) if row else {}


def get_cursor(engine: Engine, source_id: str) -> dict[str, Any]:
    create_schema(engine)
    with engine.connect() as conn:
        return get_cursor_conn(conn, source_id)


def save_cursor(conn: Connection, source_id: str, cursor: dict[str, Any]) -> None:
    upsert(conn, etl_cursor, [{"source_id": source_id, "cursor": json.dumps(cursor, sort_keys=True),
                               "updated_at": now_utc()}], ["source_id"])
