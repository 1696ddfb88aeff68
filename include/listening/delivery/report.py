"""The daily sentiment report: numbers from the warehouse, HTML and text from templates, then send or write.

For one local day and every configured brand: mentions against the 7-day average, unique stories,
the sentiment split, net sentiment and its change, share of voice against the brand's competitors,
a 14-day chart (volume bars, net sentiment line; PNG inline by ``cid:``), the top negative posts
that need a reply (and whether an owned account replied, when ``fct_interaction`` knows), the top
KOL posts, hot terms (``mart_hot_terms``, when built) and the alerts active that day; then a
completeness footer (per source: hours loaded, intervals failed / capped, rows quarantined).

The e-mail (``build_message``)::

    multipart/alternative
    ├── text/plain                       the same report as text
    └── multipart/related
        ├── text/html                    <img src="cid:...">
        └── image/png  (inline, Content-ID)   one chart per brand

Safety: every piece of user-generated text goes through Jinja2 autoescaping; links are emitted
only for plain http(s) URLs (``safe_link``); the HTML carries a Content-Security-Policy that
allows no script at all, as a second line of defence.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, inspect, select

from listening import warehouse as wh
from listening.config import Config
from listening.core.model import date_key, local_day_bounds
from listening.core.settings import default_reports_dir, project_root
from listening.delivery.alerts import open_alerts_for_day
from listening.delivery.charts import brand_chart
from listening.delivery.email import new_message, send, sender_of

CHART_DAYS = 14
AVG_DAYS = 7
KOL_TIERS = ("mega", "macro")


def templates_dir() -> Path:
    return project_root() / "include" / "templates"


def _pct_change(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev in (None, 0):
        return None
    return (cur - prev) / prev


_LINK_RE = re.compile(r"^https?://[^\s\"'<>\\`]+$", re.IGNORECASE)


def safe_link(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link, else None (javascript:, data:, whitespace tricks...)."""
    if url and _LINK_RE.match(url.strip()) and url == url.strip():
        return url
    return None


_safe_link = safe_link  # the name older code and tests use


def _clip(text: str | None, n: int = 280) -> str:
    text = text or ""
    return text if len(text) <= n else text[:n - 1] + "…"


def _has_table(conn: Any, name: str) -> bool:
    return name in wh.metadata.tables and inspect(conn).has_table(name)


def _hours_covered(windows: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    """Hours of [lo, hi) covered by the union of the windows."""
    spans = sorted((max(s, lo), min(e, hi)) for s, e in windows if e > lo and s < hi)
    total, cur_s, cur_e = 0.0, None, None
    for s, e in spans:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += (cur_e - cur_s).total_seconds()
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += (cur_e - cur_s).total_seconds()
    return total / 3600


def _completeness(conn: Any, config: Config, day: date) -> dict[str, Any]:
    lo, hi = local_day_bounds(day, config.tz)
    day_hours = (hi - lo).total_seconds() / 3600
    b = wh.etl_batch
    rows = conn.execute(
        select(b.c.source_id, b.c.status, b.c.coverage, b.c.window_start, b.c.window_end, b.c.quarantined)
        .where(and_(b.c.window_start < hi, b.c.window_end > lo))
    ).all()
    by_source: dict[str, dict[str, Any]] = {}
    loaded_windows: dict[str, list[tuple[datetime, datetime]]] = {}
    for r in rows:
        s = by_source.setdefault(r.source_id, {"source": r.source_id, "intervals": 0, "complete": 0, "failed": 0,
                                               "rejected": 0, "capped": 0, "partial": 0, "quarantined": 0})
        s["intervals"] += 1
        s["quarantined"] += int(r.quarantined or 0)
        if r.status == "loaded":
            loaded_windows.setdefault(r.source_id, []).append((wh.model_utc(r.window_start),
                                                               wh.model_utc(r.window_end)))
            if r.coverage == "complete":
                s["complete"] += 1
            elif r.coverage in ("capped", "partial"):
                s[r.coverage] += 1
        elif r.status in ("failed", "rejected"):
            s[r.status] += 1
    for sid, s in by_source.items():
        s["hours"] = round(_hours_covered(loaded_windows.get(sid, []), lo, hi), 1)
        s["day_hours"] = day_hours
        problems = []
        if s["hours"] < day_hours:
            problems.append(f"only {s['hours']:g} of {day_hours:g} hours loaded")
        for k in ("failed", "rejected", "capped", "partial"):
            if s[k]:
                problems.append(f"{s[k]} interval(s) {k}")
        s["problems"] = problems
        s["ok"] = not problems
    enabled = [x.id for x in config.enabled_sources]
    missing = [sid for sid in enabled if sid not in by_source]
    sources = sorted(by_source.values(), key=lambda s: s["source"])
    return {
        "sources": sources,
        "missing_sources": missing,
        "quarantined": sum(s["quarantined"] for s in sources),
        "complete": not missing and all(s["ok"] for s in sources if s["source"] in enabled),
    }


def _days_with_data(conn: Any, config: Config, days: list[date]) -> set[date]:
    """Local days on which at least one batch loaded (a day without loads is unknown, not zero)."""
    if not days:
        return set()
    lo, _ = local_day_bounds(min(days), config.tz)
    _, hi = local_day_bounds(max(days), config.tz)
    b = wh.etl_batch
    windows = [(wh.model_utc(s), wh.model_utc(e)) for s, e in conn.execute(
        select(b.c.window_start, b.c.window_end).where(b.c.status == "loaded", b.c.window_start < hi,
                                                         b.c.window_end > lo)).all()]
    out = set()
    for d in days:
        dlo, dhi = local_day_bounds(d, config.tz)
        if any(s < dhi and e > dlo for s, e in windows):
            out.add(d)
    return out


def _owned_names(config: Config) -> dict[str, set[str]]:
    return {b.id: set(b.owned_accounts) for b in config.brands}


def build_report_data(engine: Any, config: Config, day: date, top_n: int = 5) -> dict[str, Any]:
    """Everything the templates show for one local day, read from the marts and facts."""
    key = date_key(day)
    chart_days = [day - timedelta(days=i) for i in range(CHART_DAYS - 1, -1, -1)]
    avg_days = [day - timedelta(days=i) for i in range(AVG_DAYS, 0, -1)]
    m, f, br, a = wh.mart_brand_daily, wh.fct_mention, wh.bridge_mention_brand, wh.dim_author
    owned = _owned_names(config)
    names = {b.id: b.name for b in config.brands}
    lo, hi = local_day_bounds(day, config.tz)
    with engine.connect() as conn:
        marts = {(r.date_key, r.brand_id): r._asdict() for r in conn.execute(
            select(m).where(m.c.date_key.between(date_key(chart_days[0]), key)))}
        have_data = _days_with_data(conn, config, chart_days)
        avg_known = [d for d in avg_days if d in have_data]
        sov_mart: dict[tuple[int, str], dict[str, Any]] = {}
        if _has_table(conn, "mart_share_of_voice"):
            t = wh.metadata.tables["mart_share_of_voice"]
            sov_mart = {(r.date_key, r.brand_id): r._asdict() for r in conn.execute(
                select(t).where(t.c.date_key.between(date_key(avg_days[0]), key)))}
        has_interactions = _has_table(conn, "fct_interaction")
        hot_terms_table = wh.metadata.tables["mart_hot_terms"] if _has_table(conn, "mart_hot_terms") else None

        def mentions_on(brand_id: str, d: date) -> int:
            return int((marts.get((date_key(d), brand_id)) or {}).get("mentions") or 0)

        def sov_on(brand_id: str, d: date) -> float | None:
            row = sov_mart.get((date_key(d), brand_id))
            if row is not None and row.get("share_of_voice") is not None:
                return float(row["share_of_voice"])
            comp = config.brand(brand_id).competitors
            total = mentions_on(brand_id, d) + sum(mentions_on(c, d) for c in comp)
            return mentions_on(brand_id, d) / total if total else None

        def post_query(brand_id: str) -> Any:
            q = (select(f.c.mention_id, f.c.text, f.c.url, f.c.sentiment, f.c.sentiment_label, f.c.engagement,
                        f.c.reach, f.c.published_at, f.c.source_id, a.c.author_name, a.c.followers, a.c.kol_tier)
                 .join(br, br.c.mention_id == f.c.mention_id)
                 .outerjoin(a, a.c.author_key == f.c.author_key)
                 .where(and_(br.c.brand_id == brand_id, f.c.date_key == key, f.c.is_spam.is_(False))))
            own = owned.get(brand_id)
            if own:
                q = q.where(func.coalesce(a.c.author_name, "").not_in(sorted(own)))
            return q

        def post(r: Any, replies: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
            rep = (replies or {}).get(r.mention_id)
            return {
                "text": _clip(r.text), "url": safe_link(r.url), "sentiment": r.sentiment,
                "label": r.sentiment_label, "engagement": int(r.engagement or 0), "reach": int(r.reach or 0),
                "author": r.author_name or "", "followers": r.followers, "kol_tier": r.kol_tier,
                "source": r.source_id,
                "published": wh.model_utc(r.published_at).astimezone(config.tz).strftime("%H:%M"),
                "replied": None if replies is None else rep is not None,
                "reply_by": rep["by"] if rep else None, "reply_at": rep["at"] if rep else None,
            }

        active = open_alerts_for_day(engine, lo, hi)
        for al in active:
            al["opened_local"] = al["opened_at"].astimezone(config.tz).strftime("%m-%d %H:%M")
            al["closed_local"] = al["closed_at"].astimezone(config.tz).strftime("%m-%d %H:%M") \
                if al["closed_at"] else None
        brands = []
        for b in config.brands:
            cur = marts.get((key, b.id)) or {}
            mentions = int(cur.get("mentions") or 0)
            avg7 = (sum(mentions_on(b.id, d) for d in avg_known) / len(avg_known)) if avg_known else None
            net = cur.get("net_sentiment")
            pos_neg = [(marts.get((date_key(d), b.id)) or {}) for d in avg_known]
            base_m = sum(int(x.get("mentions") or 0) for x in pos_neg)
            net_avg7 = (sum(int(x.get("positive") or 0) - int(x.get("negative") or 0) for x in pos_neg) / base_m
                        if base_m else None)
            prev = marts.get((date_key(day - timedelta(days=1)), b.id)) or {}
            sov = sov_on(b.id, day)
            sov_hist = [v for v in (sov_on(b.id, d) for d in avg_known) if v is not None]
            sov_avg7 = sum(sov_hist) / len(sov_hist) if sov_hist else None
            negs = conn.execute(post_query(b.id).where(f.c.sentiment_label == "negative")
                                .order_by(f.c.engagement.desc(), f.c.sentiment.asc(), f.c.mention_id)
                                .limit(top_n)).all()
            replies: dict[str, dict[str, Any]] | None = None
            if has_interactions and negs:
                it = wh.metadata.tables["fct_interaction"]
                replies = {}
                for r in conn.execute(
                        select(it.c.mention_id, it.c.author_name, it.c.published_at)
                        .where(it.c.mention_id.in_([n.mention_id for n in negs]), it.c.is_owned_reply.is_(True))
                        .order_by(it.c.published_at)).all():
                    replies.setdefault(r.mention_id, {
                        "by": r.author_name or "",
                        "at": wh.model_utc(r.published_at).astimezone(config.tz).strftime("%m-%d %H:%M")})
            kols = conn.execute(post_query(b.id).where(a.c.kol_tier.in_(KOL_TIERS))
                                .order_by(a.c.followers.desc(), f.c.engagement.desc(), f.c.mention_id)
                                .limit(top_n)).all()
            terms: list[dict[str, Any]] = []
            if hot_terms_table is not None:
                ht = hot_terms_table
                terms = [{"term": r.term, "count": int(r.count), "change": r.change,
                          "trailing_7d_avg": r.trailing_7d_avg} for r in conn.execute(
                    select(ht.c.term, ht.c.count, ht.c.change, ht.c.trailing_7d_avg)
                    .where(ht.c.date_key == key, ht.c.brand_id == b.id).order_by(ht.c.rank).limit(10))]
            total = mentions or 0
            brands.append({
                "id": b.id,
                "name": b.name,
                "mentions": mentions,
                "mentions_avg7": avg7,
                "mentions_change": _pct_change(mentions, avg7),
                "avg_days": len(avg_known),
                "mentions_prev": int(prev.get("mentions") or 0),
                "unique_stories": int(cur.get("unique_stories") or 0),
                "positive": int(cur.get("positive") or 0),
                "neutral": int(cur.get("neutral") or 0),
                "negative": int(cur.get("negative") or 0),
                "unscored": int(cur.get("unscored") or 0),
                "positive_share": (cur.get("positive") or 0) / total if total else None,
                "neutral_share": (cur.get("neutral") or 0) / total if total else None,
                "negative_share": (cur.get("negative") or 0) / total if total else None,
                "net_sentiment": net,
                "net_sentiment_avg7": net_avg7,
                "net_sentiment_prev": prev.get("net_sentiment"),
                "net_change": (net - net_avg7) if net is not None and net_avg7 is not None else None,
                "engagement": int(cur.get("engagement") or 0),
                "reach": int(cur.get("reach") or 0),
                "share_of_voice": sov,
                "share_of_voice_avg7": sov_avg7,
                "sov_change": (sov - sov_avg7) if sov is not None and sov_avg7 is not None else None,
                "competitors": [names.get(c, c) for c in b.competitors],
                "chart": {
                    "days": chart_days,
                    "mentions": [mentions_on(b.id, d) if d in have_data else 0 for d in chart_days],
                    "net": [(marts.get((date_key(d), b.id)) or {}).get("net_sentiment") for d in chart_days],
                },
                "top_negative": [post(r, replies) for r in negs],
                "replies_known": replies is not None,
                "top_kol": [post(r) for r in kols],
                "hot_terms": terms,
                "hot_terms_known": hot_terms_table is not None,
                "alerts": [x for x in active if x["brand_id"] == b.id],
            })
        completeness = _completeness(conn, config, day)
    changes = [x for x in brands if x["net_change"] is not None]
    headline = max(changes, key=lambda x: abs(x["net_change"])) if changes else None
    return {
        "date": day.isoformat(),
        "timezone": config.timezone,
        "brands": brands,
        "headline": headline,
        "has_data": any(x["mentions"] for x in brands),
        "chart_days": CHART_DAYS,
        **completeness,
    }


def _fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.0%}"


def jinja_env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _fmt_pct
    env.filters["share"] = lambda v: "n/a" if v is None else f"{v:.0%}"
    env.filters["pp"] = lambda v: "n/a" if v is None else f"{v * 100:+.1f} pp"
    env.filters["signed"] = lambda v: "n/a" if v is None else f"{v:+.2f}"
    env.filters["num"] = lambda v: "n/a" if v is None else f"{v:,}"
    env.filters["avg"] = lambda v: "n/a" if v is None else f"{v:,.1f}"
    env.filters["safe_link"] = safe_link
    return env


_env = jinja_env  # older name


def subject_for(data: dict[str, Any]) -> str:
    if not data["has_data"]:
        return f"[舆情日报] {data['date']}: no mentions loaded (see the completeness footer)"
    h = data.get("headline")
    flag = "" if data.get("complete", True) else " [incomplete data]"
    if h is not None:
        return (f"[舆情日报] {data['date']}: {h['name']} net sentiment {h['net_sentiment']:+.2f} "
                f"({h['net_change']:+.2f} vs 7-day avg), {h['mentions']:,} mentions "
                f"({_fmt_pct(h['mentions_change'])}){flag}")
    top = max(data["brands"], key=lambda x: x["mentions"])
    return f"[舆情日报] {data['date']}: {top['name']} {top['mentions']:,} mentions{flag}"


@dataclass
class Chart:
    brand_id: str
    cid: str  # without the angle brackets
    filename: str
    png: bytes


def make_charts(data: dict[str, Any]) -> list[Chart]:
    out = []
    for b in data["brands"]:
        c = b["chart"]
        png = brand_chart(f"{b['name']} · 近{len(c['days'])}天声量与净情感 (volume & net sentiment)",
                          c["days"], c["mentions"], c["net"], highlight=date.fromisoformat(data["date"]))
        cid = f"{b['id'][:24]}.{secrets.token_hex(6)}@chart.listening"  # short: the header never folds
        out.append(Chart(b["id"], cid, f"sentiment-report-{data['date']}-{b['id']}.png", png))
    return out


def render(data: dict[str, Any], images: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(subject, html, text); ``images`` maps brand id to the chart's src (``cid:...`` or a file name)."""
    env = jinja_env()
    subject = subject_for(data)
    html = env.get_template("report.html.j2").render(subject=subject, images=images or {}, **data)
    txt = env.get_template("report.txt.j2").render(subject=subject, **data)
    return subject, html, txt


def build_message(subject: str, html: str, txt: str, sender: str, recipients: list[str],
                  charts: list[Chart] | None = None) -> EmailMessage:
    """multipart/alternative(text/plain, multipart/related(text/html, image/png...))."""
    msg = new_message(subject, sender, recipients)
    msg.set_content(txt)
    msg.add_alternative(html, subtype="html")
    if charts:
        html_part = msg.get_payload()[1]
        for c in charts:
            html_part.add_related(c.png, "image", "png", cid=f"<{c.cid}>", disposition="inline",
                                  filename=c.filename)
    return msg


@dataclass
class Delivery:
    sent: bool
    recipients: list[str]
    html_path: str | None = None
    eml_path: str | None = None
    txt_path: str | None = None


def write_files(msg: EmailMessage, html: str, txt: str, out_dir: Path, day: str,
                charts: list[Chart] | None = None) -> Delivery:
    """The report as files: .eml (the message as sent), .html (charts as .png beside it), .txt."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"sentiment-report-{day}"
    html_p, txt_p, eml_p = base.with_suffix(".html"), base.with_suffix(".txt"), base.with_suffix(".eml")
    for c in charts or []:
        (out_dir / c.filename).write_bytes(c.png)
    html_p.write_text(html, encoding="utf-8")
    txt_p.write_text(txt, encoding="utf-8")
    eml_p.write_bytes(bytes(msg))
    return Delivery(False, [], str(html_p), str(eml_p), str(txt_p))


def daily_report(engine: Any, config: Config, day: date, smtp: dict[str, Any] | None,
                 recipients: list[str], out_dir: Path | None = None) -> dict[str, Any]:
    """Render one day's report; send it when SMTP is configured; always keep .eml/.html/.txt files."""
    wh.create_schema(engine)
    data = build_report_data(engine, config, day)
    charts = make_charts(data)
    subject, html_mail, txt = render(data, {c.brand_id: f"cid:{c.cid}" for c in charts})
    _s, html_file, _t = render(data, {c.brand_id: c.filename for c in charts})
    sender = sender_of(smtp)
    msg = build_message(subject, html_mail, txt, sender, recipients, charts)
    out = out_dir or default_reports_dir()
    d = write_files(msg, html_file, txt, out, data["date"], charts)
    if smtp:
        send(msg, smtp, recipients)
        d.sent, d.recipients = True, list(recipients)
    return {"subject": subject, "sent": d.sent, "recipients": d.recipients, "html": d.html_path,
            "eml": d.eml_path, "txt": d.txt_path, "complete": data["complete"],
            "charts": [str(out / c.filename) for c in charts],
            "summary": json.loads(json.dumps([{k: x[k] for k in ("id", "mentions", "negative", "net_sentiment",
                                                                  "share_of_voice")} for x in data["brands"]]))}
