"""The one e-mail path: messages for the report, the alerts and the failure alerts are sent through
SMTP here (the ``listening_smtp`` connection, resolved by :mod:`listening.orchestration`) and written
as ``.eml`` files (always, for failure alerts; instead of sending when SMTP is not configured).

``smtp`` is a dict: ``host``, ``port``, ``login``, ``password``, ``from_email``, ``starttls``, ``ssl``,
``timeout``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from listening.core.settings import default_reports_dir

log = logging.getLogger(__name__)

DEFAULT_SENDER = "listening@localhost"


def sender_of(smtp: dict[str, Any] | None) -> str:
    return (smtp or {}).get("from_email") or DEFAULT_SENDER


def alerts_dir() -> Path:
    """Where alert e-mails are written: ``<reports dir>/alerts``."""
    return default_reports_dir() / "alerts"


def new_message(subject: str, sender: str, recipients: list[str]) -> EmailMessage:
    """An empty message with the headers every message of the project carries."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="listening.local")
    return msg


def text_message(subject: str, body: str, sender: str, recipients: list[str]) -> EmailMessage:
    msg = new_message(subject, sender, recipients)
    msg.set_content(body)
    return msg


def send(msg: EmailMessage, smtp: dict[str, Any], recipients: list[str]) -> None:
    """Send through the SMTP server (SSL or STARTTLS and login when configured)."""
    if not recipients:
        raise ValueError("no recipients configured (Airflow variable listening_report_recipients, "
                         "listening_alert_recipients or brands.yaml alerts.channels.recipients)")
    if smtp.get("ssl"):
        server: smtplib.SMTP = smtplib.SMTP_SSL(smtp["host"], smtp["port"], timeout=smtp.get("timeout", 30),
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(smtp["host"], smtp["port"], timeout=smtp.get("timeout", 30))
    with server:
        if smtp.get("starttls"):
            server.starttls(context=ssl.create_default_context())
        if smtp.get("login"):
            server.login(smtp["login"], smtp["password"] or "")
        server.send_message(msg, from_addr=sender_of(smtp), to_addrs=recipients)


def write_eml(msg: EmailMessage, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(msg))
    return path


def send_alert(subject: str, body: str, smtp: dict[str, Any] | None, recipients: list[str],
               out_dir: Path | None = None) -> dict[str, Any]:
    """A plain-text alert (a failed task, a stopped batch): sent through SMTP when configured (and
    recipients are known); always kept on disk as ``alert-<stamp>.eml``."""
    msg = text_message(subject, body, sender_of(smtp), recipients)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = write_eml(msg, (out_dir or alerts_dir()) / f"alert-{stamp}.eml")
    sent = False
    if smtp and recipients:
        send(msg, smtp, recipients)
        sent = True
    log.warning("alert %s: %s (%s)", "sent" if sent else "written", subject, path)
    return {"subject": subject, "sent": sent, "recipients": list(recipients) if sent else [], "path": str(path)}
