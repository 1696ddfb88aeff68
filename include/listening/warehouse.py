"""The warehouse: a star schema in any SQLAlchemy database (SQLite by default, PostgreSQL tested).

Tables (see README "Warehouse tables" for every column):

* ``dim_date``, ``dim_brand``, ``dim_source``, ``dim_author``
* ``fct_mention``: one row per unique mention (natural key ``source_id`` + ``native_id``)
* ``bridge_mention_brand``: which brands a mention matched, with the matched terms
* ``mart_brand_daily``: per local day and brand (built from ``sql/mart_brand_daily.sql``)
* ``etl_batch`` (one audit row per source interval), ``etl_quarantine``, ``etl_coverage``, ``etl_cursor``

Loads are idempotent: every write is an upsert on a natural key or a replace of
the rows that belong to the interval, all inside one transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from listening.config import Config, project_root

metadata = MetaData()

dim_date = Table(
    "dim_date", metadata,
    Column("date_key", Integer, primary_key=True, comment="YYYYMMDD of the local day"),
    Column("date", Date, nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("day", Integer, nullable=False),
    Column("iso_year", Integer, nullable=False),
    Column("iso_week", Integer, nullable=False),
    Column("weekday", Integer, nullable=False, comment="1 = Monday ... 7 = Sunday"),
    Column("is_weekend", Boolean, nullable=False),
)

dim_brand = Table(
    "dim_brand", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("brand_name", String(200), nullable=False),
    Column("query", Text, nullable=False),
    Column("competitors", Text, nullable=False, comment="comma-separated brand ids"),
    Column("owned_accounts", Text, nullable=False, comment="comma-separated account names"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dim_source = Table(
    "dim_source", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dim_author = Table(
    "dim_author", metadata,
    Column("author_key", String(200), primary_key=True, comment="source_id:author_id"),
    Column("source_id", String(40), nullable=False),
    Column("author_id", String(200), nullable=False),
    Column("author_name", Text),
    Column("followers", BigInteger),
    Column("verified", Boolean),
    Column("verified_type", Integer),
    Column("kol_tier", String(10), nullable=False, comment="mega / macro / micro / nano / none"),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

fct_mention = Table(
    "fct_mention", metadata,
    Column("mention_id", String(300), primary_key=True, comment="source_id:native_id"),
    Column("source_id", String(40), nullable=False),
    Column("native_id", String(250), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False, comment="display text, original script"),
    Column("clean_text", Text, nullable=False, comment="what the sentiment model read"),
    Column("published_at", DateTime(timezone=True), nullable=False, comment="UTC"),
    Column("date_key", Integer, nullable=False, comment="local day (config timezone), FK dim_date"),
    Column("hour_local", Integer, nullable=False),
    Column("author_key", String(200)),
    Column("reposts", BigInteger, nullable=False),
    Column("comments", BigInteger, nullable=False),
    Column("likes", BigInteger, nullable=False),
    Column("engagement", BigInteger, nullable=False, comment="reposts + comments + likes"),
    Column("reach", BigInteger, nullable=False, comment="author followers at crawl time"),
    Column("is_repost", Boolean, nullable=False),
    Column("retweet_of", String(250)),
    Column("is_spam", Boolean, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("story_id", String(64), nullable=False),
    Column("sentiment", Float, comment="SnowNLP P(positive); NULL = no text to score"),
    Column("sentiment_label", String(10), nullable=False, comment="negative / neutral / positive / none"),
    Column("model_version", String(80)),
    Column("interval_key", String(40), nullable=False, comment="data interval that loaded it last"),
    Column("raw_ref", Text),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_fct_mention_date", "date_key"),
    Index("ix_fct_mention_source_native", "source_id", "native_id", unique=True),
    Index("ix_fct_mention_story", "story_id"),
)

bridge_mention_brand = Table(
    "bridge_mention_brand", metadata,
    Column("mention_id", String(300), primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("matched_terms", Text, nullable=False, comment="JSON list of query terms found"),
    Index("ix_bridge_brand", "brand_id"),
)

mart_brand_daily = Table(
    "mart_brand_daily", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("mentions", Integer, nullable=False),
    Column("unique_stories", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("neutral", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("unscored", Integer, nullable=False),
    Column("net_sentiment", Float, comment="(positive - negative) / mentions"),
    Column("avg_sentiment", Float),
    Column("engagement", BigInteger, nullable=False),
    Column("reach", BigInteger, nullable=False),
    Column("spam_excluded", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

etl_batch = Table(
    "etl_batch", metadata,
    Column("batch_id", String(120), primary_key=True, comment="source_id/interval_key"),
    Column("source_id", String(40), nullable=False),
    Column("interval_key", String(40), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, comment="loaded / failed / rejected"),
    Column("coverage", String(20), nullable=False, comment="complete / partial / capped / failed"),
    Column("fetched", Integer, nullable=False, comment="raw HTTP responses"),
    Column("parsed", Integer, nullable=False),
    Column("out_of_window", Integer, nullable=False),
    Column("unmatched", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("errors", Text, nullable=False, comment="JSON list"),
    Column("raw_key", Text),
    Column("attempts", Integer, nullable=False),
    Column("first_loaded_at", DateTime(timezone=True), nullable=False),
    Column("last_loaded_at", DateTime(timezone=True), nullable=False),
)

etl_quarantine = Table(
    "etl_quarantine", metadata,
    Column("interval_key", String(40), primary_key=True),
    Column("source_id", String(40), primary_key=True),
    Column("native_id", String(250), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("record", Text, nullable=False, comment="the mention as JSON"),
    Column("raw_ref", Text),
    Column("quarantined_at", DateTime(timezone=True), nullable=False),
)

etl_coverage = Table(
    "etl_coverage", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("interval_key", String(40), primary_key=True),
    Column("slice_no", Integer, primary_key=True),
    Column("slice_start", DateTime(timezone=True), nullable=False),
    Column("slice_end", DateTime(timezone=True), nullable=False),
    Column("query", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("items", Integer, nullable=False),
    Column("detail", Text, nullable=False),
)

etl_cursor = Table(
    "etl_cursor", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("cursor", Text, nullable=False, comment="JSON"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

FACT_COLUMNS = [c.name for c in fct_mention.columns]


def default_warehouse_url() -> str:
    return os.environ.get("LISTENING_WAREHOUSE_URL") or f"sqlite:///{project_root() / 'data' / 'warehouse.db'}"


def normalise_url(url: str) -> str:
    """Accept the URL forms Airflow connections produce (``postgres://``) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def get_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or default_warehouse_url())
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def now_utc() -> datetime:
    return datetime.now(UTC)


# ---- upserts -----------------------------------------------------------------------------------------
def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None, chunk: int = 2000) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL; a portable fallback elsewhere."""
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
    # other dialects: delete the keys then insert (same transaction, same result)
    for row in rows:
        conn.execute(delete(table).where(*[table.c[k] == row[k] for k in keys]))
    conn.execute(table.insert(), list(rows))


def ensure_dates(conn: Connection, days: Iterable[date]) -> None:
    rows = []
    for d in sorted(set(days)):
        iso_year, iso_week, weekday = d.isocalendar()
        rows.append({
            "date_key": d.year * 10000 + d.month * 100 + d.day,
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


def date_key(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def sync_dimensions(conn: Connection, config: Config) -> None:
    """dim_brand and dim_source follow the configuration file."""
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


# ---- marts -------------------------------------------------------------------------------------------
def sql_dir() -> str:
    return str(project_root() / "sql")


MART_FILES = ["mart_brand_daily.sql"]


def build_marts(engine: Engine, start_key: int | None = None, end_key: int | None = None) -> dict[str, int]:
    """Rebuild the marts for local days [start_key, end_key] (all days when None), in one transaction."""
    counts: dict[str, int] = {}
    lo = start_key if start_key is not None else 0
    hi = end_key if end_key is not None else 99991231
    with engine.begin() as conn:
        for name in MART_FILES:
            with open(os.path.join(sql_dir(), name), encoding="utf-8") as fh:
                sql = fh.read()
            for stmt in _split_sql(sql):
                conn.execute(text(stmt), {"start_key": lo, "end_key": hi, "built_at": now_utc()})
            table = name.removesuffix(".sql")
            counts[table] = conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
    return counts


def _split_sql(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def local_day_bounds(day: date, tz: Any) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for name, t in metadata.tables.items()
        }
