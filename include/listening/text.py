"""Text normalisation shared by matching, scoring and dedupe.

Three forms of a post are kept side by side:

* ``display``: the post as a reader sees it (HTML tags stripped, entities decoded,
  original script kept): shown in the email, stored in ``fct_mention.text``.
* ``clean``: what the sentiment model reads: Traditional converted to Simplified
  (SnowNLP misreads Traditional text), NFKC, URLs / @handles / emoji removed,
  ``#topic#`` markers dropped but the topic words kept, Weibo emoticons such as
  ``[怒]`` turned into their word, whitespace squeezed.
* ``match``: for brand queries and content hashes: like ``clean`` but keeping @handles
  and ``#topics#`` (a post addressed to ``@极光手机官方`` mentions the brand), case folded.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import zhconv

_URL_RE = re.compile(r"https?://[^\s<>\"'，。！？、）)]+", re.IGNORECASE)
_MENTION_RE = re.compile(r"@([\w\u4e00-\u9fff\-]{1,30})")
_HASHTAG_RE = re.compile(r"#([^#\n]{1,60})#")
_EMOTICON_RE = re.compile(r"\[([\w\u4e00-\u9fff]{1,8})\]")
_WS_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"<[^>]+>")
_IMG_ALT_RE = re.compile(r"<img[^>]*\balt=[\"']?(\[[^\]\"'>]{1,10}\])[\"']?[^>]*>", re.IGNORECASE)
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Emoji and pictographs, variation selectors, zero-width joiners.
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\ufe0f\u200d\u20e3\U000e0000-\U000e007f]"
)
_PUNCT_CATS = ("P", "S", "Z", "C")


@lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Traditional (and HK/TW variants) to Simplified Chinese."""
    return zhconv.convert(text, "zh-cn")


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
    return _WS_RE.sub(" ", text).strip()


def match_form(text: str) -> str:
    """The form used by brand queries: NFKC, Simplified, case-folded, whitespace squeezed."""
    return squeeze(to_simplified(unicodedata.normalize("NFKC", text)).casefold())


def _emoticon_word(m: re.Match[str]) -> str:
    word = m.group(1)
    # CJK emoticon names ([怒], [赞], [泪]) carry sentiment; ASCII ones ([doge]) are dropped.
    return word if any("\u4e00" <= c <= "\u9fff" for c in word) else ""


@dataclass(frozen=True)
class NormalisedText:
    display: str
    clean: str
    match: str
    urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    emoticons: tuple[str, ...] = ()
    emoji: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """True when nothing is left to score (only links, handles, emoji...)."""
        return not self.clean


def normalise(raw: str, *, is_html: bool = False) -> NormalisedText:
    display = squeeze(strip_html(raw)) if is_html else squeeze(raw or "")
    t = unicodedata.normalize("NFKC", display)
    urls = tuple(_URL_RE.findall(t))
    t = _URL_RE.sub(" ", t)
    # brand queries see @handles and #topics# too: "@极光手机官方" is a mention of the brand
    match = squeeze(to_simplified(_EMOJI_RE.sub("", _EMOTICON_RE.sub(" ", t)))).casefold()
    mentions = tuple(_MENTION_RE.findall(t))
    t = _MENTION_RE.sub(" ", t)
    hashtags = tuple(h.strip() for h in _HASHTAG_RE.findall(t))
    t = _HASHTAG_RE.sub(lambda m: " " + m.group(1) + " ", t)
    emoticons = tuple(_EMOTICON_RE.findall(t))
    t = _EMOTICON_RE.sub(_emoticon_word, t)
    emoji = tuple(_EMOJI_RE.findall(t))
    t = _EMOJI_RE.sub("", t)
    clean = squeeze(to_simplified(t))
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


def content_key(match_text: str) -> str:
    """Hash of the text with punctuation, symbols and spaces removed: equal for exact re-posts of a copy."""
    core = "".join(c for c in match_text if unicodedata.category(c)[0] not in _PUNCT_CATS)
    return hashlib.sha1(core.encode("utf-8")).hexdigest()[:16]
