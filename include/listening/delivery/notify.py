"""Alert delivery: e-mail (the ``listening_smtp`` connection) and a DingTalk- or Slack-compatible webhook.

The webhook is the Airflow connection ``listening_webhook`` (the id is configurable under
``alerts.channels.webhook_connection``).  Either its extra holds the whole URL::

    {"url": "https://oapi.dingtalk.com/robot/send?access_token=...", "format": "dingtalk", "secret": "SEC..."}

or the connection's own parts are the URL (``AIRFLOW_CONN_LISTENING_WEBHOOK=https://hooks.slack.com/services/T/B/X``:
scheme from the type, host, port, path from ``schema``, query parameters from the remaining extra).
``format`` is ``slack`` (``{"text": ...}``, also understood by Mattermost, Rocket.Chat, Feishu-compatible
relays) or ``dingtalk`` (``{"msgtype": "text", ...}``; chosen by default for dingtalk.com hosts); a
DingTalk signing ``secret`` (extra, or the connection password) adds ``timestamp`` and ``sign``.
Messages are plain text (DingTalk ``text``, Slack ``text`` with ``& < >`` escaped as Slack requires),
so post text can neither format nor link nor mention anyone.

One message per brand and channel per run groups that brand's pending alerts.  A channel that
fails does not stop the others; what was delivered is recorded before the error is raised (so a
retry sends only what is missing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from listening.config import Config
from listening.config.alerts import AlertConfig
from listening.delivery import alerts
from listening.delivery.email import alerts_dir, new_message, send, sender_of, write_eml
from listening.delivery.report import jinja_env

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class NotifyError(RuntimeError):
    """Some channel failed; what was delivered has been recorded."""


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "slack"
    secret: str | None = None
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()


# ---- message text -----------------------------------------------------------------------------------
def clean(s: Any, limit: int = 200) -> str:
    """User text for a plain-text channel: no control or bidi-override characters, one line, bounded."""
    t = _CONTROL.sub("", str(s or "")).replace("\r", " ").replace("\n", " ").strip()
    return t if len(t) <= limit else t[:limit - 1] + "…"


def slack_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_link(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://[^\s\"'<>]+$", url, re.IGNORECASE) else None


def group_text(items: list[dict[str, Any]], escape: Any = lambda s: s) -> tuple[str, str]:
    """(title, body) of one brand's pending alerts as plain text; ``escape`` applies to user text."""
    top = max(items, key=lambda d: alerts.RANK[d["severity"]])
    name = escape(clean(top["brand_name"], 60))
    kinds = "; ".join(d["kind_title"] for d in items)
    title = f"[舆情预警 {top['severity'].upper()}] {name}: {kinds}"
    lines = [title, ""]
    for d in items:
        esc = " (escalated)" if d["escalated"] else ""
        if d.get("resolved"):
            esc += f" (already over: quiet since {d['resolved']})"
        lines.append(f"■ {d['severity'].upper()} {d['kind_title']}{esc} · {d['when']}")
        lines.append(f"  {d['facts']}")
        for p in d["posts"][:3]:
            link = _safe_link(p.get("url"))
            lines.append(f"  - {escape(clean(p.get('author'), 40))} ({(p.get('followers') or 0):,} followers, "
                         f"{p.get('sentiment_label')}, engagement {(p.get('engagement') or 0):,}): "
                         f"{escape(clean(p.get('text'), 120))}" + (f" {escape(link)}" if link else ""))
        lines.append(f"  alert {d['alert_id']}")
    return title, "\n".join(lines)


def webhook_body(items: list[dict[str, Any]], fmt: str) -> dict[str, Any]:
    if fmt == "dingtalk":
        _title, body = group_text(items)
        return {"msgtype": "text", "text": {"content": body}}
    _title, body = group_text(items, slack_escape)
    return {"text": body}


def signed_url(hook: Webhook, now_ms: int | None = None) -> str:
    if hook.format != "dingtalk" or not hook.secret:
        return hook.url
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(hook.secret.encode(), f"{ts}\n{hook.secret}".encode(), hashlib.sha256).digest()
    sign = base64.b64encode(digest).decode()
    return hook.url + ("&" if "?" in hook.url else "?") + urlencode({"timestamp": ts, "sign": sign})


def post_webhook(hook: Webhook, items: list[dict[str, Any]]) -> None:
    body = webhook_body(items, hook.format)
    headers = {"Content-Type": "application/json; charset=utf-8", **dict(hook.headers)}
    resp = httpx.post(signed_url(hook), content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                      headers=headers, timeout=hook.timeout)
    if resp.status_code >= 300:
        raise NotifyError(f"webhook answered HTTP {resp.status_code}: {resp.text[:200]}")
    if hook.format == "dingtalk":
        try:
            ans = resp.json()
        except ValueError:
            ans = {}
        if isinstance(ans, dict) and ans.get("errcode", 0) != 0:
            raise NotifyError(f"DingTalk refused the message: {ans.get('errcode')} {ans.get('errmsg')}")


def alert_email(items: list[dict[str, Any]], sender: str, recipients: list[str]) -> EmailMessage:
    title, _body = group_text(items)
    env = jinja_env()
    ctx = {"subject": title, "alerts": items, "top": max(items, key=lambda d: alerts.RANK[d["severity"]])}
    msg = new_message(clean(title, 150), sender, recipients)
    msg.set_content(env.get_template("alert.txt.j2").render(**ctx))
    msg.add_alternative(env.get_template("alert.html.j2").render(**ctx), subtype="html")
    return msg


# ---- delivery ----------------------------------------------------------------------------------
def notify_pending(engine: Any, config: Config, acfg: AlertConfig, smtp: dict[str, Any] | None,
                   recipients: list[str], webhook: Webhook | None, out_dir: Path | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """Deliver every alert that a channel has not yet carried at its severity (see alerts.pending).

    E-mail goes through ``smtp`` when it is configured and there are recipients, else it is
    written to ``out_dir`` (default ``data/reports/alerts``) as an .eml file.
    """
    out_dir = out_dir or alerts_dir()

    now = now or datetime.now(UTC)
    channels = (["email"] if acfg.email else []) + (["webhook"] if webhook else [])
    summary: dict[str, Any] = {"channels": channels, "messages": [], "errors": []}
    if not channels:
        return summary
    by_brand: dict[str, list[tuple[alerts.Episode, list[str]]]] = {}
    for ep, todo in alerts.pending(engine, channels, acfg):
        by_brand.setdefault(ep.brand_id, []).append((ep, todo))
    for brand_id, eps in sorted(by_brand.items()):
        for ch in channels:
            due = [ep for ep, todo in eps if ch in todo]
            if not due:
                continue
            items = [alerts.describe(ep, config) for ep in due]
            try:
                if ch == "webhook" and webhook is not None:
                    post_webhook(webhook, items)
                    where = "webhook"
                else:
                    msg = alert_email(items, sender_of(smtp), recipients)
                    if smtp and recipients:
                        send(msg, smtp, recipients)
                        where = "smtp:" + ",".join(recipients)
                    else:
                        path = write_eml(msg, out_dir / f"alert-{brand_id}-{now:%Y%m%dT%H%M%SZ}.eml")
                        where = str(path)
                        if smtp and not recipients:
                            log.warning("no alert recipients configured: alert e-mail written to %s", path)
            except Exception as exc:  # noqa: BLE001 - one channel failing must not stop the others
                log.error("alert %s via %s failed: %s", [e.alert_id for e in due], ch, exc)
                summary["errors"].append(f"{brand_id}/{ch}: {exc}")
                continue
            for ep in due:
                alerts.record_notified(engine, ep, ch, now, channels)
            summary["messages"].append({"brand": brand_id, "channel": ch, "to": where,
                                        "alerts": [f"{e.alert_id}={e.severity}" for e in due]})
    if summary["errors"]:
        raise NotifyError("; ".join(summary["errors"]) + f" (delivered: {summary['messages']})")
    return summary
