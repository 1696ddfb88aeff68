"""Done means: recorded responses of shapes the project has never seen (tests/fixtures/sources/weibo_unseen,
other ids, users, texts and brands than the demo) are crawled by the real ``listening crawl --base-url``
console script over real HTTP on 127.0.0.1, with faults (truncated JSON, 429 + Retry-After, 500, a
timeout, a 503), and parsed correctly: counts, every created_at form, long text, retweet links, brand
matches; the capped day is split into hours and the hour that stays capped is reported; retries neither
lose nor duplicate a mention; comments carry their post and owned-account flags; ``listening parse`` of
the raw lake files gives the same lines."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.net import StaticServer
from support.paths import FIXTURES

FIX = FIXTURES / "sources"
UNSEEN = FIX / "weibo_unseen"
CONFIG = UNSEEN / "brands.yaml"
LISTENING = Path(sys.executable).with_name("listening")
SH = ZoneInfo("Asia/Shanghai")
START, END = "2025-03-10T16:00:00Z", "2025-03-11T16:00:00Z"  # the local day 2025-03-11


def crawl(base_url: str, source: str, out: Path, lake: Path) -> tuple[int, dict, str]:
    r = subprocess.run([str(LISTENING), "--config", str(CONFIG), "crawl", "--source", source, "--start", START,
                        "--end", END, "--base-url", base_url, "--out", str(out), "--lake", str(lake)],
                       capture_output=True, text=True, timeout=120)
    lines = [x for x in r.stdout.splitlines() if x.strip()]
    assert len(lines) == 1, r.stdout + r.stderr  # exactly one JSON summary on stdout
    return r.returncode, json.loads(lines[0]), r.stderr


def mentions(out: Path) -> dict[str, dict]:
    rows = [json.loads(x) for x in (out / "mentions.jsonl").read_text(encoding="utf-8").splitlines()]
    ids = [r["native_id"] for r in rows]
    assert len(ids) == len(set(ids)), "a mention is duplicated"
    return {r["native_id"]: r for r in rows}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Crawl search then comments with the fault routes active; again on a fresh server for comparison."""
    tmp = tmp_path_factory.mktemp("unseen")
    with StaticServer(UNSEEN) as server:
        rc, summary, err = crawl(server.base_url, "wb", tmp / "wb", tmp / "lake")
        crc, csummary, cerr = crawl(server.base_url, "wb_comments", tmp / "comments", tmp / "lake")
        requests = list(server.requests)
        headers = list(server.headers_seen)
    return {"tmp": tmp, "rc": rc, "summary": summary, "stderr": err, "crc": crc, "csummary": csummary,
            "cstderr": cerr, "requests": requests, "headers": headers}


def test_summary_shape_and_faults_survived(run):
    s = run["summary"]
    assert run["rc"] == 0, run["stderr"]
    assert {"source", "fetched", "parsed", "matched", "pages", "coverage", "errors"} <= set(s)
    assert s["source"] == "wb" and s["parsed"] == 18 and s["matched"] == 16
    statuses = [st for p, st in run["requests"] if "getIndex" in p]
    assert 429 in statuses and 500 in statuses  # the faults were served ...
    assert any("extend" in p for p, st in run["requests"] if st == 200)
    # ... and retried: the truncated page 1 is in the lake, superseded, and did not fail the slice
    raw = [json.loads(x) for x in gzip.decompress((run["tmp"] / "lake" / s["raw_key"]).read_bytes()).splitlines()]
    bad = [r for r in raw if r["meta"].get("superseded")]
    assert len(bad) == 1 and "invalid JSON" in bad[0]["meta"]["superseded"]
    assert all(r["attempts"] >= 1 for r in raw)
    assert max(r["attempts"] for r in raw if r["purpose"] == "longtext") == 2  # the timeout was retried


def test_capped_day_is_split_and_the_capped_hour_reported(run):
    cov = run["summary"]["coverage"]
    day = [c for c in cov if c["query"] == "云雀" and c["status"] == "split"]
    assert len(day) == 1 and "max_pages 3" in day[0]["detail"] and "split into 24" in day[0]["detail"]
    hours = [c for c in cov if c["query"] == "云雀" and c["status"] != "split"]
    assert len(hours) == 24
    capped = [c for c in hours if c["status"] == "capped"]
    assert [(c["start"], c["end"]) for c in capped] == [("2025-03-11T06:00:00Z", "2025-03-11T07:00:00Z")]
    assert "finest time scope" in capped[0]["detail"]
    assert run["summary"]["status"] == "capped"
    assert any("capped" in e for e in run["summary"]["errors"])
    qinghe = [c for c in cov if c["query"] == "青禾"]
    assert [c["status"] for c in qinghe] == ["complete"] and qinghe[0]["pages"] == 3
    long = [c for c in cov if c["query"] == "(long text)"]
    assert long and long[0]["status"] == "partial" and "4879000000000109" in long[0]["detail"]


def _fetched_at(run) -> datetime:
    raw = [json.loads(x) for x in gzip.decompress(
        (run["tmp"] / "lake" / run["summary"]["raw_key"]).read_bytes()).splitlines()]
    page1 = [r for r in raw if r["purpose"] == "search" and r["meta"]["keyword"] == "青禾" and r["meta"]["page"] == 1
             and not r["meta"].get("superseded")]
    return datetime.fromisoformat(page1[0]["fetched_at"].replace("Z", "+00:00"))


def _local(*a) -> str:
    return datetime(*a, tzinfo=SH).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_times_in_every_form(run):
    m = mentions(run["tmp"] / "wb")
    f = _fetched_at(run)
    f_local = f.astimezone(SH)
    assert m["4879000000000101"]["published_at"] == _local(2025, 3, 11, 9, 15, 2)
    assert m["4879000000000102"]["published_at"] == _iso(f)  # 刚刚
    y = (f_local - timedelta(days=1)).date()
    assert m["4879000000000105"]["published_at"] == _local(y.year, y.month, y.day, 12, 30)  # 昨天 12:30
    jan5 = datetime(f_local.year, 1, 5, tzinfo=SH)
    if jan5 > f + timedelta(days=1):
        jan5 = jan5.replace(year=f_local.year - 1)
    assert m["4879000000000106"]["published_at"] == _iso(jan5)  # 01-05
    assert m["4879000000000107"]["published_at"] == _local(2023, 1, 5)  # 2023-01-05
    assert m["4879000000000108"]["published_at"] == _local(2025, 3, 11, 22, 40)  # 2025-03-11 22:40
    # a date-only form for the day searched: its time is unknown, the slice it was found in bounds it
    assert m["4879000000000110"]["published_at"] == START
    # 5分钟前 / 3小时前 are resolved against the fetch of their own page (page 1)
    p104 = datetime.fromisoformat(m["4879000000000104"]["published_at"].replace("Z", "+00:00"))
    assert abs((f - timedelta(hours=3)) - p104) < timedelta(seconds=30)
    assert all(x["published_at"].endswith("Z") for x in m.values())


def test_counts_users_long_text_retweets(run):
    m = mentions(run["tmp"] / "wb")
    a = m["4879000000000101"]
    assert (a["reposts"], a["comments"], a["likes"]) == (10000, 32000, 128000)  # 1万+, 3.2万, 12.8万
    assert a["author_followers"] == 125000 and a["author_name"] == "数码小青" and a["author_id"] == "6602214871"
    assert a["author_verified"] is True and a["author_verified_type"] == 0
    assert a["text"] == "青禾X2 的拍照真不错，夜景比上一代强太多了[赞]"
    e = m["4879000000000108"]
    assert (e["reposts"], e["comments"], e["likes"], e["author_followers"]) == (1_000_000, 1234, 100_000_000, 523)
    b = m["4879000000000102"]
    assert (b["comments"], b["likes"]) == (0, 0)  # "评论" / "赞" are the site's zero labels
    long = m["4879000000000104"]
    assert "两天一充" in long["text"] and "全文" not in long["text"] and long["truncated"] is False
    gone = m["4879000000000109"]
    assert gone["truncated"] is True and gone["text"].endswith("...") and "全文" not in gone["text"]
    rt = m["4879000000000105"]
    assert rt["retweet_of"] == "4879000000000090" and rt["url"] == "https://m.weibo.cn/detail/4879000000000105"
    assert rt["brands"] == ["qinghe"]  # the repost says only "转发微博": it matches through its original
    assert "4879000000000090" not in m  # the original is a link, not a mention of this window


def test_brand_matching(run):
    m = mentions(run["tmp"] / "wb")
    assert "4879000000000103" not in m  # 青禾大米: excluded by NOT
    assert "4879000000000202" not in m  # 云雀 ... 耳机 too far apart for NEAR/6
    assert m["4879000000000102"]["brands"] == ["qinghe"]  # Traditional 青禾手機
    assert m["4879000000000106"]["brands"] == ["qinghe", "yunque"]  # one mention, two brands
    assert m["4879000000000106"]["matched_terms"]["yunque"] == ["云雀", "耳机"]
    assert m["4879000000000108"]["matched_terms"]["qinghe"] == ["qinghe"]  # "Qinghe" as a whole word
    assert m["4879000000000203"]["matched_terms"]["yunque"] == ["Yunque Buds"]
    assert m["4879000000000204"]["matched_terms"]["yunque"] == ["云雀pods*"]
    assert {k for k, v in m.items() if "yunque" in v["brands"]} == {
        "4879000000000106", "4879000000000201", "4879000000000203", "4879000000000204", "4879000000000205",
        "4879000000000206", "4879000000000207", "4879000000000208"}


def test_retries_neither_lose_nor_duplicate(run, tmp_path):
    """The same crawl on a server without the faults gives the same mentions."""
    spec = json.loads((UNSEEN / "routes.json").read_text(encoding="utf-8"))
    spec["routes"] = [r for r in spec["routes"] if "times" not in r]
    clean = tmp_path / "clean"
    clean.mkdir()
    for f in UNSEEN.glob("*.json"):
        (clean / f.name).write_bytes(f.read_bytes())
    (clean / "routes.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with StaticServer(clean) as server:
        rc, summary, err = crawl(server.base_url, "wb", tmp_path / "out", tmp_path / "lake")
    assert rc == 0, err
    assert all(st == 200 for _p, st in server.requests)
    faulty, calm = mentions(run["tmp"] / "wb"), mentions(tmp_path / "out")
    assert set(faulty) == set(calm)
    stable = ("text", "brands", "reposts", "comments", "likes", "retweet_of", "truncated", "author_followers")
    for k in faulty:
        assert {f: faulty[k][f] for f in stable} == {f: calm[k][f] for f in stable}, k
    assert summary["parsed"] == run["summary"]["parsed"] and summary["matched"] == run["summary"]["matched"]


def test_connection_cookies_are_sent_but_never_stored_or_printed(tmp_path, monkeypatch):
    cfg = CONFIG.read_text(encoding="utf-8").replace(
        "    kind: weibo_search\n    base_url: https://m.weibo.cn\n",
        "    kind: weibo_search\n    base_url: https://m.weibo.cn\n    connection: wb_login\n")
    (tmp_path / "brands.yaml").write_text(cfg, encoding="utf-8")
    args = [str(LISTENING), "--config", str(tmp_path / "brands.yaml"), "crawl", "--source", "wb", "--start", START,
            "--end", END, "--out", str(tmp_path / "out")]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "wb_login" in r.stderr  # a named connection that does not exist is an error
    monkeypatch.setenv("AIRFLOW_CONN_WB_LOGIN", json.dumps({"conn_type": "http", "extra": {
        "headers": {"Authorization": "Bearer s3cr3t-token"}, "cookies": "SUB=c00kie-value; SUBP=other"}}))
    with StaticServer(UNSEEN) as server:
        r = subprocess.run(args + ["--base-url", server.base_url + "/"], capture_output=True, text=True,
                           timeout=120)
        seen = list(server.headers_seen)
    assert r.returncode == 0, r.stderr
    assert all(h.get("authorization") == "Bearer s3cr3t-token" for h in seen)
    assert all("SUB=c00kie-value" in h.get("cookie", "") for h in seen)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    stored += b"".join(gzip.decompress(p.read_bytes()) for p in (tmp_path / "out").rglob("*.gz"))
    for secret in ("s3cr3t", "c00kie"):
        assert secret not in r.stdout and secret not in r.stderr
        assert secret.encode() not in stored


def test_comments_with_owned_replies(run):
    assert run["crc"] == 0, run["cstderr"]
    s = run["csummary"]
    assert s["source"] == "wb_comments" and s["out_of_window"] == 1  # "5分钟前" is not in 2025-03-11
    cov = {c["query"]: c for c in s["coverage"]}
    assert cov["comments of 4879000000000101"]["status"] == "complete"
    assert cov["comments of 4879000000000101"]["pages"] == 2  # max_id pagination until 0 (after a 503)
    posts = cov["(posts from wb)"]
    assert posts["status"] == "partial" and "no raw/source=wb objects" in posts["detail"]  # lookback gap shown
    c = mentions(run["tmp"] / "comments")
    assert set(c) == {"4879000000000351", "4879000000000352", "4879000000000353", "4879000000000361"}
    own = c["4879000000000353"]
    assert own["owned_account"] is True and own["owned_brand"] == "qinghe" and own["author_name"] == "青禾手机官方"
    assert own["status_id"] == "4879000000000101" and own["brands"] == ["qinghe"]
    reply = c["4879000000000361"]
    assert reply["reply_to"] == "4879000000000353" and reply["text"] == "回复@青禾手机官方:谢谢，已经收到新机了"
    first = c["4879000000000351"]
    assert first["like_count"] == 11000 and first["likes"] == 11000 and first["owned_account"] is False
    assert first["published_at"] == _local(2025, 3, 11, 10, 2, 11)
    assert first["author_followers"] == 433


def test_parse_reproduces_the_crawl_output(run):
    raw_key = run["summary"]["raw_key"]
    r = subprocess.run([str(LISTENING), "--config", str(CONFIG), "parse", "--source", "wb", "--lake",
                        str(run["tmp"] / "lake"), raw_key], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "4879000000000109" in r.stderr  # the long text that could not be completed is reported
    parsed = [json.loads(x) for x in r.stdout.splitlines()]
    crawled = [json.loads(x) for x in (run["tmp"] / "wb" / "mentions.jsonl").read_text().splitlines()]
    assert parsed == crawled


def test_unknown_source_and_bad_window_are_usage_errors():
    r = subprocess.run([str(LISTENING), "--config", str(CONFIG), "crawl", "--source", "nope", "--start", START,
                        "--end", END], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown source" in r.stderr
    r = subprocess.run([str(LISTENING), "--config", str(CONFIG), "crawl", "--source", "wb", "--start", END,
                        "--end", START], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "must be after" in r.stderr
