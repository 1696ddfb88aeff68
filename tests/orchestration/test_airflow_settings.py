"""airflow_settings.yaml (Astro schema) is applied to the Airflow DB, idempotently, including removals."""

from __future__ import annotations

import json

import pytest
from support.paths import ROOT

SETTINGS = """
airflow:
  connections:
    - conn_id: settings_test_smtp
      conn_type: smtp
      conn_host: 127.0.0.1
      conn_port: 2525
      conn_extra: {"from_email": "bot@example.com"}
    - conn_id: extra_conn
      conn_type: http
      conn_host: example.com
  pools:
    - pool_name: settings_test_pool
      pool_slot: 3
      pool_description: crawl
  variables:
    - variable_name: settings_test_recipients
      variable_value: a@example.com, b@example.com
"""


def test_apply_update_and_remove(airflow_db, tmp_path):
    from airflow.models import Connection, Variable
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    from listening.orchestration.airflow_settings import apply_settings_file

    state = tmp_path / "state.json"
    f = tmp_path / "airflow_settings.yaml"
    f.write_text(SETTINGS)
    assert apply_settings_file(f, state) == {"connections": 2, "pools": 1, "variables": 1, "removed": 0}
    apply_settings_file(f, state)  # twice: no duplicates, no errors
    with create_session() as s:
        c = s.query(Connection).filter(Connection.conn_id == "settings_test_smtp").one()
        assert (c.host, c.port, json.loads(c.extra)["from_email"]) == ("127.0.0.1", 2525, "bot@example.com")
        assert s.query(Pool).filter(Pool.pool == "settings_test_pool").one().slots == 3
    assert Variable.get("settings_test_recipients") == "a@example.com, b@example.com"

    # a change takes effect; a removed entry disappears
    f.write_text(SETTINGS.replace("2525", "2626").replace("pool_slot: 3", "pool_slot: 1")
                 .replace("    - conn_id: extra_conn\n      conn_type: http\n      conn_host: example.com\n", ""))
    counts = apply_settings_file(f, state)
    assert counts["removed"] == 1
    with create_session() as s:
        assert s.query(Connection).filter(Connection.conn_id == "settings_test_smtp").one().port == 2626
        assert s.query(Connection).filter(Connection.conn_id == "extra_conn").one_or_none() is None
        assert s.query(Pool).filter(Pool.pool == "settings_test_pool").one().slots == 1

    # an empty file removes everything this state file tracked: the shared test DB is left clean
    f.write_text("airflow: {}\n")
    assert apply_settings_file(f, state)["removed"] == 3
    with create_session() as s:
        assert s.query(Connection).filter(Connection.conn_id.like("settings_test%")).count() == 0
        assert s.query(Pool).filter(Pool.pool == "settings_test_pool").one_or_none() is None


def test_every_sources_crawl_pool_exists_after_apply(airflow_db, tmp_path):
    """A source whose pool the settings file does not declare gets one with 1 slot; a declared one
    keeps its slots; a pool no source names any more is removed with the rest."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    from listening.config import load_config, parse_config
    from listening.orchestration.airflow_settings import apply_settings_file

    root = ROOT
    text = (root / "include" / "brands.yaml").read_text(encoding="utf-8")
    text = text.replace("pool: listening_weibo", "pool: settings_test_weibo").replace(
        "path: /rss/tech.xml", "path: /rss/tech.xml\n    pool: settings_test_feeds").replace(
        "path: /atom/forum.xml", "path: /atom/forum.xml\n    pool: settings_test_feeds")
    config = parse_config(text, origin="t.yaml")
    assert {s.crawl_pool for s in config.enabled_sources} == {"settings_test_weibo", "settings_test_feeds"}
    assert load_config().source("weibo").crawl_pool == "listening_weibo"
    state, f = tmp_path / "state.json", tmp_path / "airflow_settings.yaml"
    f.write_text(SETTINGS.replace("settings_test_pool", "settings_test_weibo"))
    assert apply_settings_file(f, state, config=config)["pools"] == 2
    with create_session() as s:
        pools = {p.pool: p for p in s.query(Pool).filter(Pool.pool.like("settings_test%"))}
        assert {k: p.slots for k, p in pools.items()} == {"settings_test_weibo": 3, "settings_test_feeds": 1}
        assert pools["settings_test_feeds"].description == "crawls of technews, forum (brands.yaml)"
    f.write_text("airflow: {}\n")
    apply_settings_file(f, state)
    with create_session() as s:
        assert s.query(Pool).filter(Pool.pool.like("settings_test%")).count() == 0


def test_bad_file_is_reported(tmp_path):
    from listening.orchestration.airflow_settings import SettingsFileError, read_settings_file

    f = tmp_path / "s.yaml"
    f.write_text("airflow:\n  connections:\n    - conn_type: http\n")
    with pytest.raises(SettingsFileError, match=r"airflow.connections\[0\]: 'conn_id' is required"):
        read_settings_file(f)
    f.write_text("connections: []\n")
    with pytest.raises(SettingsFileError, match="top-level 'airflow:'"):
        read_settings_file(f)


def test_bundled_settings_file_is_valid():

    from listening.orchestration.airflow_settings import read_settings_file

    spec = read_settings_file(ROOT / "airflow_settings.yaml")
    assert any(p["pool_name"] == "listening_crawl" for p in spec["pools"])
    assert any(v["variable_name"] == "listening_report_recipients" for v in spec["variables"])
