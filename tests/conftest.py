"""Shared fixtures: project paths, a scratch lake/warehouse, PostgreSQL, the demo server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LISTENING_HOME", str(ROOT))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

PG_URL = os.environ.get("LISTENING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL reachable at LISTENING_TEST_PG_URL; skipped (or, with CI=true, failed) if not."""
    try:
        from sqlalchemy import text

        eng = _pg_admin_engine()
        with eng.connect() as c:
            c.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        msg = f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}): set LISTENING_TEST_PG_URL"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{msg}; PostgreSQL tests are mandatory when CI=true")
        pytest.skip(msg)
    return eng


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database for one test; dropped afterwards."""
    from sqlalchemy import text

    name = f"listening_test_{uuid.uuid4().hex[:10]}"
    with pg_server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    from sqlalchemy import create_engine

    create_engine(url).dispose()
    with pg_server.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def config():
    from listening.config import load_config

    return load_config(ROOT / "include" / "brands.yaml")


@pytest.fixture
def demo_server():
    from listening.demo.server import DemoServer

    with DemoServer() as s:
        yield s
