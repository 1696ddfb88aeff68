"""Shared fixtures: a private Airflow home/lake/warehouse per session, PostgreSQL, warehouse engines, a lake,
the demo server, S3 (moto).  Plain helpers are in tests/support (``from support.x import y``)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from support.paths import ROOT

os.environ.setdefault("LISTENING_HOME", str(ROOT))

# Tests never touch the project's own .airflow/ or data/: a private Airflow home, lake and
# warehouse per test session (set before anything imports Airflow).
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="listening-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_SESSION_DIR / "airflow" / "logs")
os.environ["LISTENING_LAKE_URL"] = str(_SESSION_DIR / "lake")
os.environ["LISTENING_WAREHOUSE_URL"] = f"sqlite:///{_SESSION_DIR / 'warehouse.db'}"
os.environ.setdefault("LISTENING_CACHE_DIR", str(_SESSION_DIR / "cache"))
os.environ["LISTENING_REPORTS_DIR"] = str(_SESSION_DIR / "reports")
os.environ["LISTENING_MODELS_DIR"] = str(_SESSION_DIR / "models")
for _var in ("LISTENING_CONFIG", "LISTENING_DEMO_URL", "AIRFLOW_CONN_LISTENING_SMTP", "AIRFLOW_CONN_LISTENING_LAKE",
             "AIRFLOW_CONN_LISTENING_WAREHOUSE", "AIRFLOW_CONN_LISTENING_WEBHOOK", "LISTENING_ALERT_RECIPIENTS",
             "LISTENING_REPORT_RECIPIENTS", "LISTENING_SENTIMENT_MODEL"):
    os.environ.pop(_var, None)

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


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB in the session's private AIRFLOW_HOME."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = Path(sys.executable).with_name("airflow")
    res = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return home


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    """An empty warehouse: once on SQLite, once on a fresh PostgreSQL database."""
    from listening import warehouse as wh

    if request.param == "sqlite":
        return wh.get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    return wh.get_engine(request.getfixturevalue("pg_url"))


@pytest.fixture
def lake(tmp_path):
    """An empty local lake."""
    from listening.lake import LocalLake

    return LocalLake(tmp_path / "lake")


@pytest.fixture(scope="module")
def server():
    """The demo site (Weibo API, feeds, web pages) on 127.0.0.1, one per test module."""
    from listening.demo.server import DemoServer

    with DemoServer() as s:
        yield s


@pytest.fixture(scope="module")
def moto_s3():
    """moto's S3 server on 127.0.0.1 (one per test module): boto3 keyword arguments to reach it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {"endpoint_url": f"http://{host}:{port}", "aws_access_key_id": "test", "aws_secret_access_key": "test",
           "region_name": "us-east-1"}
    server.stop()
