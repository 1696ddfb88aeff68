from pathlib import Path

import pytest

from listening.config import ConfigError, load_config, parse_config

GOOD = """
timezone: Asia/Shanghai
sentiment: {negative_below: 0.3, positive_above: 0.7}
brands:
  - id: aurora
    name: 极光
    query: '(极光 OR aurora) NOT 北极光'
    competitors: [xingchen]
  - id: xingchen
    name: 星辰
    query: 星辰
sources:
  - id: weibo
    kind: weibo_search
    base_url: https://m.weibo.cn
"""


def test_bundled_config_loads(config):
    assert config.timezone == "Asia/Shanghai"
    assert {b.id for b in config.brands} >= {"aurora", "xingchen", "lanshan"}
    assert {s.kind for s in config.sources} >= {"weibo_search", "rss"}
    assert config.brand("aurora").competitors


def test_parse_minimal_config_and_defaults():
    c = parse_config(GOOD)
    assert c.brand("aurora").search_keywords == ("极光", "aurora")
    assert c.brand("xingchen").owned_accounts == ()
    assert c.sources[0].enabled is True
    assert c.sentiment.label(0.1) == "negative"
    assert c.sentiment.label(0.5) == "neutral"
    assert c.sentiment.label(0.7) == "positive"
    assert c.max_bad_share == 0.05


@pytest.mark.parametrize(
    "mutate, key, problem",
    [
        (lambda s: s.replace("timezone: Asia/Shanghai", "timezone: Mars/Olympus"), "timezone", "unknown time zone"),
        (lambda s: s.replace("kind: weibo_search", "kind: myspace"), "sources[0].kind", "unknown kind"),
        (lambda s: s.replace("'(极光 OR aurora) NOT 北极光'", "'(极光 OR aurora'"), "brands[0].query", "position"),
        (lambda s: s.replace("competitors: [xingchen]", "competitors: [nokia]"), "brands[0].competitors",
         "not a configured brand"),
        (lambda s: s.replace("id: xingchen\n", "id: Xing-Chen\n"), "brands[1].id", "not a valid id"),
        (lambda s: s.replace("negative_below: 0.3", "negative_below: 0.9"), "sentiment", "negative_below"),
        (lambda s: s.replace("    name: 星辰\n", ""), "brands[1].name", "is required"),
        (lambda s: s + "colour: blue\n", "colour", "unknown key"),
        (lambda s: s.replace("base_url: https://m.weibo.cn", "base_url: m.weibo.cn"), "sources[0].base_url",
         "http(s) URL"),
        (lambda s: s + "timezone: UTC\n", "line", "duplicate key 'timezone'"),
    ],
)
def test_bad_config_names_key_and_problem(mutate, key, problem):
    with pytest.raises(ConfigError) as ei:
        parse_config(mutate(GOOD), origin="test.yaml")
    msg = str(ei.value)
    assert msg.startswith("test.yaml: ")
    assert key in msg and problem in msg, msg


def test_missing_file_and_env_override(tmp_path: Path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "other.yaml"
    p.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("LISTENING_CONFIG", str(p))
    assert [b.id for b in load_config().brands] == ["aurora", "xingchen"]


def test_invalid_yaml_reports_line():
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        parse_config("timezone: UTC\nbrands: [\n  - id: x\n  bad: : :\n")
