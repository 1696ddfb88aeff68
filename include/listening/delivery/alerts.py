"""Spike and crisis alerts: evaluate every loaded hour per brand, keep alert state in the warehouse.

Three signals per brand and hour ``h`` (hours are the local clock hours of the config timezone,
stored as their UTC start; spam is excluded everywhere):

``volume``
    ``x`` = mentions in ``h``; baseline ``λ`` = mean of the mentions in the same local hour on
    each of the previous ``baseline_days`` days (only days whose hour was loaded, see
    ``etl_batch``; at least ``min_baseline_days``).  Poisson z-score ``z = (x - λ') / √λ'`` with
    ``λ' = max(λ, min_rate)`` and ratio ``x / λ'``.  A severity level fires when ``x >= min_mentions``
    and both ``z`` and the ratio reach the level's thresholds.
``negative``
    share of negative among the scored mentions of the ``window_hours`` hours ending with ``h``
    against the share over the ``baseline_days`` days before them; one-sample z-test of the
    proportion ``z = (p - p0) / √(p0 (1 - p0) / n)`` and the jump ``p - p0``; needs
    ``n >= min_mentions`` and ``n0 >= min_baseline_mentions``.
``kol``
    a mention by an author with at least ``min_followers`` followers (the brand's own accounts
    excluded) in the ``lookback_hours`` hours ending with ``h``: yellow for a neutral or positive
    one, orange for a negative one, red for ``red_negative_authors`` distinct negative KOLs or a
    negative KOL with at least ``red_followers`` followers.

State (table ``mart_alerts``): one row per alert episode and (brand, kind), id
``brand:kind:YYYYMMDDTHHZ`` of the hour it opened, so re-evaluating the same hours finds the same
row.  An open alert keeps its peak severity (escalations only), closes after
``close_after_quiet_hours`` consecutive loaded hours without the condition, and an alert that
fires again within ``reopen_within_hours`` of closing is reopened instead of duplicated.  Hours
with no loaded data change nothing (a gap is not "quiet").  Notifications (see
:mod:`listening.delivery.notify`) go out for open alerts only, once per channel and severity: the opening,
then (``notify_on_escalation``) each escalation; closing and quiet hours send nothing.

Evaluating a wide window (a day loaded at once) runs the same hour-by-hour state machine, so it
ends in the same state as 24 hourly runs, and only the newest state is notified.  A re-run of an
older window never rewrites a row that a later evaluation already moved past.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, func, select

from listening import warehouse as wh
from listening.config import Config
from listening.config.alerts import SEVERITIES, AlertConfig, KolRule, NegativeRule, VolumeRule
from listening.core.model import Window, date_key, key_to_date, utc

log = logging.getLogger(__name__)

RANK = {None: 0, "yellow": 1, "orange": 2, "red": 3}
KIND_TITLES = {"volume": "声量异常 volume spike", "negative": "负面占比跃升 negative-share jump",
               "kol": "KOL 提及 KOL mention"}
OPEN_STATUSES = ("open", "acknowledged")
HOUR = timedelta(hours=1)


mart_alerts = wh.mart_alerts  # the alert state (warehouse table, created by migration 0002)


def volume_signal(x: int, baseline: list[int], rule: VolumeRule) -> tuple[str | None, dict[str, Any]]:
    """Severity (None = normal) of ``x`` mentions in an hour against the same hour on previous days."""
    if len(baseline) < rule.min_baseline_days:
        return None, {"mentions": x, "baseline_days": len(baseline), "skipped": "not enough baseline days"}
    mean = sum(baseline) / len(baseline)
    lam = max(mean, rule.min_rate)
    z = (x - lam) / math.sqrt(lam)
    ratio = x / lam
    stats = {"mentions": x, "baseline_mean": round(mean, 2), "baseline_days": len(baseline),
             "z": round(z, 2), "ratio": round(ratio, 2)}
    sev = None
    if x >= rule.min_mentions:
        for name in SEVERITIES:
            lv = rule.levels[name]
            if z >= lv.z and ratio >= lv.ratio:
                sev = name
    return sev, stats


def negative_signal(k: int, n: int, k0: int, n0: int, rule: NegativeRule) -> tuple[str | None, dict[str, Any]]:
    """Severity of ``k`` negatives out of ``n`` scored mentions against ``k0`` of ``n0`` in the baseline."""
    stats: dict[str, Any] = {"negative": k, "scored": n, "baseline_negative": k0, "baseline_scored": n0}
    if n < rule.min_mentions or n0 < rule.min_baseline_mentions:
        return None, {**stats, "skipped": "not enough mentions"}
    p, p0 = k / n, k0 / n0
    p0c = min(max(p0, 0.01), 0.99)
    z = (p - p0) / math.sqrt(p0c * (1 - p0c) / n)
    stats.update(share=round(p, 3), baseline_share=round(p0, 3), jump=round(p - p0, 3), z=round(z, 2))
    sev = None
    for name in SEVERITIES:
        lv = rule.levels[name]
        if z >= lv.z and p - p0 >= lv.jump:
            sev = name
    return sev, stats


def kol_signal(posts: list[dict[str, Any]], rule: KolRule) -> tuple[str | None, dict[str, Any]]:
    """Severity of the KOL mentions (already filtered to KOLs, owned accounts excluded) in the lookback."""
    if not posts:
        return None, {"posts": []}
    neg = [p for p in posts if p["sentiment_label"] == "negative"]
    neg_authors = {p["author_key"] for p in neg}
    if neg and (len(neg_authors) >= rule.red_negative_authors
                or any((p["followers"] or 0) >= rule.red_followers for p in neg)):
        sev = "red"
    elif neg:
        sev = "orange"
    else:
        sev = "yellow"
    top = sorted(posts, key=lambda p: (p["sentiment_label"] != "negative", -(p["followers"] or 0), p["mention_id"]))
    return sev, {"kol_mentions": len(posts), "negative_kols": len(neg_authors), "min_followers": rule.min_followers,
                 "posts": top[:5]}


# ---- data -------------------------------------------------------------------------------------------
def floor_hour(dt: datetime) -> datetime:
    return utc(dt).replace(minute=0, second=0, microsecond=0)


def ceil_hour(dt: datetime) -> datetime:
    f = floor_hour(dt)
    return f if f == utc(dt) else f + HOUR


def _iso(dt: datetime | None) -> str | None:
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def _parse(s: str | None) -> datetime | None:
    return utc(datetime.fromisoformat(s.replace("Z", "+00:00"))) if s else None


def _same_hour_days_before(h: datetime, days: int, tz: Any) -> list[datetime]:
    """UTC starts of the same local clock hour on each of the ``days`` previous days (DST-correct)."""
    local = h.astimezone(tz)
    out = []
    for d in range(1, days + 1):
        prev = local.date() - timedelta(days=d)
        out.append(datetime(prev.year, prev.month, prev.day, local.hour, tzinfo=tz).astimezone(UTC))
    return out


@dataclass
class Hourly:
    """Per brand and UTC hour start: mentions, negatives, scored; KOL posts; loaded hours."""

    counts: dict[tuple[str, datetime], tuple[int, int, int]]
    kol_posts: dict[tuple[str, datetime], list[dict[str, Any]]]
    covered: set[datetime]


def load_hourly(engine: Any, config: Config, acfg: AlertConfig, lo: datetime, hi: datetime) -> Hourly:
    f, br, a = wh.fct_mention, wh.bridge_mention_brand, wh.dim_author
    tz = config.tz
    lo_key = date_key((lo.astimezone(tz) - timedelta(days=1)).date())
    hi_key = date_key((hi.astimezone(tz) + timedelta(days=1)).date())
    counts: dict[tuple[str, datetime], tuple[int, int, int]] = {}
    kol: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    owned = {b.id: set(b.owned_accounts) for b in config.brands}
    neg = func.sum(func.coalesce((f.c.sentiment_label == "negative").cast(Integer), 0))
    scored = func.sum(f.c.sentiment_label.in_(["negative", "neutral", "positive"]).cast(Integer))
    with engine.connect() as conn:
        rows = conn.execute(
            select(br.c.brand_id, f.c.date_key, f.c.hour_local, func.count(), neg, scored)
            .join(f, f.c.mention_id == br.c.mention_id)
            .where(f.c.date_key.between(lo_key, hi_key), f.c.is_spam.is_(False))
            .group_by(br.c.brand_id, f.c.date_key, f.c.hour_local)
        ).all()
        for brand_id, dk, hour, n, k, s in rows:
            d = key_to_date(dk)
            h = datetime(d.year, d.month, d.day, int(hour), tzinfo=tz).astimezone(UTC)
            counts[(brand_id, h)] = (int(n), int(k or 0), int(s or 0))
        kol_lo = lo - timedelta(hours=acfg.kol.lookback_hours)
        posts = conn.execute(
            select(br.c.brand_id, f.c.mention_id, f.c.published_at, f.c.text, f.c.url, f.c.sentiment_label,
                   f.c.engagement, f.c.source_id, f.c.author_key, a.c.author_name, a.c.followers)
            .join(f, f.c.mention_id == br.c.mention_id)
            .join(a, a.c.author_key == f.c.author_key)
            .where(f.c.published_at >= kol_lo, f.c.published_at < hi, f.c.is_spam.is_(False),
                   a.c.followers >= acfg.kol.min_followers)
        ).all()
        for p in posts:
            if p.author_name in owned.get(p.brand_id, ()):
                continue
            text = p.text or ""
            kol[(p.brand_id, floor_hour(wh.model_utc(p.published_at)))].append({
                "mention_id": p.mention_id, "published_at": _iso(wh.model_utc(p.published_at)),
                "author": p.author_name or "", "author_key": p.author_key, "followers": p.followers,
                "sentiment_label": p.sentiment_label, "engagement": p.engagement, "source": p.source_id,
                "url": p.url, "text": text if len(text) <= 140 else text[:139] + "…",
            })
        b = wh.etl_batch
        batches = conn.execute(
            select(b.c.window_start, b.c.window_end)
            .where(b.c.status == "loaded", b.c.window_start < hi, b.c.window_end > lo - timedelta(days=1))
        ).all()
    covered: set[datetime] = set()
    for ws, we in batches:
        h, end = floor_hour(wh.model_utc(ws)), wh.model_utc(we)
        while h + HOUR <= end:
            covered.add(h)
            h += HOUR
    return Hourly(counts, dict(kol), covered)


def data_span(acfg: AlertConfig, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The UTC span of data an evaluation of [start, end) reads (baselines included)."""
    back = max(acfg.volume.baseline_days, acfg.negative.baseline_days) + 1
    back_h = max(acfg.negative.window_hours, acfg.kol.lookback_hours)
    return start - timedelta(days=back, hours=back_h), end


def signals_at(h: datetime, brand_id: str, data: Hourly, config: Config, acfg: AlertConfig
               ) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Every enabled signal of one brand at hour ``h`` (only called for loaded hours)."""
    out: dict[str, tuple[str | None, dict[str, Any]]] = {}
    zero = (0, 0, 0)
    if "volume" in acfg.enabled_kinds:
        days = _same_hour_days_before(h, acfg.volume.baseline_days, config.tz)
        base = [data.counts.get((brand_id, d), zero)[0] for d in days if d in data.covered]
        out["volume"] = volume_signal(data.counts.get((brand_id, h), zero)[0], base, acfg.volume)
    if "negative" in acfg.enabled_kinds:
        rule = acfg.negative
        win = [h - HOUR * i for i in range(rule.window_hours)]
        k = sum(data.counts.get((brand_id, x), zero)[1] for x in win)
        n = sum(data.counts.get((brand_id, x), zero)[2] for x in win)
        first = win[-1]
        base = [first - HOUR * i for i in range(1, rule.baseline_days * 24 + 1)]
        k0 = sum(data.counts.get((brand_id, x), zero)[1] for x in base)
        n0 = sum(data.counts.get((brand_id, x), zero)[2] for x in base)
        out["negative"] = negative_signal(k, n, k0, n0, rule)
    if "kol" in acfg.enabled_kinds:
        posts = [p for i in range(acfg.kol.lookback_hours) for p in data.kol_posts.get((brand_id, h - HOUR * i), [])]
        out["kol"] = kol_signal(posts, acfg.kol)
    return out


# ---- state machine ----------------------------------------------------------------------------------
def alert_id(brand_id: str, kind: str, hour: datetime) -> str:
    return f"{brand_id}:{kind}:{hour:%Y%m%dT%H}Z"


@dataclass
class Episode:
    """One alert row being evaluated (loaded from the warehouse or opened now)."""

    alert_id: str
    brand_id: str
    kind: str
    severity: str
    window_start: datetime
    window_end: datetime
    opened_at: datetime
    status: str = "open"
    closed_at: datetime | None = None
    notified_at: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    existed: bool = False
    changed: bool = False

    @classmethod
    def from_row(cls, r: Any) -> Episode:
        payload = r.payload if isinstance(r.payload, dict) else json.loads(r.payload or "{}")
        return cls(r.alert_id, r.brand_id, r.kind, r.severity, wh.model_utc(r.window_start),
                   wh.model_utc(r.window_end), wh.model_utc(r.opened_at), r.status,
                   wh.model_utc(r.closed_at) if r.closed_at else None,
                   wh.model_utc(r.notified_at) if r.notified_at else None, dict(payload or {}), existed=True)

    def row(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "brand_id": self.brand_id, "kind": self.kind, "severity": self.severity,
                "window_start": self.window_start, "window_end": self.window_end, "opened_at": self.opened_at,
                "closed_at": self.closed_at, "status": self.status, "payload": self.payload,
                "notified_at": self.notified_at}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def event(self, hour: datetime, what: str, severity: str | None) -> None:
        e = {"hour": _iso(hour), "event": what, "severity": severity}
        events = self.payload.setdefault("events", [])
        if e not in events:  # a re-run of the same hours records nothing twice
            events.append(e)
        self.changed = True


def _seed(conn: Any, start: datetime) -> dict[tuple[str, str], Episode]:
    """Per (brand, kind): the latest alert that opened before ``start`` (the state going into it)."""
    t = mart_alerts
    latest = (select(t.c.brand_id, t.c.kind, func.max(t.c.window_start).label("ws"))
              .where(t.c.window_start < start).group_by(t.c.brand_id, t.c.kind).subquery())
    rows = conn.execute(select(t).join(latest, and_(t.c.brand_id == latest.c.brand_id, t.c.kind == latest.c.kind,
                                                    t.c.window_start == latest.c.ws))).all()
    out: dict[tuple[str, str], Episode] = {}
    for r in rows:
        ep = Episode.from_row(r)
        if ep.closed_at is not None and ep.closed_at > start:
            # closed by an evaluation that ran later than this one's start: it was open at `start`
            ep.status, ep.closed_at = "open", None
            ep.payload["quiet_hours"] = 0
        elif ep.is_open and ep.payload.get("evaluated_until") != _iso(start):
            ep.payload["quiet_hours"] = 0
        out[(ep.brand_id, ep.kind)] = ep
    return out


def step(ep: Episode | None, brand_id: str, kind: str, h: datetime, sev: str | None, stats: dict[str, Any],
         acfg: AlertConfig) -> Episode | None:
    """Advance one (brand, kind) by one loaded hour; returns the episode that now holds the state."""
    end = h + HOUR
    if sev is not None:
        current = {"hour": _iso(h), "severity": sev, **stats}
        if ep is not None and ep.is_open:
            ep.payload["current"] = current
            ep.payload["quiet_hours"] = 0
            ep.window_end = end
            if RANK[sev] > RANK[ep.severity]:
                ep.severity = sev
                ep.payload["peak"] = current
                ep.event(h, "escalated", sev)
            ep.changed = True
            return ep
        if (ep is not None and ep.closed_at is not None
                and h < ep.closed_at + timedelta(hours=acfg.reopen_within_hours)):
            ep.status, ep.closed_at = "open", None
            ep.window_end = end
            ep.payload.update(current=current, quiet_hours=0)
            if RANK[sev] > RANK[ep.severity]:
                ep.severity = sev
                ep.payload["peak"] = current
            ep.event(h, "reopened", sev)
            return ep
        new = Episode(alert_id(brand_id, kind, h), brand_id, kind, sev, h, end, end,
                      payload={"current": current, "peak": current, "quiet_hours": 0, "notified": {}})
        new.event(h, "opened", sev)
        return new
    if ep is not None and ep.is_open:
        quiet = int(ep.payload.get("quiet_hours", 0)) + 1
        ep.payload["quiet_hours"] = quiet
        ep.changed = True
        if quiet >= acfg.close_after_quiet_hours:
            ep.status, ep.closed_at = "closed", end
            ep.event(h, "closed", None)
    return ep


@dataclass
class Evaluation:
    start: datetime
    end: datetime
    hours: int
    hours_loaded: int
    opened: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    open_now: list[str] = field(default_factory=list)
    skipped_stale: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "hours": self.hours,
                "hours_loaded": self.hours_loaded, "opened": self.opened, "reopened": self.reopened,
                "escalated": self.escalated,
                "closed": self.closed, "open": self.open_now, "skipped_stale": self.skipped_stale}


def evaluate(engine: Any, config: Config, acfg: AlertConfig, window: Window) -> Evaluation:
    """Run the state machine over every hour of ``window`` and store the alerts it touched."""
    start, end = floor_hour(window.start), ceil_hour(window.end)
    lo, hi = data_span(acfg, start, end)
    data = load_hourly(engine, config, acfg, lo, hi)
    with engine.connect() as conn:
        state = _seed(conn, start)
    touched: dict[str, Episode] = {}
    hours = loaded = 0
    h = start
    while h < end:
        hours += 1
        if h in data.covered:
            loaded += 1
            for b in config.brands:
                sigs = signals_at(h, b.id, data, config, acfg)
                for kind in acfg.enabled_kinds:
                    sev, stats = sigs[kind]
                    before = state.get((b.id, kind))
                    ep = step(before, b.id, kind, h, sev, stats, acfg)
                    if ep is not None:
                        state[(b.id, kind)] = ep
                        if ep.changed:
                            ep.payload["brand_name"] = b.name
                            touched[ep.alert_id] = ep
        h += HOUR
    for ep in state.values():  # open ones carry their quiet-hour count to the next evaluation
        if ep.is_open:
            touched[ep.alert_id] = ep
    result = Evaluation(start, end, hours, loaded)
    t = mart_alerts
    with engine.begin() as conn:
        existing = {r.alert_id: Episode.from_row(r) for r in conn.execute(
            select(t).where(t.c.alert_id.in_(list(touched)))).all()} if touched else {}
        for aid, ep in touched.items():
            ep.payload["evaluated_until"] = _iso(end)
            old = existing.get(aid)
            if old is not None:
                old_until = _parse(old.payload.get("evaluated_until"))
                if old_until is not None and old_until > end:
                    result.skipped_stale.append(aid)  # a later evaluation already moved past these hours
                    continue
                # notification bookkeeping belongs to notify(), never to a re-evaluation
                ep.payload["notified"] = old.payload.get("notified", {})
                if "notifications" in old.payload:
                    ep.payload["notifications"] = old.payload["notifications"]
                ep.notified_at = old.notified_at
                if old.status == "acknowledged" and ep.status == "open":
                    ep.status = "acknowledged"
            wh.upsert(conn, t, [ep.row()], ["alert_id"])
            events = [e for e in ep.payload.get("events", []) if _parse(e["hour"]) >= start]
            if any(e["event"] == "opened" for e in events):
                result.opened.append(aid)
            if any(e["event"] == "reopened" for e in events):
                result.reopened.append(aid)
            if any(e["event"] == "escalated" for e in events):
                result.escalated.append(aid)
            if ep.status == "closed":
                result.closed.append(aid)
        result.open_now = sorted(r.alert_id for r in conn.execute(
            select(t.c.alert_id).where(t.c.status.in_(OPEN_STATUSES))))
    return result


# ---- notifications ----------------------------------------------------------------------------------
def pending(engine: Any, channels: list[str], acfg: AlertConfig) -> list[tuple[Episode, list[str]]]:
    """Alerts with a channel that has not yet carried their (peak) severity.

    Open alerts, and closed ones that opened and closed inside one wide evaluation window (a day
    loaded at once) and so were never sent.  An alert whose last firing hour lies more than
    ``max_notify_age_hours`` before the newest loaded data is history (a backfill or a late re-run
    found it), not news: it is kept, not sent.  Acknowledged alerts are never sent again.
    """
    t = mart_alerts
    out = []
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.status.in_(["open", "closed"]))
                            .order_by(t.c.opened_at, t.c.alert_id)).all()
        newest = conn.execute(select(func.max(wh.etl_batch.c.window_end))
                              .where(wh.etl_batch.c.status == "loaded")).scalar()
    horizon = wh.model_utc(newest) - timedelta(hours=acfg.max_notify_age_hours) if newest else None
    for r in rows:
        ep = Episode.from_row(r)
        if horizon is not None and ep.window_end < horizon:
            log.info("alert %s last fired at %s, long before the newest data: not notified", ep.alert_id,
                     _iso(ep.window_end))
            continue
        notified = ep.payload.get("notified", {})
        todo = []
        for ch in channels:
            done = notified.get(ch)
            if done is None or (acfg.notify_on_escalation and RANK[ep.severity] > RANK[done]):
                todo.append(ch)
        if todo:
            out.append((ep, todo))
    return out


def record_notified(engine: Any, ep: Episode, channel: str, now: datetime, channels: list[str]) -> None:
    """Remember that ``channel`` carried ``ep`` at its severity; ``notified_at`` once every channel did."""
    t = mart_alerts
    with engine.begin() as conn:
        r = conn.execute(select(t).where(t.c.alert_id == ep.alert_id)).first()
        cur = Episode.from_row(r)
        notified = cur.payload.setdefault("notified", {})
        notified[channel] = ep.severity
        cur.payload.setdefault("notifications", []).append(
            {"at": _iso(now), "channel": channel, "severity": ep.severity})
        values: dict[str, Any] = {"payload": cur.payload}
        if all(RANK[notified.get(c)] >= RANK[ep.severity] for c in channels):
            values["notified_at"] = now
        conn.execute(t.update().where(t.c.alert_id == ep.alert_id).values(**values))


def describe(ep: Episode, config: Config) -> dict[str, Any]:
    """What a notification says about one alert (user text kept raw: each channel escapes it)."""
    try:
        name = config.brand(ep.brand_id).name
    except KeyError:
        name = ep.payload.get("brand_name", ep.brand_id)
    cur = ep.payload.get("current") or {}
    peak = ep.payload.get("peak") or cur
    tz = config.tz
    hour = _parse(cur.get("hour")) or ep.window_start
    local = f"{hour.astimezone(tz):%Y-%m-%d %H:00}–{(hour + HOUR).astimezone(tz):%H:00} ({config.timezone})"
    escalated = any(e["event"] == "escalated" for e in ep.payload.get("events", []))
    resolved = (f"{ep.closed_at.astimezone(tz):%Y-%m-%d %H:00}" if ep.status == "closed" and ep.closed_at
                else None)
    if ep.kind == "volume":
        facts = (f"{peak.get('mentions')} mentions in one hour against {peak.get('baseline_mean')} on average "
                 f"in that hour over the last {peak.get('baseline_days')} days (z = {peak.get('z')}, "
                 f"×{peak.get('ratio')})")
    elif ep.kind == "negative":
        facts = (f"negative share {peak.get('share', 0):.0%} of {peak.get('scored')} scored mentions against "
                 f"{peak.get('baseline_share', 0):.0%} over the previous days (z = {peak.get('z')})")
    else:
        facts = (f"{peak.get('kol_mentions')} mention(s) by accounts with ≥ {peak.get('min_followers', 0):,} followers, "
                 f"{peak.get('negative_kols')} negative author(s)")
    posts = (peak.get("posts") or cur.get("posts") or []) if ep.kind == "kol" else []
    return {
        "alert_id": ep.alert_id, "brand_id": ep.brand_id, "brand_name": name, "kind": ep.kind,
        "kind_title": KIND_TITLES[ep.kind], "severity": ep.severity, "status": ep.status,
        "escalated": escalated, "resolved": resolved, "when": local, "opened_at": _iso(ep.opened_at), "facts": facts,
        "current": cur, "posts": posts,
        "subject": f"[舆情预警 {ep.severity.upper()}] {name}: {KIND_TITLES[ep.kind]}"
                   f"{' (escalated)' if escalated else ''} · {hour.astimezone(tz):%Y-%m-%d %H:00}",
    }


def open_alerts_for_day(engine: Any, day_start: datetime, day_end: datetime) -> list[dict[str, Any]]:
    """Alerts active at some time during [day_start, day_end) (for the daily report)."""
    t = mart_alerts
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.window_start < day_end,
                                (t.c.closed_at.is_(None)) | (t.c.closed_at > day_start))
                .order_by(t.c.brand_id, t.c.window_start)).all()
    except Exception as exc:  # noqa: BLE001 - a warehouse without the table: no alerts to show
        log.info("no alert state to report: %s", exc)
        return []
    return [{"alert_id": e.alert_id, "brand_id": e.brand_id, "kind": e.kind, "kind_title": KIND_TITLES.get(e.kind, e.kind),
             "severity": e.severity, "status": e.status, "opened_at": e.opened_at, "closed_at": e.closed_at}
            for e in map(Episode.from_row, rows)]
