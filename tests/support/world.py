"""A small synthetic warehouse (direct inserts, marts built by the real SQL) for alert and report tests.

``World`` writes dim_author / fct_mention / bridge_mention_brand / etl_batch rows with every
required column filled, so tests can state exactly what happened in which hour
(``from support.world import World, template_engine``).  ``hostile_world`` is ten such days with a
crisis and hostile post text, for the report, e-mail and browser tests.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from listening import warehouse as wh
from listening.core.model import Window
from listening.delivery import alerts

SH = ZoneInfo("Asia/Shanghai")
_TEMPLATE: dict[str, Path] = {}

# what a browser test looks for: if any of this ran, the title changes or a #pwned element appears
HOSTILE_JS = ("极光X5 电池鼓包 太差了 <script>document.title='PWNED';document.body.insertAdjacentHTML('beforeend',"
              "'<p id=pwned>x</p>')</script><img src=x onerror=\"document.title='PWNED'\">"
              "<a href=\"javascript:document.title='PWNED'\">click</a>")
HOSTILE_URL = "javascript:document.title='PWNED'"


def template_engine(tmp_path: Path) -> Any:
    """A fresh warehouse at head revision (migrated once per session, then copied: migrating costs ~2 s)."""
    if "db" not in _TEMPLATE:
        import tempfile

        d = Path(tempfile.mkdtemp(prefix="listening-template-"))
        eng = wh.get_engine(f"sqlite:///{d / 'template.db'}")
        wh.create_schema(eng)
        eng.dispose()
        _TEMPLATE["db"] = d / "template.db"
    target = tmp_path / "wh.db"
    shutil.copyfile(_TEMPLATE["db"], target)
    return wh.get_engine(f"sqlite:///{target}")


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


class World:
    def __init__(self, engine: Any):
        self.engine = engine
        self.mentions: list[dict[str, Any]] = []
        self.bridges: list[dict[str, Any]] = []
        self.authors: dict[str, dict[str, Any]] = {}
        self.batches: list[dict[str, Any]] = []
        self.interactions: list[dict[str, Any]] = []
        self._n = 0

    def author(self, name: str, followers: int = 100, source: str = "weibo") -> str:
        key = f"{source}:{hashlib.md5(name.encode()).hexdigest()[:10]}"
        now = datetime(2026, 11, 1, tzinfo=UTC)
        self.authors[key] = {"author_key": key, "source_id": source, "author_id": key.split(":", 1)[1],
                             "author_name": name, "followers": followers, "verified": followers >= 100_000,
                             "verified_type": 0, "kol_tier": wh.kol_tier(followers), "first_seen_at": now,
                             "last_seen_at": now}
        return key

    def mention(self, brands: str | list[str], at: datetime, label: str = "neutral", author: str | None = None,
                followers: int = 100, text: str | None = None, url: str | None = None, spam: bool = False,
                engagement: int = 1, source: str = "weibo") -> str:
        self._n += 1
        native = f"{9_000_000 + self._n}"
        mid = f"{source}:{native}"
        akey = self.author(author or f"user{self._n % 50}", followers, source)
        score = {"negative": 0.1, "neutral": 0.5, "positive": 0.9, "none": None}[label]
        at_utc = at.astimezone(UTC)
        loc = at.astimezone(SH)
        body = text or f"{'极光' if 'aurora' in brands else '星辰'}手机 帖子 {self._n}"
        self.mentions.append({
            "mention_id": mid, "source_id": source, "native_id": native,
            "url": url if url is not None else f"https://m.weibo.cn/detail/{native}",
            "title": None, "text": body, "clean_text": body, "published_at": at_utc,
            "date_key": wh.date_key(loc.date()), "hour_local": loc.hour, "author_key": akey,
            "reposts": 0, "comments": 0, "likes": engagement, "engagement": engagement, "reach": followers,
            "is_repost": False, "retweet_of": None, "is_spam": spam, "truncated": False,
            "content_hash": hashlib.md5(body.encode()).hexdigest(), "story_id": hashlib.md5(body.encode()).hexdigest(),
            "sentiment": score, "sentiment_label": label, "model_version": "test", "interval_key": "test",
            "raw_ref": None, "loaded_at": at_utc,
        })
        for b in [brands] if isinstance(brands, str) else brands:
            self.bridges.append({"mention_id": mid, "brand_id": b, "matched_terms": "[]"})
        return mid

    def reply(self, mention_id: str, by: str, at: datetime, owned_brand: str = "aurora") -> None:
        self._n += 1
        at_utc = at.astimezone(UTC)
        self.interactions.append({
            "interaction_id": f"weibo:c{self._n}", "source_id": "weibo", "native_id": f"c{self._n}",
            "mention_id": mention_id, "status_id": mention_id.split(":", 1)[1], "kind": "reply", "text": "您好",
            "published_at": at_utc, "date_key": wh.date_key(at.astimezone(SH).date()), "author_key": None,
            "author_name": by, "author_followers": 1000, "like_count": 0, "is_owned_reply": True,
            "owned_brand": owned_brand, "sentiment": 0.5, "sentiment_label": "neutral", "interval_key": "test",
            "raw_ref": None, "loaded_at": at_utc,
        })

    def batch(self, start: datetime, end: datetime, source: str = "weibo", status: str = "loaded",
              coverage: str = "complete", quarantined: int = 0) -> None:
        s, e = start.astimezone(UTC), end.astimezone(UTC)
        key = f"{s:%Y%m%dT%H%MZ}_{e:%Y%m%dT%H%MZ}"
        self.batches.append({
            "batch_id": f"{source}/{key}", "source_id": source, "interval_key": key, "window_start": s,
            "window_end": e, "status": status, "coverage": coverage, "fetched": 1, "parsed": 1, "out_of_window": 0,
            "unmatched": 0, "duplicates": 0, "quarantined": quarantined, "loaded": 1, "errors": "[]",
            "raw_key": None, "attempts": 1, "first_loaded_at": e, "last_loaded_at": e,
        })

    def days(self, first: int, last: int, per_hour: dict[str, int], negative_every: int = 3,
             sources: tuple[str, ...] = ("weibo",)) -> None:
        """Steady traffic: ``per_hour[brand]`` mentions every hour, every n-th negative; a loaded batch per day."""
        for d in range(first, last + 1):
            for src in sources:
                self.batch(local(d, 0), local(d, 0) + timedelta(days=1), source=src)
            for h in range(24):
                for brand, n in per_hour.items():
                    for i in range(n):
                        label = "negative" if (h * n + i) % negative_every == 0 else (
                            "positive" if i % 2 else "neutral")
                        self.mention(brand, local(d, h, (7 * i) % 60), label)

    def flush(self, build_marts: bool = True) -> None:
        with self.engine.begin() as conn:
            wh.ensure_dates(conn, {m["published_at"].astimezone(SH).date() for m in self.mentions})
            wh.upsert(conn, wh.dim_author, list(self.authors.values()), ["author_key"])
            if self.mentions:
                conn.execute(wh.fct_mention.insert(), self.mentions)
                conn.execute(wh.bridge_mention_brand.insert(), self.bridges)
            if self.batches:
                wh.upsert(conn, wh.etl_batch, self.batches, ["batch_id"])
            if self.interactions:
                conn.execute(wh.metadata.tables["fct_interaction"].insert(), self.interactions)
        self.mentions, self.bridges, self.batches, self.interactions = [], [], [], []
        if build_marts:
            wh.build_marts(self.engine)


def steady_world(engine: Any, first: int = 1, last: int = 11, sources: tuple[str, ...] = ("weibo",)) -> World:
    """aurora 3/hour (a third negative), xingchen 2/hour, lanshan 1/hour; every day loaded."""
    w = World(engine)
    w.days(first, last, {"aurora": 3, "xingchen": 2, "lanshan": 1}, sources=sources)
    return w


def add_crisis(w: World, day: int = 10, hours: tuple[int, ...] = (14, 15, 16)) -> None:
    """aurora: 40 mentions an hour, 3 in 4 negative, two negative KOLs and the official account."""
    for h in hours:
        for i in range(40):
            w.mention("aurora", local(day, h, i % 60), "negative" if i % 4 else "neutral",
                      text=f"极光X5 电池鼓包 {h}-{i}")
    w.mention("aurora", local(day, hours[0], 30), "negative", author="数码测评君", followers=8_900_000,
              engagement=100_000, text="极光X5 电池鼓包，官方还没回应")
    w.mention("aurora", local(day, hours[1], 10), "negative", author="消费维权观察", followers=2_800_000,
              engagement=50_000, text="极光X5 鼓包，建议召回")
    w.mention("aurora", local(day, hours[0], 5), "negative", author="极光手机官方", followers=3_200_000,
              text="极光手机官方：我们正在调查")  # the brand's own account: never a KOL alert


def hostile_world(config, tmp_path: Path, alerts_too: bool = True) -> tuple[object, date]:
    """Ten steady days, a crisis on 11-10 with hostile post text and links, one owned reply, alerts."""
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 10, sources=tuple(s.id for s in config.enabled_sources))
    add_crisis(w, 10, (14, 15, 16))
    bad = w.mention("aurora", local(10, 13, 0), "negative", author="<b>bad</b>", followers=20_000,
                    engagement=999_999, text=HOSTILE_JS, url=HOSTILE_URL)
    w.mention("aurora", local(10, 13, 30), "negative", author="小号\" onmouseover=\"alert(1)", engagement=888_888,
              text="极光 javascript:alert(1) 鼓包", url="https://m.weibo.cn/detail/1\" onclick=\"alert(1)")
    w.mention("aurora", local(10, 12, 0), "positive", author="科技大V", followers=600_000, engagement=5,
              text="极光X5 <b>真香</b>")
    w.reply(bad, "极光客服", local(10, 13, 40))
    w.flush()
    if alerts_too:
        alerts.evaluate(eng, config, alerts.AlertConfig(), Window(local(10, 0), local(11, 0)))
    return eng, date(2026, 11, 10)
