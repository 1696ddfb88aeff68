"""Connectors, one module per kind, behind :class:`listening.sources.base.Connector`.

| kind             | module            | what                                                        |
|------------------|-------------------|-------------------------------------------------------------|
| ``weibo_search`` | ``weibo``         | m.weibo.cn mobile search, page caps split by time           |
| ``weibo_comments`` | ``weibo_comments`` | hotflow comments of the posts a weibo_search source found |
| ``rss``          | ``rss``           | RSS 2.0 / Atom feeds with conditional GET                   |
| ``web``          | ``web``           | news and forum pages (encoding, main text, publish time)    |
| ``vendor_drop``  | ``vendor``        | CSV / JSON Lines files under a lake or S3 prefix            |
"""

from __future__ import annotations

from listening.sources.base import Connector
from listening.sources.rss import RssFeed
from listening.sources.vendor import VendorDrop
from listening.sources.web import WebPages
from listening.sources.weibo import WeiboSearch
from listening.sources.weibo_comments import WeiboComments

CONNECTORS: dict[str, type[Connector]] = {
    WeiboSearch.kind: WeiboSearch,
    WeiboComments.kind: WeiboComments,
    RssFeed.kind: RssFeed,
    WebPages.kind: WebPages,
    VendorDrop.kind: VendorDrop,
}


def connector_class(kind: str) -> type[Connector]:
    try:
        return CONNECTORS[kind]
    except KeyError:
        raise ValueError(f"no connector for source kind {kind!r} (known: {sorted(CONNECTORS)})") from None
