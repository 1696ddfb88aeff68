"""The daily report and the alerts through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from sqlalchemy import select
from support.mail import Inbox, smtp_server
from support.world import hostile_world

from listening import warehouse as wh
from listening.orchestration import tasks

RECIPIENTS = ["marketing@example.com", "cmo@example.com"]


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    with smtp_server(inbox) as port:
        monkeypatch.setenv("AIRFLOW_CONN_LISTENING_SMTP", f"smtp://127.0.0.1:{port}?from_email=listening%40example.com")
        monkeypatch.setenv("LISTENING_REPORT_RECIPIENTS", ",".join(RECIPIENTS))
        yield inbox


def _tree(part) -> list:
    if part.is_multipart():
        return [part.get_content_type(), [_tree(p) for p in part.iter_parts()]]
    return part.get_content_type()


def test_daily_report_over_smtp_structure_numbers_and_safety(config, tmp_path, smtp, monkeypatch):
    eng, day = hostile_world(config, tmp_path)
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", str(eng.url))
    res = tasks.send_daily_report(day, str(tmp_path / "out"))
    assert res["sent"] is True and res["recipients"] == RECIPIENTS
    assert len(smtp.messages) == 1
    rcpts, raw = smtp.messages[0]
    assert rcpts == RECIPIENTS
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["From"] == "listening@example.com" and "2026-11-10" in msg["Subject"]

    # multipart/alternative(text/plain, multipart/related(text/html, image/png x brands))
    assert _tree(msg) == ["multipart/alternative", [
        "text/plain", ["multipart/related", ["text/html", "image/png", "image/png", "image/png"]]]]
    related = msg.get_payload()[1]
    html_part, *images = related.get_payload()
    page = html_part.get_content()
    for img in images:
        assert img.get_content_disposition() == "inline"  # shown in the body, not an attachment
        cid = img["Content-ID"].strip().strip("<>")
        assert f'src="cid:{cid}"' in page
        assert img.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(set(i["Content-ID"] for i in images)) == 3

    # the numbers in both parts are the marts'
    text = msg.get_payload()[0].get_content()
    key = wh.date_key(day)
    with eng.connect() as c:
        mart = {r.brand_id: r for r in c.execute(select(wh.mart_brand_daily).where(wh.mart_brand_daily.c.date_key
                                                                                  == key))}
    for b in config.brands:
        m = mart[b.id]
        section = page.split(f">{b.name} <span")[1].split("<h2")[0]
        got = re.search(r"Mentions 提及</td><td[^>]*><b>([\d,]+)</b>", section).group(1)
        assert int(got.replace(",", "")) == m.mentions
        assert re.search(r"Unique stories 事件</td><td><b>([\d,]+)</b>", section).group(1) == f"{m.unique_stories:,}"
        assert f"negative {m.negative:,} (" in section and f"positive {m.positive:,} (" in section
        assert re.search(r"Net sentiment 净情感</td><td><b>([-+]\d\.\d\d)</b>", section).group(1) == \
            f"{m.net_sentiment:+.2f}"
        tsec = text.split(f"== {b.name} ({b.id}) ==")[1].split("\n== ")[0]
        assert f"Mentions:        {m.mentions:,} (" in tsec
        assert f"Net sentiment:   {m.net_sentiment:+.2f}" in tsec

    # hostile post text: escaped, never live
    assert "<script" not in page.lower() and "javascript:" not in re.sub(r">[^<]*<", "><", page)
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.IGNORECASE)
    assert "&lt;script&gt;document.title=" in page


def test_alerts_over_smtp_once(config, tmp_path, smtp, monkeypatch):
    eng, _day = hostile_world(config, tmp_path, alerts_too=False)
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", str(eng.url))
    monkeypatch.setenv("LISTENING_ALERT_RECIPIENTS", "oncall@example.com")
    monkeypatch.delenv("AIRFLOW_CONN_LISTENING_WEBHOOK", raising=False)  # e-mail only here
    params = {"window_start": "2026-11-09T16:00:00Z", "window_end": "2026-11-10T16:00:00Z"}
    ev = tasks.evaluate_alerts(params)
    assert sorted(a.split(":")[1] for a in ev["opened"]) == ["kol", "negative", "volume"]
    sent = tasks.notify_alerts(str(tmp_path / "alerts"))
    assert [m["channel"] for m in sent["messages"]] == ["email"]
    assert len(smtp.messages) == 1
    rcpts, raw = smtp.messages[0]
    assert rcpts == ["oncall@example.com"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"].startswith("[舆情预警 RED] 极光手机")
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # again: the state says it was sent
    tasks.evaluate_alerts(params)
    assert tasks.notify_alerts(str(tmp_path / "alerts"))["messages"] == []
    assert len(smtp.messages) == 1
