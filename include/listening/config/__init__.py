"""Configuration: brands.yaml -> a typed :class:`Config` (brands and their queries, sources checked
against what their connectors declare, sentiment thresholds, spam, quality, alerts).

| module | job |
|---|---|
| ``brands`` | loading and validating brands.yaml; crawl groups (Airflow pools) |
| ``query`` | the brand query language (AND / OR / NOT, NEAR/n, phrases) |
| ``alerts`` | the ``alerts:`` block (thresholds, state rules, channels) |
"""

from __future__ import annotations

from typing import Any

from listening.config.alerts import AlertConfig
from listening.config.brands import (
    FALLBACK_POOL,
    Brand,
    Config,
    SentimentThresholds,
    Source,
    config_timezone,
    crawl_group_key,
    crawl_groups,
    load_config,
    parse_config,
)
from listening.core.errors import ConfigError
from listening.core.settings import default_config_path, project_root
from listening.sources.registry import connectors, source_kinds

__all__ = ["FALLBACK_POOL", "SECOND_STAGE_KINDS", "SOURCE_KINDS", "AlertConfig", "Brand", "Config", "ConfigError",
           "SentimentThresholds", "Source", "config_timezone", "crawl_group_key", "crawl_groups",
           "default_config_path", "load_config", "parse_config", "project_root"]


def __getattr__(name: str) -> Any:
    # the kinds are what the connectors declare (listening.sources.registry), found on first use
    if name == "SOURCE_KINDS":
        return source_kinds()
    if name == "SECOND_STAGE_KINDS":
        return frozenset(k for k, cls in connectors().items() if cls.crawl_stage == "after")
    raise AttributeError(name)
