"""Alembic environment of the warehouse.

Two ways in:

* :func:`listening.warehouse.upgrade` (``listening warehouse upgrade``, the DAGs, every writer)
  passes an open connection in ``config.attributes["connection"]``: the migration runs inside
  the caller's transaction (and lock).
* the ``alembic`` command with ``alembic.ini`` at the repository root: the URL is
  ``-x url=...``, else ``LISTENING_WAREHOUSE_URL``, else the embedded SQLite default.
  ``alembic revision --autogenerate -m "..."`` compares against ``listening.warehouse.metadata``.
"""

from __future__ import annotations

from alembic import context

from listening import warehouse as wh

config = context.config
target_metadata = wh.metadata


def _url() -> str:
    x = context.get_x_argument(as_dictionary=True)
    return wh.normalise_url(x.get("url") or config.get_main_option("sqlalchemy.url") or wh.default_warehouse_url())


def _configure(**kw) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **kw)


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _configure(connection=conn, render_as_batch=conn.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = wh.get_engine(_url())
    with engine.connect() as connection:
        _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
