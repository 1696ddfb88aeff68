"""brands.yaml -> a typed :class:`Config`: what to listen for, where, how to label sentiment, and alerts.

The file is YAML (``include/brands.yaml`` by default; ``LISTENING_CONFIG`` or the
CLI's ``--config FILE`` name another).  Every problem is reported as a
:class:`ConfigError` that names the file, the key path (``brands[1].query``) and
what is wrong, so a typo never turns into a silent default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from listening.config.alerts import AlertConfig, parse_alert_config
from listening.config.query import Query, QuerySyntaxError, parse_query
from listening.core.errors import ConfigError
from listening.core.settings import default_config_path
from listening.sources.registry import connector_class, connectors, source_kinds

# Airflow pool names (the pool of a source's crawl tasks); default "listening_<source id>"
POOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    query_text: str
    query: Query = field(repr=False, compare=False)
    search_keywords: tuple[str, ...]
    competitors: tuple[str, ...] = ()
    owned_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    id: str
    kind: str
    enabled: bool
    base_url: str
    params: dict[str, Any] = field(default_factory=dict)
    connection: str | None = None
    pool: str = ""

    @property
    def crawl_pool(self) -> str:
        """The Airflow pool its crawl runs in: one per source (or per host, when sources share one)."""
        return self.pool or f"listening_{self.id}"

    @property
    def crawl_stage(self) -> str:
        """``first`` or ``after``, as the kind's connector declares (comments crawl after the posts)."""
        return connector_class(self.kind).crawl_stage


@dataclass(frozen=True)
class SentimentThresholds:
    negative_below: float = 0.3
    positive_above: float = 0.7

    def label(self, score: float) -> str:
        if score < self.negative_below:
            return "negative"
        if score >= self.positive_above:
            return "positive"
        return "neutral"


@dataclass(frozen=True)
class Config:
    path: Path | None
    timezone: str
    brands: tuple[Brand, ...]
    sources: tuple[Source, ...]
    sentiment: SentimentThresholds
    spam_patterns: tuple[re.Pattern[str], ...] = ()
    max_bad_share: float = 0.05
    alerts: AlertConfig = field(default_factory=AlertConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def brand(self, brand_id: str) -> Brand:
        for b in self.brands:
            if b.id == brand_id:
                return b
        raise KeyError(f"unknown brand {brand_id!r}; configured: {[b.id for b in self.brands]}")

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(f"unknown source {source_id!r}; configured: {[s.id for s in self.sources]}")

    @property
    def enabled_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)


class _Reader:
    """Walks the YAML tree and raises ConfigError with the key path on any problem."""

    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key}: {problem}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def unknown(self, value: dict[str, Any], key: str, allowed: set[str]) -> None:
        extra = sorted(set(value) - allowed)
        if extra:
            where = f"{key}." if key else ""
            raise self.fail(f"{where}{extra[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, value: dict[str, Any], name: str, key: str, default: Any = ...) -> str:
        path = f"{key}.{name}" if key else name
        if name not in value:
            if default is ...:
                raise self.fail(path, "is required")
            return default
        v = value[name]
        if not isinstance(v, str) or not v.strip():
            raise self.fail(path, f"expected a non-empty string, got {v!r}")
        return v.strip()

    def ident(self, value: dict[str, Any], name: str, key: str) -> str:
        v = self.string(value, name, key)
        if not _ID_RE.match(v):
            raise self.fail(f"{key}.{name}", f"{v!r} is not a valid id (lowercase letters, digits, _; max 40)")
        return v

    def string_list(self, value: dict[str, Any], name: str, key: str) -> tuple[str, ...]:
        v = value.get(name, [])
        if v is None:
            v = []
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise self.fail(f"{key}.{name}", f"expected a list of non-empty strings, got {v!r}")
        return tuple(x.strip() for x in v)

    def number(self, value: dict[str, Any], name: str, key: str, default: float) -> float:
        v = value.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(f"{key}.{name}", f"expected a number, got {v!r}")
        return float(v)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a configuration file (default: :func:`default_config_path`)."""
    p = Path(path) if path else default_config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found") from None
    return parse_config(text, origin=str(p), path=p)


FALLBACK_POOL = "listening_crawl"


def crawl_groups(config: Config | None = None) -> list[tuple[str, str]]:
    """``(stage, pool)`` of every crawl task the ingest DAG needs, read at DAG-parse time (YAML only).

    Airflow sets a pool per task, not per mapped instance, so the DAG has one crawl task per
    stage and pool, mapped over that pool's enabled sources.  A configuration that does not
    load gives one fallback group per stage, so the DAG still parses and its ``plan`` task
    fails with the configuration error in its log.
    """
    if config is None:
        try:
            config = load_config()
        except ConfigError:
            return [("first", FALLBACK_POOL), ("after", FALLBACK_POOL)]
    groups: list[tuple[str, str]] = []
    for s in config.enabled_sources:
        if (s.crawl_stage, s.crawl_pool) not in groups:
            groups.append((s.crawl_stage, s.crawl_pool))
    return sorted(groups, key=lambda g: (g[0] != "first", g[1]))


def crawl_group_key(stage: str, pool: str) -> str:
    return f"{stage}__{pool}"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (plain YAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_config(text: str, origin: str = "<config>", path: Path | None = None) -> Config:
    r = _Reader(origin)
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(f"{origin}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}") from None
    if raw is None:
        raise ConfigError(f"{origin}: the file is empty")
    top = r.mapping(raw, "(top level)")
    r.unknown(top, "", {"timezone", "brands", "sources", "sentiment", "spam", "quality", "alerts"})

    tz = r.string(top, "timezone", "", default="Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("timezone", f"unknown time zone {tz!r} (use an IANA name such as Asia/Shanghai)") from None

    sent_raw = r.mapping(top.get("sentiment", {}) or {}, "sentiment")
    r.unknown(sent_raw, "sentiment", {"negative_below", "positive_above"})
    neg = r.number(sent_raw, "negative_below", "sentiment", 0.3)
    pos = r.number(sent_raw, "positive_above", "sentiment", 0.7)
    if not 0.0 <= neg <= pos <= 1.0:
        raise r.fail("sentiment", f"need 0 <= negative_below ({neg}) <= positive_above ({pos}) <= 1")

    spam_raw = r.mapping(top.get("spam", {}) or {}, "spam")
    r.unknown(spam_raw, "spam", {"patterns"})
    spam: list[re.Pattern[str]] = []
    for i, pat in enumerate(r.string_list(spam_raw, "patterns", "spam")):
        try:
            spam.append(re.compile(pat))
        except re.error as exc:
            raise r.fail(f"spam.patterns[{i}]", f"invalid regular expression: {exc}") from None

    alerts = parse_alert_config(top.get("alerts"), origin)

    quality_raw = r.mapping(top.get("quality", {}) or {}, "quality")
    r.unknown(quality_raw, "quality", {"max_bad_share"})
    max_bad = r.number(quality_raw, "max_bad_share", "quality", 0.05)
    if not 0.0 <= max_bad <= 1.0:
        raise r.fail("quality.max_bad_share", f"must be between 0 and 1, got {max_bad}")

    brands_raw = top.get("brands")
    if not isinstance(brands_raw, list) or not brands_raw:
        raise r.fail("brands", "expected a non-empty list of brands")
    brands: list[Brand] = []
    for i, b in enumerate(brands_raw):
        key = f"brands[{i}]"
        b = r.mapping(b, key)
        r.unknown(b, key, {"id", "name", "query", "search_keywords", "competitors", "owned_accounts"})
        bid = r.ident(b, "id", key)
        qtext = r.string(b, "query", key)
        try:
            q = parse_query(qtext)
        except QuerySyntaxError as exc:
            raise r.fail(f"{key}.query", str(exc)) from None
        kws = r.string_list(b, "search_keywords", key) or tuple(q.positive_terms())
        brands.append(
            Brand(
                id=bid,
                name=r.string(b, "name", key),
                query_text=qtext,
                query=q,
                search_keywords=kws,
                competitors=r.string_list(b, "competitors", key),
                owned_accounts=r.string_list(b, "owned_accounts", key),
            )
        )
    ids = [b.id for b in brands]
    for i, b in enumerate(brands):
        if ids.count(b.id) > 1:
            raise r.fail(f"brands[{i}].id", f"duplicate brand id {b.id!r}")
        for c in b.competitors:
            if c not in ids:
                raise r.fail(f"brands[{i}].competitors", f"{c!r} is not a configured brand id")
            if c == b.id:
                raise r.fail(f"brands[{i}].competitors", "a brand cannot be its own competitor")

    sources_raw = top.get("sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise r.fail("sources", "expected a non-empty list of sources")
    sources: list[Source] = []
    for i, s in enumerate(sources_raw):
        key = f"sources[{i}]"
        s = r.mapping(s, key)
        r.unknown(s, key, {"id", "kind", "enabled", "base_url", "params", "connection", "pool"})
        sid = r.ident(s, "id", key)
        kind = r.string(s, "kind", key)
        if kind not in connectors():
            raise r.fail(f"{key}.kind", f"unknown kind {kind!r} (known: {', '.join(source_kinds())})")
        enabled = s.get("enabled", True)
        if not isinstance(enabled, bool):
            raise r.fail(f"{key}.enabled", f"expected true or false, got {enabled!r}")
        # vendor drops read files, not a site: their base_url is optional
        base_url = r.string(s, "base_url", key, default="" if kind == "vendor_drop" else ...)
        if base_url and base_url != "demo" and not re.match(r"^https?://", base_url):
            raise r.fail(f"{key}.base_url", f"expected an http(s) URL or 'demo', got {base_url!r}")
        params = r.mapping(s.get("params", {}) or {}, f"{key}.params")
        connector_class(kind).check_params(params, f"{key}.params", r.fail)
        conn = s.get("connection")
        if conn is not None and not (isinstance(conn, str) and conn.strip()):
            raise r.fail(f"{key}.connection", f"expected an Airflow connection id, got {conn!r}")
        pool = s.get("pool", "")
        if pool and not (isinstance(pool, str) and POOL_NAME.match(pool)):
            raise r.fail(f"{key}.pool", f"expected an Airflow pool name (letters, digits, _ . -), got {pool!r}")
        if sid in [x.id for x in sources]:
            raise r.fail(f"{key}.id", f"duplicate source id {sid!r}")
        sources.append(Source(sid, kind, enabled, base_url.rstrip("/"), dict(params), conn, pool or ""))
    for i, src in enumerate(sources):
        connector_class(src.kind).check_config(i, src, sources, r.fail)

    return Config(
        path=path,
        timezone=tz,
        brands=tuple(brands),
        sources=tuple(sources),
        sentiment=SentimentThresholds(neg, pos),
        spam_patterns=tuple(spam),
        max_bad_share=max_bad,
        alerts=alerts,
    )


def config_timezone(default: str = "Asia/Shanghai") -> str:
    """The ``timezone:`` of the configuration file, read cheaply at DAG-parse time (the schedule of
    the daily report); the default when the file cannot be read (the task then fails with the error)."""
    try:
        raw = yaml.safe_load(default_config_path().read_text(encoding="utf-8")) or {}
        tz = (raw.get("timezone") if isinstance(raw, dict) else None) or default
        ZoneInfo(tz)
        return str(tz)
    except Exception:  # noqa: BLE001 - a broken file fails the task with a clear error, not the DAG parse
        return default
