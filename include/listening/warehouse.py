"""The warehouse: a star schema in any SQLAlchemy database (SQLite by default, PostgreSQL tested).

Every table and column is described in ``docs/data_dictionary.md``.  In short:

* dimensions ``dim_date``, ``dim_brand`` (+ ``dim_brand_competitor``, ``dim_owned_account``),
  ``dim_source``, ``dim_author``
* facts ``fct_mention`` (one row per unique mention, natural key ``source_id`` + ``native_id``),
  ``bridge_mention_brand`` (mention x matched brand, with the matched terms), ``fct_interaction``
  (comments and replies under posts), ``fct_sales`` (daily sales / spend per brand)
* marts ``mart_*``, rebuilt per local day from ``sql/mart_*.sql`` by :func:`build_marts`
* audit ``etl_batch`` (one row per source and data interval), ``etl_quarantine``, ``etl_coverage``,
  ``etl_cursor``, ``etl_sales_file``

The schema is under Alembic migrations (``include/listening/migrations``): :func:`upgrade`
(``listening warehouse upgrade``) creates or upgrades a database to the head revision, and
:func:`create_schema` is the cheap "make sure we are at head" every writer calls.  ``metadata``
below always describes the head revision (a test checks the migrations produce exactly it).
The bulk load path is in :mod:`listening.loader`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
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
    bindparam,
    create_engine,
    delete,
    func,
    inspect,
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
    # revision 0002
    Column("goal", String(20), comment="awareness / reputation / sales (sales config); NULL = awareness"),
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
    # revision 0002
    Index("ix_fct_mention_interval", "interval_key"),
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
    # revision 0002
    Column("date_key", Integer, comment="local day (config timezone) of window_start"),
    Column("brand_links", Integer, comment="bridge_mention_brand rows written by the load"),
    Index("ix_etl_batch_date", "date_key"),
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
    # revision 0002
    Column("stage", String(20), comment="raw / staged / sales: which gate stopped the row"),
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

# ---- revision 0002: the BI model ---------------------------------------------------------------------
dim_brand_competitor = Table(
    "dim_brand_competitor", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("competitor_id", String(40), primary_key=True),
)

dim_owned_account = Table(
    "dim_owned_account", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("account_name", String(200), primary_key=True, comment="screen name of an official account"),
)

fct_interaction = Table(
    "fct_interaction", metadata,
    Column("interaction_id", String(300), primary_key=True, comment="source_id:native_id"),
    Column("source_id", String(40), nullable=False),
    Column("native_id", String(250), nullable=False, comment="comment id"),
    Column("mention_id", String(300), nullable=False, comment="the post commented on: source_id:status_id"),
    Column("status_id", String(250), nullable=False),
    Column("kind", String(20), nullable=False, comment="owned_reply / reply / comment"),
    Column("reply_to", String(250), comment="the comment it answers (inline replies)"),
    Column("text", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, comment="UTC"),
    Column("date_key", Integer, nullable=False, comment="local day (config timezone)"),
    Column("author_key", String(200)),
    Column("author_name", Text),
    Column("author_followers", BigInteger),
    Column("like_count", BigInteger, nullable=False),
    Column("is_owned_reply", Boolean, nullable=False),
    Column("owned_brand", String(40), comment="brand whose official account wrote it"),
    Column("sentiment", Float),
    Column("sentiment_label", String(10), nullable=False),
    Column("interval_key", String(40), nullable=False),
    Column("raw_ref", Text),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_fct_interaction_mention", "mention_id"),
    Index("ix_fct_interaction_date", "date_key"),
)

fct_sales = Table(
    "fct_sales", metadata,
    Column("date_key", Integer, primary_key=True, comment="local day of the figures"),
    Column("brand_id", String(40), primary_key=True),
    Column("sales_amount", Float, comment="revenue in the drop's currency"),
    Column("units", BigInteger),
    Column("spend", Float, comment="campaign / media spend"),
    Column("currency", String(10)),
    Column("source_key", Text, nullable=False, comment="lake key of the drop file it came from"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

etl_sales_file = Table(
    "etl_sales_file", metadata,
    Column("file_key", String(500), primary_key=True, comment="lake key of the drop"),
    Column("sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False, comment="loaded / rejected"),
    Column("rows", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("first_date_key", Integer),
    Column("last_date_key", Integer),
    Column("errors", Text, nullable=False, comment="JSON list"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

mart_share_of_voice = Table(
    "mart_share_of_voice", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("competitors", Integer, nullable=False, comment="competitors in the brand's set"),
    Column("mentions", Integer, nullable=False),
    Column("competitor_mentions", Integer, nullable=False),
    Column("set_mentions", Integer, nullable=False, comment="brand + its competitors"),
    Column("share_of_voice", Float, comment="mentions / set_mentions"),
    Column("reach", BigInteger, nullable=False),
    Column("set_reach", BigInteger, nullable=False),
    Column("share_of_reach", Float),
    Column("positive", Integer, nullable=False),
    Column("set_positive", Integer, nullable=False),
    Column("share_of_positive", Float),
    Column("negative", Integer, nullable=False),
    Column("set_negative", Integer, nullable=False),
    Column("share_of_negative", Float),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_top_authors = Table(
    "mart_top_authors", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("author_key", String(200), primary_key=True),
    Column("author_name", Text),
    Column("kol_tier", String(10), nullable=False),
    Column("followers", BigInteger),
    Column("mentions", Integer, nullable=False),
    Column("reach_weighted_mentions", BigInteger, nullable=False, comment="sum of reach over the mentions"),
    Column("engagement", BigInteger, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("net_sentiment", Float),
    Column("rank", Integer, nullable=False, comment="1 = most reach-weighted mentions that day for the brand"),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_hot_terms = Table(
    "mart_hot_terms", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("term", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("trailing_7d_avg", Float),
    Column("change", Float, comment="count / trailing_7d_avg - 1"),
    Column("built_at", DateTime(timezone=True)),
)

mart_alerts = Table(
    "mart_alerts", metadata,
    Column("alert_id", String(120), primary_key=True),
    Column("brand_id", String(40), nullable=False),
    Column("kind", String(40), nullable=False, comment="e.g. volume_spike, negative_spike"),
    Column("severity", String(20), nullable=False, comment="info / warning / critical"),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, comment="open / acknowledged / closed"),
    Column("payload", JSON, comment="the figures behind the alert"),
    Column("notified_at", DateTime(timezone=True)),
    Index("ix_mart_alerts_brand_status", "brand_id", "status"),
)

# ---- revision 0003: analysts' sentiment corrections -------------------------------------------------
sentiment_feedback = Table(
    "sentiment_feedback", metadata,
    Column("mention_id", String(300), primary_key=True, comment="fct_mention.mention_id"),
    Column("corrected_at", DateTime(timezone=True), primary_key=True, comment="UTC; the latest wins"),
    Column("label", String(10), nullable=False, comment="negative / neutral / positive"),
    Column("corrected_by", String(200), nullable=False),
    CheckConstraint("label IN ('negative', 'neutral', 'positive')", name="ck_sentiment_feedback_label"),
    comment="analysts' corrected sentiment labels; training data of the retrain_sentiment DAG",
)

mart_pipeline_health = Table(
    "mart_pipeline_health", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("interval_key", String(40), primary_key=True),
    Column("date_key", Integer, nullable=False, comment="local day of window_start"),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("coverage", String(20), nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("parsed", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("quarantine_share", Float, comment="quarantined / (loaded + quarantined)"),
    Column("slices", Integer, nullable=False, comment="crawled slices (split ones excluded)"),
    Column("slices_complete", Integer, nullable=False),
    Column("coverage_ratio", Float, comment="slices_complete / slices"),
    Column("errors", Integer, nullable=False, comment="number of errors recorded"),
    Column("attempts", Integer, nullable=False),
    Column("last_loaded_at", DateTime(timezone=True), nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Index("ix_mart_pipeline_health_date", "date_key"),
)

mart_response = Table(
    "mart_response", metadata,
    Column("date_key", Integer, primary_key=True, comment="local day of the mention"),
    Column("brand_id", String(40), primary_key=True),
    Column("mentions", Integer, nullable=False, comment="non-spam mentions not written by owned accounts"),
    Column("mentions_replied", Integer, nullable=False, comment="... with at least one reply by the brand"),
    Column("one_to_one_rate", Float, comment="mentions_replied / mentions"),
    Column("negative_mentions", Integer, nullable=False),
    Column("negative_replied", Integer, nullable=False),
    Column("negative_awaiting", Integer, nullable=False),
    Column("negative_reply_rate", Float, comment="negative_replied / negative_mentions"),
    Column("median_first_reply_s", Float, comment="median seconds from a negative mention to the first reply"),
    Column("owned_replies", Integer, nullable=False),
    Column("user_comments", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_brand_kpi = Table(
    "mart_brand_kpi", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("goal", String(20), nullable=False),
    Column("mentions", Integer, nullable=False),
    Column("reach", BigInteger, nullable=False),
    Column("engagement", BigInteger, nullable=False),
    Column("share_of_voice", Float),
    Column("net_sentiment", Float),
    Column("avg_sentiment", Float),
    Column("negative", Integer, nullable=False),
    Column("sales_amount", Float),
    Column("units", BigInteger),
    Column("spend", Float),
    Column("kpi_1_name", String(40), nullable=False),
    Column("kpi_1_value", Float),
    Column("kpi_2_name", String(40), nullable=False),
    Column("kpi_2_value", Float),
    Column("kpi_3_name", String(40)),
    Column("kpi_3_value", Float),
    Column("kpi_1_per_spend", Float, comment="kpi_1_value / spend: output per unit of input"),
    Column("sales_per_mention", Float),
    Column("spend_per_1k_reach", Float),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

FACT_COLUMNS = [c.name for c in fct_mention.columns]
#: what a BI role may read (``grant_readonly``): dimensions, facts and marts, never the audit tables
BI_TABLE_PREFIXES = ("dim_", "fct_", "bridge_", "mart_")


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


# ---- migrations --------------------------------------------------------------------------------------
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001"
_PG_MIGRATION_LOCK = 73_411_005  # pg_advisory_xact_lock key: one migrator at a time
_at_head: set[str] = set()  # engine URLs known to be at head in this process
_head: str | None = None


def alembic_config(url: str | None = None) -> Any:
    """An Alembic config for the package's migrations (``alembic.ini`` at the repo root does the same)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    global _head
    if _head is None:
        from alembic.script import ScriptDirectory

        _head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return _head


def current_revision(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Serialise migrations of one SQLite file across processes (mapped tasks start together)."""
    db = engine.url.database
    if engine.dialect.name != "sqlite" or not db or db == ":memory:":
        yield
        return
    import fcntl

    with open(f"{db}.migrate.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> dict[str, Any]:
    """Create or upgrade the warehouse schema to ``revision`` (default: head) with Alembic.

    A database created before migrations existed (``metadata.create_all`` of the first
    release: tables but no ``alembic_version``) is stamped with the baseline revision first,
    then upgraded.  PostgreSQL migrates in one transaction under an advisory lock; SQLite
    under a file lock.  Returns ``{"from": rev, "to": rev}``.
    """
    from alembic import command

    with _sqlite_file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        before = current_revision(conn)
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        if before is None and inspect(conn).has_table("fct_mention"):
            command.stamp(cfg, BASELINE_REVISION)
            before = BASELINE_REVISION
        command.upgrade(cfg, revision)
        after = current_revision(conn)
    if revision == "head":
        _at_head.add(str(engine.url))
    return {"from": before, "to": after}


def create_schema(engine: Engine) -> None:
    """Make sure the schema is at the head revision (cheap when it already is)."""
    key = str(engine.url)
    if key in _at_head:
        return
    with engine.connect() as conn:
        at_head = current_revision(conn) == head_revision()
    if at_head:
        _at_head.add(key)
        return
    upgrade(engine)


def now_utc() -> datetime:
    return datetime.now(UTC)


# ---- upserts -----------------------------------------------------------------------------------------
def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None, chunk: int = 2000) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL; a portable fallback elsewhere.

    For small tables (dimensions, audit rows); the bulk fact path is :mod:`listening.loader`.
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


def date_key(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


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


# ---- marts -------------------------------------------------------------------------------------------
def sql_dir() -> str:
    return str(project_root() / "sql")


#: in dependency order: share of voice and the KPI mart read mart_brand_daily
MART_FILES = [
    "mart_brand_daily.sql",
    "mart_share_of_voice.sql",
    "mart_top_authors.sql",
    "mart_response.sql",
    "mart_pipeline_health.sql",
    "mart_brand_kpi.sql",
]

# The few dialect-specific expressions of the mart SQL, written {{ name(arg) }} in sql/*.sql.
_MACROS: dict[str, dict[str, str]] = {
    "epoch": {  # seconds since 1970 of a timestamp column
        "sqlite": "((julianday({0}) - 2440587.5) * 86400.0)",
        "postgresql": "EXTRACT(EPOCH FROM {0})",
        "snowflake": "DATE_PART(epoch_second, {0})",
        "bigquery": "UNIX_SECONDS({0})",
        "redshift": "EXTRACT(EPOCH FROM {0})",
        "mysql": "UNIX_TIMESTAMP({0})",
    },
    "ident": {  # a column name that is a keyword somewhere (rank, count)
        "sqlite": '"{0}"', "postgresql": '"{0}"', "snowflake": '"{0}"', "redshift": '"{0}"',
        "bigquery": "`{0}`", "mysql": "`{0}`",
    },
    "json_len": {  # number of elements of a JSON array stored as text
        "sqlite": "json_array_length({0})",
        "postgresql": "json_array_length(CAST({0} AS json))",
        "snowflake": "ARRAY_SIZE(PARSE_JSON({0}))",
        "bigquery": "ARRAY_LENGTH(JSON_QUERY_ARRAY({0}))",
        "redshift": "JSON_ARRAY_LENGTH({0})",
        "mysql": "JSON_LENGTH({0})",
    },
}
_MACRO_RE = re.compile(r"\{\{\s*(\w+)\((.*?)\)\s*\}\}")


def render_sql(sql: str, dialect: str) -> str:
    """Expand the ``{{ epoch(col) }}``, ``{{ json_len(col) }}`` and ``{{ ident(name) }}`` macros for a dialect."""
    def expand(m: re.Match[str]) -> str:
        name, arg = m.group(1), m.group(2).strip()
        forms = _MACROS.get(name)
        if forms is None:
            raise ValueError(f"unknown SQL macro {name!r}")
        form = forms.get(dialect) or forms["postgresql"]
        return form.format(arg)

    return _MACRO_RE.sub(expand, sql)


def mart_statements(name: str, dialect: str) -> list[str]:
    with open(os.path.join(sql_dir(), name), encoding="utf-8") as fh:
        return _split_sql(render_sql(fh.read(), dialect))


def build_marts(engine: Engine, start_key: int | None = None, end_key: int | None = None,
                only: Sequence[str] | None = None) -> dict[str, int]:
    """Rebuild the marts for local days [start_key, end_key] (all days when None), in one transaction.

    ``only`` restricts the rebuild to some of :data:`MART_FILES` (kept in their order).
    Returns the row count of every ``mart_*`` table afterwards.
    """
    create_schema(engine)
    lo = start_key if start_key is not None else 0
    hi = end_key if end_key is not None else 99991231
    params = {"start_key": lo, "end_key": hi, "built_at": now_utc()}
    unknown = sorted(set(only or ()) - set(MART_FILES))
    if unknown:
        raise ValueError(f"unknown mart file(s) {unknown}; known: {MART_FILES}")
    with engine.begin() as conn:
        for name in [m for m in MART_FILES if only is None or m in only]:
            for stmt in mart_statements(name, conn.dialect.name):
                sql = text(stmt)
                if ":built_at" in stmt:  # stored like every other timestamp of the dialect
                    sql = sql.bindparams(bindparam("built_at", type_=DateTime(timezone=True)))
                conn.execute(sql, {k: v for k, v in params.items() if f":{k}" in stmt})
        return {
            t: conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar_one()
            for t in sorted(metadata.tables) if t.startswith("mart_")
        }


def _split_sql(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def local_day_bounds(day: date, tz: Any) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def table_counts(engine: Engine) -> dict[str, int]:
    create_schema(engine)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for name, t in metadata.tables.items()
        }


# ---- BI access ---------------------------------------------------------------------------------------
def bi_tables() -> list[str]:
    return sorted(t for t in metadata.tables if t.startswith(BI_TABLE_PREFIXES))


_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_readonly(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """PostgreSQL: create (or update) ``role`` so it can SELECT the dimensions, facts and marts, nothing else.

    The role can log in when a password is given (``LOGIN PASSWORD``), otherwise it is a group
    role to grant to analysts' own logins.  Idempotent: re-run it after ``warehouse upgrade`` so
    new tables are readable.  Returns the tables granted.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"grant-readonly needs PostgreSQL (this warehouse is {engine.dialect.name}); "
                         "on other warehouses use their own GRANT statements on the tables of bi_tables()")
    if not _ROLE_RE.match(role):
        raise ValueError(f"invalid role name {role!r} (lowercase letters, digits, _; max 63)")
    create_schema(engine)
    tables = bi_tables()
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        verb = "ALTER" if exists else "CREATE"
        if password is not None:
            from psycopg import sql as pgsql

            # DDL takes no bind parameters: let psycopg quote the password literal
            stmt = pgsql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(pgsql.Identifier(role),
                                                                         pgsql.Literal(password))
            with conn.connection.driver_connection.cursor() as cur:
                cur.execute(stmt)
        elif not exists:
            conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
        db = conn.execute(text("SELECT current_database()")).scalar_one()
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'REVOKE CREATE ON SCHEMA "{schema}" FROM "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"'))
        conn.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM "{role}"'))
        for t in tables:
            conn.execute(text(f'GRANT SELECT ON TABLE "{schema}"."{t}" TO "{role}"'))
    return tables
