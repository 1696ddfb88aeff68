"""Small hand-made Weibo API responses for unit tests (the demo corpus is tested elsewhere)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def weibo_time(local: datetime) -> str:
    return local.replace(tzinfo=SH).strftime("%a %b %d %H:%M:%S +0800 %Y")


def mblog(mid: str, text: str, local: datetime, *, user_id: int = 1000, name: str = "用户", followers=100,
          reposts=0, comments=0, likes=0, retweeted=None, long_text=False) -> dict:
    m = {
        "id": mid, "mid": mid, "bid": "B" + mid[-8:], "created_at": weibo_time(local), "text": text,
        "isLongText": long_text, "reposts_count": reposts, "comments_count": comments, "attitudes_count": likes,
        "source": "极光X5", "user": {"id": user_id, "screen_name": name, "followers_count": followers,
                                     "verified": False, "verified_type": -1},
    }
    if retweeted:
        m["retweeted_status"] = retweeted
    return m


def search_page(mblogs: list[dict], next_page: int | None) -> dict:
    cards = [{"card_type": 9, "mblog": m} for m in mblogs[:-1]]
    if mblogs:
        cards.append({"card_type": 11, "card_group": [{"card_type": 9, "mblog": mblogs[-1]}]})
    cards.append({"card_type": 4, "desc": "a hint card, not a post"})
    return {"ok": 1, "data": {"cardlistInfo": {"page": next_page, "total": len(mblogs)}, "cards": cards}}


def raw(purpose: str, body: dict | str, url: str = "http://127.0.0.1/x", fetched_at: str = "2026-11-01T01:00:05Z",
        **meta) -> dict:
    return {
        "source": "weibo", "kind": "weibo_search", "purpose": purpose, "url": url, "status": 200,
        "headers": {"content-type": "application/json"}, "fetched_at": fetched_at, "attempts": 1,
        "elapsed_ms": 3, "meta": meta, "body": body if isinstance(body, str) else json.dumps(body, ensure_ascii=False),
    }
