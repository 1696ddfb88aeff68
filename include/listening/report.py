"""The daily sentiment report: numbers from the warehouse, HTML and text from templates, then send or write.

All user-generated text goes through Jinja2 autoescaping in the HTML template and
links are only emitted for http(s) URLs, so a post can never inject markup.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from listening import warehouse as wh
from listening.config import Config, project_root


def templates_dir() -> Path:
    return project_root() / "include" / "templates"


def default_reports_dir() -> Path:
    env = os.environ.get("LISTENING_REPORTS_DIR")
    return Path(env) if env else project_root() / "data" / "reports"


def _pct_change(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev in (None, 0):
        return None
    return (cur - prev) / prev


def _safe_link(url: str | None) -> str | None:
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def build_report_data(engine: Any, config: Config, day: date, top_n: int = 5) -> dict[str, Any]:
    """Everything the templates show for one local day, read from the marts and facts."""
    key = wh.date_key(day)
    prev_key = wh.date_key(day - timedelta(days=1))
    m = wh.mart_brand_daily
    f = wh.fct_mention
    br = wh.bridge_mention_brand
    with engine.connect() as conn:
        marts = {(r.date_key, r.brand_id): r._asdict() for r in conn.execute(
            select(m).where(m.c.date_key.in_([key, prev_key])))}
        brands = []
        for b in config.brands:
            cur = marts.get((key, b.id)) or {}
            prev = marts.get((prev_key, b.id)) or {}
            mentions = cur.get("mentions", 0)
            negs = conn.execute(
                select(f.c.text, f.c.url, f.c.sentiment, f.c.engagement, f.c.published_at, f.c.source_id,
                       wh.dim_author.c.author_name, wh.dim_author.c.followers)
                .join(br, br.c.mention_id == f.c.mention_id)
                .outerjoin(wh.dim_author, wh.dim_author.c.author_key == f.c.author_key)
                .where(and_(br.c.brand_id == b.id, f.c.date_key == key, f.c.sentiment_label == "negative",
                            f.c.is_spam.is_(False)))
                .order_by(f.c.engagement.desc(), f.c.sentiment.asc(), f.c.mention_id)
                .limit(top_n)
            ).all()
            brands.append({
                "id": b.id,
                "name": b.name,
                "mentions": mentions,
                "mentions_prev": prev.get("mentions", 0),
                "mentions_change": _pct_change(mentions, prev.get("mentions")),
                "unique_stories": cur.get("unique_stories", 0),
                "positive": cur.get("positive", 0),
                "neutral": cur.get("neutral", 0),
                "negative": cur.get("negative", 0),
                "net_sentiment": cur.get("net_sentiment"),
                "net_sentiment_prev": prev.get("net_sentiment"),
                "net_change": (cur["net_sentiment"] - prev["net_sentiment"])
                if cur.get("net_sentiment") is not None and prev.get("net_sentiment") is not None else None,
                "engagement": cur.get("engagement", 0),
                "top_negative": [{
                    "text": r.text if len(r.text) <= 280 else r.text[:279] + "…",
                    "url": _safe_link(r.url),
                    "sentiment": r.sentiment,
                    "engagement": r.engagement,
                    "author": r.author_name or "",
                    "followers": r.followers,
                    "source": r.source_id,
                } for r in negs],
            })
        lo, hi = wh.local_day_bounds(day, config.tz)
        b = wh.etl_batch
        batches = conn.execute(
            select(b.c.source_id, b.c.coverage, b.c.status, func.sum(b.c.quarantined).label("q"),
                   func.count().label("n"))
            .where(and_(b.c.window_start < hi, b.c.window_end > lo))
            .group_by(b.c.source_id, b.c.coverage, b.c.status)
        ).all()
    sources: dict[str, dict[str, Any]] = {}
    for r in batches:
        s = sources.setdefault(r.source_id, {"source": r.source_id, "intervals": 0, "complete": 0,
                                             "problems": [], "quarantined": 0})
        s["intervals"] += r.n
        s["quarantined"] += int(r.q or 0)
        if r.coverage == "complete" and r.status == "loaded":
            s["complete"] += r.n
        else:
            s["problems"].append(f"{r.n} interval(s) {r.status}/{r.coverage}")
    missing = [s.id for s in config.enabled_sources if s.id not in sources]
    headline = max(brands, key=lambda x: abs(x["net_change"] or 0.0)) if brands else None
    return {
        "date": day.isoformat(),
        "timezone": config.timezone,
        "brands": brands,
        "headline": headline,
        "sources": sorted(sources.values(), key=lambda s: s["source"]),
        "missing_sources": missing,
        "quarantined": sum(s["quarantined"] for s in sources.values()),
        "complete": not missing and all(not s["problems"] for s in sources.values()),
        "has_data": any(x["mentions"] for x in brands),
    }


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:+.0%}"
    env.filters["signed"] = lambda v: "n/a" if v is None else f"{v:+.2f}"
    env.filters["num"] = lambda v: "n/a" if v is None else f"{v:,}"
    return env


def subject_for(data: dict[str, Any]) -> str:
    h = data.get("headline")
    if not data["has_data"]:
        return f"[舆情日报] {data['date']}: no mentions (check the completeness footer)"
    if h and h["net_change"] is not None:
        return (f"[舆情日报] {data['date']}: {h['name']} net sentiment {h['net_change']:+.2f} "
                f"({h['mentions']} mentions)")
    top = max(data["brands"], key=lambda x: x["mentions"])
    return f"[舆情日报] {data['date']}: {top['name']} {top['mentions']} mentions"


def render(data: dict[str, Any]) -> tuple[str, str, str]:
    env = _env()
    subject = subject_for(data)
    html = env.get_template("report.html.j2").render(subject=subject, **data)
    txt = env.get_template("report.txt.j2").render(subject=subject, **data)
    return subject, html, txt


def build_message(subject: str, html: str, txt: str, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="listening.local")
    msg.set_content(txt)
    msg.add_alternative(html, subtype="html")
    return msg


@dataclass
class Delivery:
    sent: bool
    recipients: list[str]
    html_path: str | None = None
    eml_path: str | None = None
    txt_path: str | None = None


def write_files(msg: EmailMessage, html: str, txt: str, out_dir: Path, day: str) -> Delivery:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"sentiment-report-{day}"
    html_p, txt_p, eml_p = base.with_suffix(".html"), base.with_suffix(".txt"), base.with_suffix(".eml")
    html_p.write_text(html, encoding="utf-8")
    txt_p.write_text(txt, encoding="utf-8")
    eml_p.write_bytes(bytes(msg))
    return Delivery(False, [], str(html_p), str(eml_p), str(txt_p))


def send(msg: EmailMessage, smtp: dict[str, Any], recipients: list[str]) -> None:
    if not recipients:
        raise ValueError("no report recipients configured (Airflow variable listening_report_recipients)")
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
        server.send_message(msg, from_addr=smtp["from_email"], to_addrs=recipients)


def daily_report(engine: Any, config: Config, day: date, smtp: dict[str, Any] | None,
                 recipients: list[str], out_dir: Path | None = None) -> dict[str, Any]:
    """Render one day's report; send it when SMTP is configured, else write .eml/.html/.txt files."""
    wh.create_schema(engine)
    data = build_report_data(engine, config, day)
    subject, html, txt = render(data)
    sender = (smtp or {}).get("from_email", "listening@localhost")
    msg = build_message(subject, html, txt, sender, recipients)
    out = out_dir or default_reports_dir()
    d = write_files(msg, html, txt, out, data["date"])  # always kept, also when sent
    if smtp:
        send(msg, smtp, recipients)
        d.sent, d.recipients = True, list(recipients)
    return {"subject": subject, "sent": d.sent, "recipients": d.recipients, "html": d.html_path,
            "eml": d.eml_path, "txt": d.txt_path, "complete": data["complete"],
            "summary": json.loads(json.dumps([{k: x[k] for k in ("id", "mentions", "negative", "net_sentiment")}
                                              for x in data["brands"]]))}
