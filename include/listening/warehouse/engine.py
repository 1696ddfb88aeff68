"""The warehouse engine and its schema migrations (Alembic, ``warehouse/migrations``).

:func:`upgrade` (``listening warehouse upgrade``) creates or upgrades a database to the head
revision, and :func:`create_schema` is the cheap "make sure we are at head" every writer calls.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from listening.core.settings import default_warehouse_url


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
