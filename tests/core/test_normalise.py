"""Normalisation before matching and scoring (issue 4.1) and dedupe tiers 1-2 (4.2)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from listening.core.model import Mention, Window
from listening.core.text import canonical_url, content_key, match_form, nfkc, normalise, to_simplified
from listening.mentions.dedupe import dedupe
from listening.mentions.match import process_mentions

WINDOW = Window.parse("2026-11-01T00:00:00Z", "2026-11-01T01:00:00Z")


def _m(nid: str, text: str, minute: int = 5, **kw) -> Mention:
    return Mention(source=kw.pop("source", "weibo"), native_id=nid, url=kw.pop("url", f"https://m.weibo.cn/detail/{nid}"),
                   text=text, published_at=datetime(2026, 11, 1, 0, minute, tzinfo=UTC), **kw)


def test_traditional_to_simplified_uses_opencc():
    assert to_simplified("這個東西很實用，質量還不錯") == "这个东西很实用，质量还不错"
    assert to_simplified("後來頭髮乾淨") == "后来头发干净"
    assert to_simplified("") == ""
    assert to_simplified("极光X5 已经是简体") == "极光X5 已经是简体"


def test_traditional_text_scores_like_its_simplified_original():
    from listening.sentiment import Scorer

    scorer = Scorer()
    pairs = [("電池太差了，發熱嚴重，很失望", "电池太差了，发热严重，很失望"),
             ("這台手機拍照很漂亮，非常滿意", "这台手机拍照很漂亮，非常满意")]
    for trad, simp in pairs:
        a, b = scorer.score([normalise(trad).clean, normalise(simp).clean])
        assert a == b


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000\n", "！！！？？", "@someone https://t.cn/x 😀 [doge]",
                                 "网页链接", "#", "[doge][good]", "\u200b\u200d"])
def test_nothing_left_is_the_no_text_outcome(raw):
    n = normalise(raw)
    assert n.clean == "" and n.is_empty


def test_fields_are_pulled_out_and_display_kept():
    raw = "@小明 #極光X5# 電池太差了[怒][doge] 😡 https://t.cn/abc 网页链接 ...全文"
    n = normalise(raw)
    assert n.display == raw
    assert n.mentions == ("小明",)
    assert n.hashtags == ("極光X5",)
    assert n.urls == ("https://t.cn/abc",)
    assert n.emoticons == ("怒", "doge")
    assert n.emoji == ("😡",)
    assert n.clean == "极光X5 电池太差了怒"  # emoticon word kept for the model, [doge] and emoji dropped
    assert "网页链接" not in n.clean and "全文" not in n.clean
    assert n.match.startswith("@小明 #极光x5#")


def test_nfkc_and_invisible_characters():
    n = normalise("ＡＵＲＯＲＡ\u200b极光\u3000手机！")
    assert n.clean == "AURORA极光 手机!"
    assert match_form("ＡＵＲＯＲＡ  極光\u3000手機") == "aurora 极光 手机"


@pytest.mark.parametrize("text", ["极光，好！", "Ａ\u0301", "ｶﾞ", "①②", "㍿", "plain ascii", "混合ＡＢＣ，\u3000"])
def test_fast_nfkc_equals_unicodedata(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_content_key_ignores_punctuation_spacing_and_case():
    assert content_key("极光x5 真香！！") == content_key("极光X5真香!".casefold())
    assert content_key("极光x5 真香") != content_key("极光x5 真差")


@pytest.mark.parametrize("url,want", [
    ("HTTP://WWW.Example.com/a/b/?utm_source=x&b=2&a=1#frag", "https://example.com/a/b?a=1&b=2"),
    ("https://m.weibo.cn/detail/123", "https://weibo.cn/detail/123"),
    ("https://example.com:443/x", "https://example.com/x"),
    ("https://example.com:8080/x/", "https://example.com:8080/x"),
    ("https://news.example.com/a?id=5&spm=abc&from=timeline", "https://news.example.com/a?id=5"),
    ("ftp://example.com/a", ""), ("", ""), (None, ""), ("not a url", ""),
])
def test_canonical_url(url, want):
    assert canonical_url(url) == want


def test_process_mentions_keeps_a_post_with_no_text_and_scores_none(config):
    ms = [_m("1", "@极光手机官方 😀 https://t.cn/x"), _m("2", "极光X5 拍照很好，很满意")]
    kept, stats = process_mentions(config, ms, WINDOW)
    assert [m.native_id for m in kept] == ["1", "2"]
    assert kept[0].clean_text == "" and stats["no_text"] == 1
    from listening.sentiment import Scorer

    values = Scorer().score([m.clean_text for m in kept])
    assert values[0] is None and 0 <= values[1] <= 1


def test_process_mentions_reads_the_original_for_a_trivial_repost(config):
    orig = "極光X5 電池太差了，很失望"
    kept, _ = process_mentions(config, [
        _m("2", "转发微博", retweet_of="1", quoted_text=orig),
        _m("3", "说得对，太坑了//@路人:同感", retweet_of="1", quoted_text=orig),
    ], WINDOW)
    assert kept[0].clean_text == normalise(orig).clean  # nothing of its own: the original's words
    assert kept[1].clean_text.startswith("说得对")
    assert kept[0].story_id == kept[1].story_id == content_key(normalise(orig).clean.casefold())


def test_dedupe_tier1_keeps_the_latest_fetch():
    t = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    a = _m("1", "old", fetched_at=t)
    b = _m("1", "new", fetched_at=t + timedelta(minutes=5))
    kept, dropped = dedupe([a, b, _m("2", "other")])
    assert dropped == 1 and [m.text for m in kept] == ["new", "other"]


def test_dedupe_tier2_same_item_under_another_id():
    url = "https://news.example.com/2026/11/aurora-x5?utm_source=rss"
    a = _m("guid-a", "极光X5 发布", url=url, source="technews", content_hash="h1", minute=1)
    b = _m("guid-b", "极光X5 发布", url=url.replace("utm_source=rss", "utm_source=feed"), source="technews",
           content_hash="h1", minute=2)
    c = _m("guid-c", "另一篇文章", url=url, source="technews", content_hash="h2", minute=3)  # same URL, other text
    r1 = _m("r1", "转发微博", retweet_of="x", content_hash="h1")
    r2 = _m("r2", "转发微博", retweet_of="x", content_hash="h1")  # reposts are never URL duplicates
    kept, dropped = dedupe([a, b, c, r1, r2])
    assert dropped == 1
    assert [m.native_id for m in kept] == ["guid-a", "guid-c", "r1", "r2"]


def test_query_prefilter_never_rejects_a_match(config):
    import random

    from listening.config.query import parse_query
    from listening.core.text import query_prefilter

    assert query_prefilter(parse_query("NOT 北极光")) is None
    lanshan = next(b.query for b in config.brands if b.id == "lanshan")
    assert query_prefilter(lanshan) == {"蓝山", "lanshan"}
    rng = random.Random(4)
    words = ["极光", "电池", "x5", "星辰s", "蓝山", "aurora", "手机", "\"x5 pro\"", "屏幕*"]
    texts = ["极光x5 pro 电池", "星辰s3 手机 屏幕很亮", "蓝山 aurora", "x5pro", "手机", "", "屏幕坏了 电池 x5"]
    for _ in range(300):
        a, b, c = rng.sample(words, 3)
        op1, op2 = rng.choice(["AND", "OR", "NEAR/4"]), rng.choice(["AND", "OR", "AND NOT"])
        if "NEAR" in op1 and ("*" in a + b or '"' in a + b):
            op1 = "AND"
        q = parse_query(f"({a} {op1} {b}) {op2} {c}")
        need = query_prefilter(q)
        for t in texts:
            if need is not None and not any(w in t for w in need):
                assert q.match(t, normalised=True) is None, (q.text, t)
