"""The sales closed loop: drops in the lake -> fct_sales (validated, idempotent) -> mart_brand_kpi."""

from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import select
from support.warehouse import DAY, load_rows, mention

from listening import sales
from listening import warehouse as wh
from listening.config import ConfigError
from listening.quality import BatchRejected

CONFIG_YAML = """
prefix: drops/sales/
currency: CNY
columns: {date: 日期, brand: 品牌, sales_amount: 销售额, units: 销量, spend: 投放}
brand_aliases: {极光手机: aurora, 星辰手机: xingchen}
date_format: "%Y/%m/%d"
goals: {aurora: sales, lanshan: reputation}
"""


@pytest.fixture
def cfg(tmp_path, config):
    p = tmp_path / "sales.yaml"
    p.write_text(CONFIG_YAML, encoding="utf-8")
    return sales.load_sales_config(p, config)


def _csv(rows: list[str]) -> bytes:
    return ("\ufeff日期,品牌,销售额,销量,投放\n" + "\n".join(rows) + "\n").encode("utf-8")


def _sales(engine):
    with engine.connect() as c:
        return {(r.date_key, r.brand_id): (r.sales_amount, r.units, r.spend)
                for r in c.execute(select(wh.fct_sales))}


def test_csv_and_jsonl_drops_load_and_restate(config, engine, lake, cfg):
    lake.put("drops/sales/2026-11-01.csv", _csv([
        "2026/11/01,极光手机,\"¥1,200.50\",12,300",
        "2026/11/01,极光手机,800,8,",  # a second channel: summed
        "2026/11/01,xingchen,1.2万,100,5000",
    ]))
    lake.put("drops/sales/2026-11-02.jsonl.gz", gzip.compress("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"日期": "20261102", "品牌": "极光手机", "销售额": 500, "销量": 5, "投放": 50},
        {"日期": "2026-11-02", "品牌": "lanshan", "销售额": "0", "销量": 0, "投放": 10.5},
    ]).encode("utf-8")))
    res = sales.import_drops(engine, config, lake, DAY, cfg)
    assert res["dates"] == ["2026-11-01", "2026-11-02"] and res["skipped"] == 0
    assert _sales(engine) == {
        (20261101, "aurora"): (2000.5, 20, 300.0), (20261101, "xingchen"): (12000.0, 100, 5000.0),
        (20261102, "aurora"): (500.0, 5, 50.0), (20261102, "lanshan"): (0.0, 0, 10.5)}
    # a re-run (retry, next day's run) loads nothing again
    again = sales.import_drops(engine, config, lake, DAY, cfg)
    assert again["skipped"] == 2 and again["files"] == [] and len(_sales(engine)) == 4
    # a corrected drop restates its days; nothing is counted twice
    lake.put("drops/sales/2026-11-01.csv", _csv(["2026/11/01,极光手机,999,9,99"]))
    sales.import_drops(engine, config, lake, DAY, cfg)
    got = _sales(engine)
    assert got[(20261101, "aurora")] == (999.0, 9, 99.0) and got[(20261101, "xingchen")] == (12000.0, 100, 5000.0)
    with engine.connect() as c:
        files = {r.file_key: r.status for r in c.execute(select(wh.etl_sales_file))}
        batch = c.execute(select(wh.etl_batch).where(wh.etl_batch.c.source_id == "sales")).one()
        goals = dict(c.execute(select(wh.dim_brand.c.brand_id, wh.dim_brand.c.goal)).all())
    assert set(files.values()) == {"loaded"} and len(files) == 2
    assert batch.attempts == 3 and batch.status == "loaded"
    assert goals == {"aurora": "sales", "xingchen": None, "lanshan": "reputation"}
    assert lake.exists(f"docs/gx/sales/{DAY.key}/2026-11-01.csv/index.html")


def test_bad_rows_are_quarantined_and_a_bad_file_is_rejected(config, engine, lake, cfg):
    good = [f"2026/11/{d:02d},极光手机,{d * 100},1,10" for d in range(1, 31)]
    lake.put("drops/sales/a.csv", _csv(good + ["2026/11/05,火星手机,100,1,1"]))  # 1 bad of 31: quarantined
    lake.put("drops/sales/b.csv", _csv(["2026/11/01,极光手机,abc,1,1", "not a date,极光手机,1,1,1"]))  # all bad
    lake.put("drops/sales/c.csv", b"day,brand,sales\n2026-11-01,aurora,1\n")  # drifted columns
    with pytest.raises(BatchRejected, match="sales drop") as info:
        sales.import_drops(engine, config, lake, DAY, cfg)
    assert "b.csv" in str(info.value) and "c.csv" in str(info.value) and "schema drift" in str(info.value)
    got = _sales(engine)
    assert len(got) == 30 and got[(20261105, "aurora")] == (500.0, 1, 10.0)  # a.csv loaded without the bad row
    with engine.connect() as c:
        q = {r.native_id: r for r in c.execute(select(wh.etl_quarantine))}
        files = {r.file_key: r for r in c.execute(select(wh.etl_sales_file))}
    assert q["a.csv#31"].reason == "unknown brand" and q["a.csv#31"].raw_ref == "drops/sales/a.csv#L31"
    assert q["a.csv#31"].stage == "sales"
    assert "a number does not parse" in q["b.csv#1"].reason and "date missing" in q["b.csv#2"].reason
    assert files["drops/sales/b.csv"].status == "rejected" and files["drops/sales/c.csv"].status == "rejected"
    assert q["c.csv#1"].reason.startswith("file rejected: schema drift")
    # rejected files are retried on the next run (the mapping may have been fixed); loaded ones are not
    with pytest.raises(BatchRejected):
        sales.import_drops(engine, config, lake, DAY, cfg)
    with engine.connect() as c:
        assert len(c.execute(select(wh.etl_quarantine)).all()) == len(q)  # no duplicates either


def test_kpi_mart_joins_sales_to_social_figures(config, engine, lake, cfg):
    from datetime import UTC, datetime

    at = datetime(2026, 11, 1, 3, tzinfo=UTC)
    load_rows(config, engine, lake, DAY, [
        mention(config, DAY, str(i), at, {"aurora": ["极光"]}, label="positive" if i < 3 else "negative",
                author=f"a{i}", followers=100) for i in range(4)])
    lake.put("drops/sales/x.csv", _csv(["2026/11/01,极光手机,4000,40,200", "2026/11/03,极光手机,10,1,0"]))
    sales.import_drops(engine, config, lake, DAY, cfg)
    wh.build_marts(engine)
    with engine.connect() as c:
        k = {r.date_key: r for r in c.execute(select(wh.mart_brand_kpi).where(wh.mart_brand_kpi.c.brand_id == "aurora"))}
    d1 = k[20261101]
    assert (d1.goal, d1.mentions, d1.reach, d1.sales_amount, d1.spend) == ("sales", 4, 400, 4000.0, 200.0)
    assert d1.net_sentiment == pytest.approx(0.5) and d1.kpi_2_value == pytest.approx(0.5)
    assert d1.sales_per_mention == pytest.approx(1000.0) and d1.kpi_1_per_spend == pytest.approx(4 / 200)
    assert d1.spend_per_1k_reach == pytest.approx(200 * 1000 / 400)
    assert k[20261103].mentions == 0 and k[20261103].sales_amount == 10.0  # sales without mentions are kept


def test_no_config_means_no_sales(config, engine, lake, monkeypatch, tmp_path):
    monkeypatch.setenv("LISTENING_SALES_CONFIG", str(tmp_path / "missing.yaml"))
    assert sales.import_drops(engine, config, lake, DAY) == {"files": [], "dates": [], "skipped": 0}


@pytest.mark.parametrize("text,problem", [
    ("columns: {brand: b, sales_amount: s}", "columns.date: is required"),
    ("columns: {date: d, brand: b}", "map at least one of"),
    ("columns: {date: d, brand: b, spend: s}\ngoals: {aurora: fame}", "goals.aurora: 'fame' is not one of"),
    ("columns: {date: d, brand: b, spend: s}\ngoals: {nobody: sales}", "goals.nobody: not a configured brand"),
    ("colums: {}", "colums: unknown key"),
])
def test_config_errors_name_the_key(tmp_path, config, text, problem):
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        sales.load_sales_config(p, config)


def test_numbers_and_days():
    assert sales.parse_number("¥1,234.5") == 1234.5 and sales.parse_number("1.2万") == 12000.0
    assert sales.parse_number("") is None and sales.parse_number(3) == 3.0
    with pytest.raises(ValueError):
        sales.parse_number("abc")
    assert str(sales.parse_day("2026/11/01")) == "2026-11-01" and sales.parse_day("11/01/2026") is None
