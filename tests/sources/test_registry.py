"""The registry finds a connector from its own module: a new kind needs nothing listed elsewhere."""

from __future__ import annotations

import sys

import pytest

import listening.sources as sources_pkg
from listening.config import ConfigError, crawl_groups, parse_config
from listening.sources import registry

PIGEON = '''
from listening.sources.base import Connector, FetchResult, ParseResult


class CarrierPigeon(Connector):
    """A kind nobody registered anywhere: only this module declares it."""

    kind = "carrier_pigeon"
    params_schema = {"loft": "string", "birds": "positive_int"}
    required_params = ("loft",)
    crawl_stage = "after"

    def fetch(self, window, cursor=None):
        return FetchResult()

    def parse(self, records, window=None):
        return ParseResult()
'''

YAML = """
brands:
  - {id: aurora, name: 极光, query: 极光}
sources:
  - {id: weibo, kind: weibo_search, base_url: "https://m.weibo.cn"}
  - id: pigeons
    kind: carrier_pigeon
    base_url: https://example.org
    params: {loft: roof, birds: 3}
"""


@pytest.fixture
def pigeon_module(tmp_path, monkeypatch):
    (tmp_path / "carrier_pigeon.py").write_text(PIGEON, encoding="utf-8")
    monkeypatch.setattr(sources_pkg, "__path__", [*sources_pkg.__path__, str(tmp_path)])
    registry.refresh()
    yield
    monkeypatch.undo()
    sys.modules.pop("listening.sources.carrier_pigeon", None)
    registry.refresh()


def test_the_shipped_kinds_are_found():
    assert sorted(registry.connectors()) == ["rss", "vendor_drop", "web", "weibo_comments", "weibo_search"]


def test_a_new_kind_is_found_from_its_own_module_alone(pigeon_module):
    cls = registry.connector_class("carrier_pigeon")
    assert cls.__name__ == "CarrierPigeon" and cls.__module__ == "listening.sources.carrier_pigeon"
    config = parse_config(YAML, origin="t.yaml")  # brands.yaml accepts the kind and checks its params
    assert config.source("pigeons").crawl_stage == "after"
    assert ("after", "listening_pigeons") in crawl_groups(config)
    with pytest.raises(ConfigError, match=r"sources\[1\]\.params\.birds: expected a whole number >= 1"):
        parse_config(YAML.replace("birds: 3", "birds: 0"), origin="t.yaml")
    with pytest.raises(ConfigError, match=r"sources\[1\]\.params\.loft: is required for kind carrier_pigeon"):
        parse_config(YAML.replace("loft: roof, ", ""), origin="t.yaml")


def test_without_the_module_the_kind_is_unknown():
    assert "carrier_pigeon" not in registry.connectors()
    with pytest.raises(ConfigError, match=r"sources\[1\]\.kind: unknown kind 'carrier_pigeon'"):
        parse_config(YAML, origin="t.yaml")


def test_a_kind_declared_twice_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "rss_again.py").write_text(PIGEON.replace('"carrier_pigeon"', '"rss"'), encoding="utf-8")
    monkeypatch.setattr(sources_pkg, "__path__", [*sources_pkg.__path__, str(tmp_path)])
    try:
        with pytest.raises(TypeError, match="source kind 'rss' is declared twice"):
            registry.discover()
    finally:
        monkeypatch.undo()
        sys.modules.pop("listening.sources.rss_again", None)
        registry.refresh()
