"""Text normalisation shared by matching, scoring and dedupe.

Three forms of a post are kept side by side:

* ``display``: the post as a reader sees it (HTML tags stripped, entities decoded,
  original script kept): shown in the email, stored in ``fct_mention.text``.
* ``clean``: what the sentiment model reads: Traditional converted to Simplified
  (SnowNLP misreads Traditional text), NFKC, URLs / @handles / emoji removed,
  ``#topic#`` markers dropped but the topic words kept, Weibo emoticons such as
  ``[怒]`` turned into their word (ASCII ones such as ``[doge]`` dropped: the model reads
  them as unknown words), Weibo's link labels ("网页链接") and "...全文" removed, invisible
  format characters removed, whitespace squeezed.  URLs, handles, topics, emoticons and
  emoji are kept as fields of :class:`NormalisedText` (and in ``display``).
* ``match``: for brand queries and content hashes: like ``clean`` but keeping @handles
  and ``#topics#`` (a post addressed to ``@极光手机官方`` mentions the brand), case folded.

Traditional -> Simplified uses OpenCC (``t2s.json``, the native library), chosen by
``bench/bench_t2s.py`` on 20,000 real reviews turned into Traditional: SnowNLP's polarity
differs from the Simplified original's on 24.6% of unconverted texts, on 0.06% after OpenCC
(zhconv 0.09%, SnowNLP's own ``zh2hans`` 0.53%); OpenCC is also the fastest (11 M chars/s on
Traditional, 23 M on Simplified input, against ~3 M for the other two) and alters the fewest
Simplified texts (0.14%, zhconv 0.41%).  zhconv is the fallback when OpenCC cannot load.

Nothing is a crash: ``None``, empty, whitespace-only or link-only input gives empty
``clean`` (``NormalisedText.is_empty``), which the pipeline records as "no text"
(``sentiment`` NULL, label ``none``).  So does a post with no letter or digit left (only
punctuation or symbols): there is nothing for the model to read.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

_URL_RE = re.compile(r"https?://[^\s<>\"'，。！？、）)]+", re.IGNORECASE)
_MENTION_RE = re.compile(r"@([\w\u4e00-\u9fff\-]{1,30})")
_HASHTAG_RE = re.compile(r"#([^#\n]{1,60})#")
_EMOTICON_RE = re.compile(r"\[([\w\u4e00-\u9fff]{1,8})\]")
_TAG_RE = re.compile(r"<[^>]+>")
_IMG_ALT_RE = re.compile(r"<img[^>]*\balt=[\"']?(\[[^\]\"'>]{1,10}\])[\"']?[^>]*>", re.IGNORECASE)
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Emoji and pictographs, variation selectors, zero-width joiners.
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\ufe0f\u200d\u20e3\U000e0000-\U000e007f]"
)
# Weibo renders links as a label ("网页链接", "O网页链接") and ends cut posts with "...全文"
_LINK_LABEL_RE = re.compile(r"[OL]?网页链接|(?:\.\.\.|…)\s*全文\s*$")
# invisible format characters (zero-width space/joiners, BOM, word joiner, bidi marks)
_FORMAT_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_HAS_WORD_RE = re.compile(r"[^\W_]")  # a letter or digit (any script)
_NON_WORD_RE = re.compile(r"[\W_]+")


def _load_converter():
    try:
        import opencc

        return opencc.OpenCC("t2s.json").convert
    except Exception:  # noqa: BLE001 - a broken native install falls back to pure Python
        import zhconv

        return lambda t: zhconv.convert(t, "zh-cn")


_t2s = None


def to_simplified(text: str) -> str:
    """Traditional (and HK/TW variants) to Simplified Chinese (OpenCC ``t2s``)."""
    global _t2s
    if _t2s is None:
        _t2s = _load_converter()
    return _t2s(text) if text else text


def strip_html(text: str) -> str:
    """Weibo/RSS HTML to plain text: emoticon images become ``[名]``, <br> a newline, tags dropped."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return text.strip()
    t = _IMG_ALT_RE.sub(r"\1", text)
    t = _BR_RE.sub("\n", t)
    t = _TAG_RE.sub("", t)
    t = html.unescape(t)
    return t.strip()


def squeeze(text: str) -> str:
    """Runs of whitespace (any Unicode space, as ``\\s``) to one space, ends stripped."""
    return " ".join(text.split())


def match_form(text: str) -> str:
    """The form used by brand queries: NFKC, Simplified, case-folded, whitespace squeezed."""
    return squeeze(to_simplified(nfkc(text)).casefold())


def _topic_words(m: re.Match[str]) -> str:
    return " " + m.group(1) + " "


def _emoticon_word(m: re.Match[str]) -> str:
    word = m.group(1)
    # CJK emoticon names ([怒], [赞], [泪]) carry sentiment; ASCII ones ([doge]) are dropped.
    return word if any("\u4e00" <= c <= "\u9fff" for c in word) else ""


class NormalisedText(NamedTuple):
    """The forms of one post (immutable)."""

    display: str
    clean: str
    match: str
    urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    emoticons: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing is left to score (only links, handles, emoji...)."""
        return not self.clean


_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")


def _halfwidth(m: re.Match[str], _get=_FULLWIDTH.__getitem__) -> str:
    return _get(m.group())
_EMPTY = None  # the NormalisedText of an empty post, built on first use


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, fast for the usual case (CJK with full-width punctuation)."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    t = _FULLWIDTH_RE.sub(_halfwidth, text)  # their NFKC forms; anything else takes the full path
    return t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", text)


def normalise(raw: str | None, *, is_html: bool = False) -> NormalisedText:
    """The display, clean and match forms of a post, with its links, handles, topics, emoticons and emoji."""
    global _EMPTY
    display = squeeze(strip_html(raw or "")) if is_html else squeeze(raw or "")
    if not display:
        if _EMPTY is None:
            _EMPTY = NormalisedText(display="", clean="", match="")
        return _EMPTY
    t = nfkc(display)
    if not t.isascii():
        t = _FORMAT_RE.sub("", t)
    urls: tuple[str, ...] = ()
    if "://" in t:
        urls = tuple(_URL_RE.findall(t))
        t = _URL_RE.sub(" ", t)
    if "网页链接" in t or "全文" in t:
        t = _LINK_LABEL_RE.sub(" ", t)
    has_bracket = "[" in t
    emoji = tuple(_EMOJI_RE.findall(t)) if not t.isascii() else ()
    # one Traditional -> Simplified conversion serves both forms; the fields keep the original script
    s = to_simplified(t)
    # brand queries see @handles and #topics# too: "@极光手机官方" is a mention of the brand
    m = _EMOTICON_RE.sub(" ", s) if has_bracket else s
    match = squeeze(_EMOJI_RE.sub("", m) if emoji else m).casefold()
    mentions: tuple[str, ...] = ()
    if "@" in t:
        mentions = tuple(_MENTION_RE.findall(t))
        t = _MENTION_RE.sub(" ", t)
        s = _MENTION_RE.sub(" ", s)
    hashtags: tuple[str, ...] = ()
    if "#" in t:
        hashtags = tuple(h.strip() for h in _HASHTAG_RE.findall(t))
        s = _HASHTAG_RE.sub(_topic_words, s)
    emoticons: tuple[str, ...] = ()
    if has_bracket:
        emoticons = tuple(_EMOTICON_RE.findall(_HASHTAG_RE.sub(_topic_words, t) if hashtags else t))
        s = _EMOTICON_RE.sub(_emoticon_word, s)
    if emoji:
        s = _EMOJI_RE.sub("", s)
    clean = squeeze(s)
    if clean and not _HAS_WORD_RE.search(clean):
        clean = ""  # only punctuation / symbols left: nothing to score
    return NormalisedText(
        display=display,
        clean=clean,
        match=match,
        urls=urls,
        mentions=mentions,
        hashtags=hashtags,
        emoticons=emoticons,
        emoji=tuple(e for e in emoji if e not in ("\ufe0f", "\u200d")),
    )


@lru_cache(maxsize=8192)
def normalise_cached(raw: str | None) -> NormalisedText:
    """:func:`normalise` remembered for recent texts: reposts quote a few popular originals over and over."""
    return normalise(raw)


def content_key(match_text: str) -> str:
    """Hash of the text with punctuation, symbols, spaces and control characters removed (letters and
    digits kept): equal for exact re-posts of a copy."""
    core = _NON_WORD_RE.sub("", match_text)
    return hashlib.sha1(core.encode("utf-8")).hexdigest()[:16]


_TRACKING_PARAMS = re.compile(r"^(utm_\w+|spm|from|share_\w+|wfr|featurecode|luicode|lfid|isappinstalled|"
                              r"scene|clicktime|enterid|fbclid|gclid|ref|source|src|timestamp)$", re.IGNORECASE)
_URL_PARTS_RE = re.compile(r"^(https?)://([^/?#\s]+)([^?#\s]*)(?:\?([^#\s]*))?(?:#\S*)?$", re.IGNORECASE)
_HOST_RE = re.compile(r"^(?:[^@]*@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$")


def canonical_url(url: str | None) -> str:
    """The URL with what does not identify the item removed, for tier-2 dedupe.

    Lower-case scheme and host, no ``www.``/``m.`` prefix, ``http`` read as ``https``, no
    fragment, no tracking parameters (``utm_*``, ``spm``, ``from``, ``share_*``...), the
    remaining query parameters sorted, no trailing slash.  ``""`` for an empty or non-HTTP URL.
    """
    if not url:
        return ""
    m = _URL_PARTS_RE.match(url.strip())
    if m is None:
        return ""
    _scheme, netloc, path, query = m.groups()
    h = _HOST_RE.match(netloc)
    if h is None:
        return ""
    host, port = h.group(1).lower(), h.group(2)
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
    if port and port not in ("80", "443"):
        host = f"{host}:{port}"
    path = path.rstrip("/")
    if query:
        query = urlencode(sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                                 if not _TRACKING_PARAMS.match(k)))
        if query:
            return f"https://{host}{path}?{query}"
    return f"https://{host}{path}"


def query_prefilter(query: object) -> frozenset[str] | None:
    """Strings of which at least one must occur in a post's match form for ``query`` to match it.

    A cheap test before the full boolean evaluation (most posts name one brand, so the other
    brands' queries fail at this test): ``None`` when no such set is known (a query that can
    match without any of its terms, e.g. a lone ``NOT``).  Built from the query tree of
    :mod:`listening.config.query`: a term needs the first word of its match form; ``OR`` needs one of
    its children's; ``AND`` / ``NEAR`` the smallest of their children's; ``NOT`` nothing.
    """
    def needed(node: object) -> frozenset[str] | None:
        op = getattr(node, "op", None)
        if op == "term":
            parts = str(getattr(getattr(node, "term", None), "norm", "")).split()
            return frozenset(parts[:1]) if parts else None
        children = list(getattr(node, "children", ()) or ())
        if op == "or":
            sets = [needed(c) for c in children]
            return None if not sets or any(s is None for s in sets) else frozenset().union(*sets)
        if op in ("and", "near"):
            known = [s for s in (needed(c) for c in children) if s is not None]
            return min(known, key=len) if known else None
        return None

    try:
        if query.match("", normalised=True) is not None:  # type: ignore[attr-defined]
            return None
        return needed(query.root)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unknown query shape: no prefilter, always evaluate
        return None
