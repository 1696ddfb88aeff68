"""Settings resolution: env var, then Airflow connection, then the embedded default."""

from __future__ import annotations

import json

import pytest

from listening.config import load_config
from listening.orchestration import connections as glue
from listening.orchestration.recipients import report_recipients


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for v in ("LISTENING_WAREHOUSE_URL", "LISTENING_LAKE_URL", "AIRFLOW_CONN_LISTENING_WAREHOUSE",
              "AIRFLOW_CONN_LISTENING_LAKE", "AIRFLOW_CONN_LISTENING_SMTP", "LISTENING_REPORT_RECIPIENTS"):
        monkeypatch.delenv(v, raising=False)


def test_warehouse_url_precedence(monkeypatch):
    assert glue.warehouse_url().startswith("sqlite:///") and glue.warehouse_url().endswith("data/warehouse.db")
    monkeypatch.setenv("AIRFLOW_CONN_LISTENING_WAREHOUSE", "postgres://u:p@db.example:5432/wh")
    assert glue.warehouse_url() == "postgresql+psycopg://u:p@db.example:5432/wh"
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", "sqlite:////tmp/x.db")
    assert glue.warehouse_url() == "sqlite:////tmp/x.db"


def test_lake_from_aws_connection(monkeypatch):
    extra = {"lake_url": "s3://bucket/prefix", "endpoint_url": "http://127.0.0.1:5000", "region_name": "us-east-1"}
    monkeypatch.setenv("AIRFLOW_CONN_LISTENING_LAKE", json.dumps(
        {"conn_type": "aws", "login": "AKIA", "password": "secret", "extra": extra}))
    url, kwargs = glue.lake_settings()
    assert url == "s3://bucket/prefix"
    assert kwargs == {"endpoint_url": "http://127.0.0.1:5000", "region_name": "us-east-1",
                      "aws_access_key_id": "AKIA", "aws_secret_access_key": "secret"}


def test_smtp_and_recipients(monkeypatch):
    assert glue.smtp_settings() is None
    monkeypatch.setenv("AIRFLOW_CONN_LISTENING_SMTP", json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": 2525, "extra": {"from_email": "bot@example.com"}}))
    s = glue.smtp_settings()
    assert (s["host"], s["port"], s["from_email"], s["starttls"]) == ("127.0.0.1", 2525, "bot@example.com", False)
    monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", "a@example.com; b@example.com,")
    assert report_recipients() == ["a@example.com", "b@example.com"]


def test_source_auth_from_connection(monkeypatch, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "brands: [{id: a, name: A, query: a}]\n"
        "sources: [{id: w, kind: weibo_search, base_url: 'https://m.weibo.cn', connection: weibo_login}]\n")
    config = load_config(cfg)
    with pytest.raises(RuntimeError, match="weibo_login"):
        glue.source_auth(config)
    monkeypatch.setenv("AIRFLOW_CONN_WEIBO_LOGIN", json.dumps(
        {"conn_type": "http", "extra": {"cookies": "SUB=abc; SUBP=def", "headers": {"X-Token": "t"}}}))
    assert glue.source_auth(config) == {"w": {"headers": {"X-Token": "t"}, "cookies": {"SUB": "abc", "SUBP": "def"}}}
