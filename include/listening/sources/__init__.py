"""Connectors, one module per kind, behind :class:`listening.sources.base.Connector`."""

from __future__ import annotations

from listening.sources.base import Connector
from listening.sources.rss import RssFeed
from listening.sources.weibo import WeiboSearch

CONNECTORS: dict[str, type[Connector]] = {
    WeiboSearch.kind: WeiboSearch,
    RssFeed.kind: RssFeed,
}


def connector_class(kind: str) -> type[Connector]:
    try:
        return CONNECTORS[kind]
    except KeyError:
        raise ValueError(f"no connector for source kind {kind!r} (known: {sorted(CONNECTORS)})") from None
