"""The lake: local folder and S3 (against moto's real S3 server on 127.0.0.1)."""

from __future__ import annotations

import pytest

from listening.core.model import Window
from listening.lake import LocalLake, S3Lake, open_lake, raw_key

W = Window.parse("2026-11-01T16:00:00Z", "2026-11-01T17:00:00Z")


def test_raw_key_layout():
    assert raw_key("weibo", W) == "raw/source=weibo/date=2026-11-01/hour=16/20261101T1600Z_20261101T1700Z.jsonl.gz"


def _exercise(lake):
    k = raw_key("weibo", W)
    lake.put_jsonl(k, [{"a": 1, "t": "中文"}, {"a": 2}])
    assert lake.get_jsonl(k) == [{"a": 1, "t": "中文"}, {"a": 2}]
    assert lake.exists(k)
    other = raw_key("rss", W)
    lake.put_jsonl(other, [{"b": 1}])
    lake.put_jsonl(k, [{"a": 3}])  # re-running an interval overwrites its own object and nothing else
    assert lake.get_jsonl(k) == [{"a": 3}]
    assert lake.get_jsonl(other) == [{"b": 1}]
    assert lake.list("raw/source=weibo/") == [k]
    with pytest.raises(FileNotFoundError, match="lake object not found"):
        lake.get("raw/nope.jsonl.gz")
    # same records, same bytes (gzip mtime fixed)
    assert lake.get(k) == lake.get(k)


def test_local_lake(tmp_path):
    lake = open_lake(str(tmp_path / "lake"))
    assert isinstance(lake, LocalLake)
    _exercise(lake)
    with pytest.raises(ValueError, match="escapes"):
        lake.put("../outside", b"x")


def test_s3_lake(moto_s3):
    import boto3

    boto3.client("s3", **moto_s3).create_bucket(Bucket="lake-bucket")
    lake = open_lake("s3://lake-bucket/listening", moto_s3)
    assert isinstance(lake, S3Lake) and lake.prefix == "listening"
    _exercise(lake)
    keys = [o["Key"] for o in boto3.client("s3", **moto_s3).list_objects_v2(Bucket="lake-bucket")["Contents"]]
    assert all(k.startswith("listening/raw/") for k in keys)
