"""Vendor drops (CSV / JSON Lines under a lake prefix, local or S3 against moto's real server):
column mapping, timestamp formats, encodings, malformed rows reported with file and line while the
rest load, per-file coverage, the file index, raw landing and idempotent re-runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.paths import FIXTURES

from listening.config import ConfigError, parse_config
from listening.core.model import Window
from listening.core.settings import Settings
from listening.lake import LocalLake, open_lake, raw_key
from listening.mentions.match import process_mentions
from listening.pipeline.crawl import crawl
from listening.sources.vendor import VendorDrop

SH = ZoneInfo("Asia/Shanghai")
FIX = FIXTURES / "sources"
DAY = Window(datetime(2025, 3, 11, tzinfo=SH), datetime(2025, 3, 12, tzinfo=SH))
BRANDS = (FIX / "weibo_unseen" / "brands.yaml").read_text(encoding="utf-8").split("sources:")[0]
SOURCES = """sources:
  - id: acme
    kind: vendor_drop
    params:
      prefix: {acme}
      format: csv
      columns: {{native_id: post_id, text: content, published_at: pub_time, url: link, author_id: user_id,
                author_name: user_name, author_followers: fans, likes: likes, reposts: shares}}
      timestamp_format: "%Y/%m/%d %H:%M"
      timezone: Asia/Shanghai
  - id: beta
    kind: vendor_drop
    params:
      prefix: {beta}
      columns: {{native_id: id, text: body.text, published_at: ts, author_name: user.name, author_id: user.id,
                author_followers: user.fans, likes: stats.like, reposts: stats.share}}
      timestamp_format: epoch_ms
"""


def config_for(acme: str = "vendor/acme/", beta: str = "vendor/beta/"):
    return parse_config(BRANDS + SOURCES.format(acme=acme, beta=beta), origin="test.yaml")


@pytest.fixture()
def lake(tmp_path):
    """Here the local lake holds the vendor drops of tests/fixtures/sources/vendor (tests/conftest.py's is empty)."""
    shutil.copytree(FIX / "vendor", tmp_path / "lake" / "vendor")
    return LocalLake(tmp_path / "lake")


def settings(lake) -> Settings:
    return Settings(warehouse_url="", lake_url=lake.url)


def parse(config, sid, lake, key):
    src = config.source(sid)
    return VendorDrop(src, config, "", None, lake).parse(lake.get_jsonl(key), DAY)  # type: ignore[arg-type]


def test_csv_mapping_malformed_rows_and_coverage(lake):
    config = config_for()
    summary = crawl(config, "acme", DAY, lake, settings(lake))
    assert summary["raw_key"] == raw_key("acme", DAY) and summary["fetched"] == 1
    [cov] = summary["coverage"]
    assert cov["query"] == "vendor/acme/2025-03-11/posts.csv" and cov["status"] == "partial"
    assert "4 rows, 3 published in the window" in cov["detail"]
    assert "line 5: no published_at" in cov["detail"] and "line 6: published_at '昨天下午'" in cov["detail"]
    assert "line 7: 10 fields, the header has 9" in cov["detail"]
    assert "1 warning(s)" in cov["detail"] and "likes" in cov["detail"]
    assert summary["status"] == "partial"
    result = parse(config, "acme", lake, summary["raw_key"])
    by_id = {m.native_id: m for m in result.mentions}
    assert set(by_id) == {"v-001", "v-002", "v-006", "v-007"}
    a = by_id["v-001"]
    assert a.text == "青禾X2 拍照不错，夜景清楚"  # GBK file, encoding detected
    assert a.published_at == datetime(2025, 3, 11, 0, 15, tzinfo=UTC)
    assert (a.author_id, a.author_name, a.author_followers, a.likes, a.reposts) == ("u1", "小王", 12000, 35, 2)
    assert a.url == "https://vendor.example/p/1" and a.raw_ref.endswith("#L2")
    assert by_id["v-002"].text == "多行的内容\n第二行也提到青禾" and by_id["v-002"].likes == 10000
    assert by_id["v-006"].likes == 0  # "N/A": reported, row kept
    problems = "\n".join(result.problems)
    for line in (5, 6, 7):
        assert f"file vendor/acme/2025-03-11/posts.csv line {line}:" in problems
    # the pipeline keeps what was published in the window and matches brands
    kept, stats = process_mentions(config, result.mentions, DAY, windowed=False)
    assert stats["out_of_window"] == 1 and {m.native_id for m in kept} == {"v-001", "v-002", "v-006"}


def test_jsonl_gz_dotted_columns_epoch_ms(lake):
    config = config_for()
    summary = crawl(config, "beta", DAY, lake, settings(lake))
    [cov] = summary["coverage"]  # README.txt is not a data file
    assert cov["query"] == "vendor/beta/drop-20250311.jsonl.gz" and cov["status"] == "partial"
    assert "line 2: invalid JSON" in cov["detail"] and "line 3: not a JSON object" in cov["detail"]
    assert "line 4: published_at 'not-a-number'" in cov["detail"]
    raw = lake.get_jsonl(summary["raw_key"])
    assert raw[0]["purpose"] == "file" and "body_b64" in raw[0]  # gzip bytes land as they were
    m = {x.native_id: x for x in parse(config, "beta", lake, summary["raw_key"]).mentions}
    assert set(m) == {"9001", "9003", "9004"}
    assert m["9001"].published_at == datetime(2025, 3, 11, 2, 15, tzinfo=UTC)
    assert (m["9001"].author_name, m["9001"].author_followers, m["9001"].likes, m["9001"].reposts) == \
        ("阿明", 3200, 23000, 4)


def test_index_skips_unchanged_files_without_rows_in_the_window(lake):
    config = config_for()
    first = crawl(config, "acme", DAY, lake, settings(lake))
    entry = first["cursor"]["files"]["vendor/acme/2025-03-11/posts.csv"]
    assert entry["min"] == "2025-03-10T04:00:00Z" and entry["max"] == "2025-03-11T15:30:00Z" and entry["bad"] == 3
    later = Window(datetime(2025, 3, 20, tzinfo=SH), datetime(2025, 3, 21, tzinfo=SH))
    second = crawl(config, "acme", later, lake, settings(lake), cursor=first["cursor"])
    assert second["fetched"] == 0
    assert [c["query"] for c in second["coverage"]] == ["(file index)"]
    assert "1 unchanged file(s)" in second["coverage"][0]["detail"]
    assert second["cursor"]["files"] == first["cursor"]["files"]
    # a new version of the file is read again
    p = lake.root / "vendor/acme/2025-03-11/posts.csv"
    p.write_bytes(p.read_bytes() + "v-008,新的一行 青禾,2025/03/20 10:00,https://vendor.example/p/8,u8,小郑,1,1,1\r\n"
                  .encode("gbk"))
    third = crawl(config, "acme", later, lake, settings(lake), cursor=second["cursor"])
    assert third["fetched"] == 1 and "1 published in the window" in third["coverage"][0]["detail"]


def test_rerun_overwrites_its_own_raw_object_only(lake):
    config = config_for()
    a = crawl(config, "acme", DAY, lake, settings(lake))
    b = crawl(config, "beta", DAY, lake, settings(lake))
    before = lake.get(b["raw_key"])
    again = crawl(config, "acme", DAY, lake, settings(lake))
    assert again["raw_key"] == a["raw_key"] and lake.get(b["raw_key"]) == before
    assert lake.list("raw/") == sorted([a["raw_key"], b["raw_key"]])


def test_a_missing_prefix_and_a_local_folder(tmp_path):
    config = config_for(acme=str(FIX / "vendor" / "acme"), beta="vendor/none/")
    lake = LocalLake(tmp_path / "lake")
    s = crawl(config, "acme", DAY, lake, settings(lake))
    assert s["coverage"][0]["query"] == "2025-03-11/posts.csv" and s["fetched"] == 1
    s = crawl(config, "beta", DAY, lake, settings(lake))
    assert s["status"] == "complete" and "no files under vendor/none/" in s["coverage"][0]["detail"]


def test_config_checks_for_vendor_drops():
    bad = BRANDS + "sources:\n  - id: v\n    kind: vendor_drop\n    params: {prefix: x/, columns: {text: c}}\n"
    with pytest.raises(ConfigError, match=r"sources\[0\].params.columns: must map native_id, published_at"):
        parse_config(bad, origin="t.yaml")
    bad = BRANDS + "sources:\n  - id: v\n    kind: vendor_drop\n    params: {prefix: raw/x/, columns: {}}\n"
    with pytest.raises(ConfigError, match="columns"):
        parse_config(bad, origin="t.yaml")
    bad = BRANDS + ("sources:\n  - id: v\n    kind: vendor_drop\n    params: {prefix: raw/x/, columns: "
                    "{native_id: a, text: b, published_at: c}}\n")
    with pytest.raises(ConfigError, match="must not point into"):
        parse_config(bad, origin="t.yaml")
    bad = BRANDS + ("sources:\n  - id: v\n    kind: vendor_drop\n    params: {prefix: x/, format: xlsx, columns: "
                    "{native_id: a, text: b, published_at: c}}\n")
    with pytest.raises(ConfigError, match="expected one of csv, tsv, jsonl"):
        parse_config(bad, origin="t.yaml")


# ---- S3, against moto's real server on 127.0.0.1 ---------------------------------------------------
def test_s3_drops_and_s3_lake(moto_s3):
    import boto3

    s3 = boto3.client("s3", **moto_s3)
    s3.create_bucket(Bucket="drops")
    s3.create_bucket(Bucket="lake")
    for f in (FIX / "vendor").rglob("*"):
        if f.is_file():
            s3.put_object(Bucket="drops", Key=f"incoming/{f.relative_to(FIX / 'vendor').as_posix()}", Body=f.read_bytes())
    s3.put_object(Bucket="lake", Key="listening/raw/source=other/keep.jsonl.gz", Body=b"x")
    lake = open_lake("s3://lake/listening", moto_s3)
    config = config_for(acme="s3://drops/incoming/acme/", beta="s3://drops/incoming/beta/")
    st = Settings(warehouse_url="", lake_url=lake.url)
    a = crawl(config, "acme", DAY, lake, st)
    assert a["raw_key"] == "raw/source=acme/date=2025-03-10/hour=16/20250310T1600Z_20250311T1600Z.jsonl.gz"
    key = "incoming/acme/2025-03-11/posts.csv"
    assert a["coverage"][0]["query"] == key and a["coverage"][0]["status"] == "partial"
    etag = a["cursor"]["files"][key]["sig"]
    assert etag.split(":")[1]  # size + ETag from the listing
    raw = lake.get_jsonl(a["raw_key"])
    assert raw[0]["url"] == "s3://drops/" + key
    m = parse(config, "acme", lake, a["raw_key"]).mentions
    assert {x.native_id for x in m} == {"v-001", "v-002", "v-006", "v-007"}
    b = crawl(config, "beta", DAY, lake, st)
    assert b["status"] == "partial" and b["fetched"] == 1
    # a re-run overwrites its own object and nothing else
    again = crawl(config, "acme", DAY, lake, st)
    assert again["raw_key"] == a["raw_key"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lake")["Contents"])
    assert keys == sorted(["listening/raw/source=other/keep.jsonl.gz", "listening/" + a["raw_key"],
                           "listening/" + b["raw_key"]])


def test_cli_crawl_of_a_vendor_drop(tmp_path):
    shutil.copytree(FIX / "vendor", tmp_path / "lake" / "vendor")
    cfg = tmp_path / "brands.yaml"
    cfg.write_text(BRANDS + SOURCES.format(acme="vendor/acme/", beta="vendor/beta/"), encoding="utf-8")
    r = subprocess.run([str(Path(sys.executable).with_name("listening")), "--config", str(cfg), "crawl",
                        "--source", "acme", "--start", "2025-03-10T16:00:00Z", "--end", "2025-03-11T16:00:00Z",
                        "--lake", str(tmp_path / "lake"), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (s["parsed"], s["matched"], s["out_of_window"]) == (4, 3, 1)
    assert any("line 7" in e for e in s["errors"])
    lines = [json.loads(x) for x in (tmp_path / "out" / "mentions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["native_id"] for x in lines] == ["v-001", "v-002", "v-006"]
    assert all(x["brands"] == ["qinghe"] for x in lines)
