"""Connectors, one module per kind, behind :class:`listening.sources.base.Connector`; found by
:mod:`listening.sources.registry` (a new kind is a new module, nothing else lists them).

| kind             | module            | what                                                        |
|------------------|-------------------|-------------------------------------------------------------|
| ``weibo_search`` | ``weibo``         | m.weibo.cn mobile search, page caps split by time           |
| ``weibo_comments`` | ``weibo_comments`` | hotflow comments of the posts a weibo_search source found |
| ``rss``          | ``rss``           | RSS 2.0 / Atom feeds with conditional GET                   |
| ``web``          | ``web``           | news and forum pages (encoding, main text, publish time)    |
| ``vendor_drop``  | ``vendor``        | CSV / JSON Lines files under a lake or S3 prefix            |

Each connector declares its ``kind``, its ``params_schema`` (checked when brands.yaml loads), its
``crawl_stage``, and, when it has a raw quality gate, its ``raw_suite`` and ``raw_items`` (how its
raw pages split into items).  Shared pieces: ``http`` (the polite client), ``robots``, ``webtext``
(HTML decoding and main-text extraction), ``params`` (the parameter rules).
"""

from __future__ import annotations

from typing import Any

from listening.sources.base import Connector
from listening.sources.registry import connector_class, connectors, source_kinds

__all__ = ["CONNECTORS", "Connector", "connector_class", "connectors", "source_kinds"]


def __getattr__(name: str) -> Any:
    if name == "CONNECTORS":  # discovered on first use, not at import
        return connectors()
    raise AttributeError(name)
