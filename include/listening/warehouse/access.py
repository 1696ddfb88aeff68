"""BI access: the read-only role analysts' tools log in with."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Engine

from listening.warehouse.engine import create_schema
from listening.warehouse.schema import BI_TABLE_PREFIXES, metadata


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
