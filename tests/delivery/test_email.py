"""One SMTP path: the failure alert goes through the same sender as the report and the alerts."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest
from support.mail import Inbox, smtp_server

from listening.delivery import email as mail


@pytest.fixture
def smtp():
    box = Inbox()
    with smtp_server(box) as port:
        yield box, {"host": "127.0.0.1", "port": port, "login": None, "password": None,
                    "from_email": "listening@brand.example", "starttls": False, "ssl": False, "timeout": 10}


def _wait(box, n):
    for _ in range(100):
        if len(box.messages) >= n:
            return
        time.sleep(0.05)


def test_failure_alert_is_sent_and_kept_like_every_message(smtp, tmp_path):
    box, smtp = smtp
    out = mail.send_alert("[listening] x.y: task failed", "reason: boom", smtp, ["ops@brand.example"], tmp_path)
    _wait(box, 1)
    assert out["sent"] and out["recipients"] == ["ops@brand.example"]
    rcpts, content = box.messages[0]
    assert rcpts == ["ops@brand.example"]
    msg = message_from_bytes(content, policy=policy.default)
    # the headers every message of the project carries (the old failure alert had no Message-ID)
    assert msg["Message-ID"] and msg["Date"] and msg["From"] == "listening@brand.example"
    kept = message_from_bytes((tmp_path / out["path"].split("/")[-1]).read_bytes(), policy=policy.default)
    assert kept["Message-ID"] == msg["Message-ID"]


def test_send_refuses_an_empty_recipient_list(smtp):
    _box, smtp = smtp
    with pytest.raises(ValueError, match="no recipients"):
        mail.send(mail.text_message("s", "b", "a@x.org", []), smtp, [])
