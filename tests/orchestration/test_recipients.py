"""One resolution of recipients: failure alerts go to the same people as the spike and crisis alerts."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
import yaml

from listening.config import load_config, parse_config
from listening.core.settings import parse_recipients
from listening.orchestration import callbacks
from listening.orchestration.recipients import alert_recipients, report_recipients

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def brands_with_alert_recipients(tmp_path, monkeypatch):
    doc = yaml.safe_load((ROOT / "include" / "brands.yaml").read_text(encoding="utf-8"))
    doc.setdefault("alerts", {}).setdefault("channels", {})["recipients"] = "ops@example.com; pr@example.com"
    path = tmp_path / "brands.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("LISTENING_CONFIG", str(path))
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", "boss@example.com")
    monkeypatch.delenv("LISTENING_ALERT_RECIPIENTS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_SMTP", raising=False)
    return path


def test_failure_alerts_reach_the_alert_recipients_of_brands_yaml(brands_with_alert_recipients, tmp_path):
    config = load_config()
    assert alert_recipients(config) == ["ops@example.com", "pr@example.com"]  # what send_alerts notifies
    out = callbacks.alert_on_failure({"dag": None, "run_id": "r1", "exception": RuntimeError("boom")})
    assert out is not None and not out["sent"]  # no SMTP here: written to disk
    msg = email.message_from_bytes(Path(out["path"]).read_bytes(), policy=policy.default)
    assert msg["To"] == "ops@example.com, pr@example.com"
    assert "boom" in msg.get_content()


def test_a_broken_config_still_alerts_the_configured_variables(tmp_path, monkeypatch):
    (tmp_path / "bad.yaml").write_text("brands: [", encoding="utf-8")
    monkeypatch.setenv("LISTENING_CONFIG", str(tmp_path / "bad.yaml"))
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("LISTENING_ALERT_RECIPIENTS", "oncall@example.com")
    assert callbacks.failure_recipients() == ["oncall@example.com"]


def test_alert_recipients_fall_back_to_the_variables_then_the_report(monkeypatch):
    config = parse_config("brands: [{id: a, name: A, query: A}]\nsources: [{id: f, kind: rss, "
                          "base_url: 'https://x.org'}]\n")
    monkeypatch.setenv("LISTENING_ALERT_RECIPIENTS", "a@x.org;b@x.org")
    assert alert_recipients(config) == ["a@x.org", "b@x.org"]
    monkeypatch.delenv("LISTENING_ALERT_RECIPIENTS")
    monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", "r@x.org, s@x.org")
    assert alert_recipients(config) == ["r@x.org", "s@x.org"] == report_recipients()


@pytest.mark.parametrize(("raw", "want"), [
    ("a@x.org, b@y.org; c@z.org", ["a@x.org", "b@y.org", "c@z.org"]),
    (["a@x.org; b@y.org", "a@x.org"], ["a@x.org", "b@y.org"]),
    (" ; ,", []),
    (None, []),
])
def test_one_recipients_parser(raw, want):
    assert parse_recipients(raw) == want


def test_brands_yaml_recipients_split_like_the_variables():
    config = parse_config("brands: [{id: a, name: A, query: A}]\nsources: [{id: f, kind: rss, "
                          "base_url: 'https://x.org'}]\nalerts: {channels: {recipients: 'a@x.org; b@x.org'}}\n")
    assert config.alerts.recipients == ("a@x.org", "b@x.org")
