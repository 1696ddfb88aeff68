"""The load path (listening.warehouse.load): idempotent merges per dialect, overlapping intervals, retries,
a load killed half-way, the reconciliation gate, interactions.

The row and load helpers (``mention``, ``load_rows``) are in support/warehouse.py, the ``engine`` and
``lake`` fixtures in tests/conftest.py: the marts, sales and quality-gate tests use them too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from support.paths import ROOT, TESTS
from support.warehouse import DAY, HOUR, load_rows, mention

from listening import warehouse as wh
from listening.core.model import Window
from listening.lake import LocalLake
from listening.quality import BatchRejected
from listening.warehouse import load as loader


# ---- helpers ---------------------------------------------------------------------------------------------
def snapshot(engine) -> dict[str, list]:
    """Every row of every table, sorted (the warehouse 'as it was')."""
    out = {}
    with engine.connect() as c:
        for name, t in wh.metadata.tables.items():
            out[name] = sorted(tuple(str(v) for v in r) for r in c.execute(select(t)))
    return out


def counts(engine, tables=None) -> dict[str, int]:
    c = wh.table_counts(engine)
    return {k: v for k, v in c.items() if tables is None or k in tables}


def _t(h: int, m: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


# ---- tests -----------------------------------------------------------------------------------------------
FACTS = ("fct_mention", "bridge_mention_brand", "dim_author", "dim_date", "etl_quarantine")


def test_reruns_retries_and_overlapping_intervals_never_duplicate(config, engine, lake):
    rows = [mention(config, HOUR, "1", _t(0, 5), {"aurora": ["极光"]}, author="a1", followers=10),
            mention(config, HOUR, "2", _t(0, 10), {"aurora": ["极光"], "xingchen": ["星辰"]}, author="a2"),
            mention(config, HOUR, "3", _t(0, 20), {"lanshan": ["蓝山"]}, author="a1", followers=20)]
    bad = mention(config, HOUR, "4", _t(0, 30), {"aurora": ["极光"]})
    res = load_rows(config, engine, lake, HOUR, rows, quarantined=[(bad, "unknown source")])
    assert res["loaded"] == 3 and res["brand_links"] == 4 and res["quarantined"] == 1
    assert {r["expectation"] for r in res["reconciled"]} >= {"audit loaded = fct_mention rows of the batch"}
    first = counts(engine, FACTS)
    assert first == {"fct_mention": 3, "bridge_mention_brand": 4, "dim_author": 2, "dim_date": 1,
                     "etl_quarantine": 1}
    load_rows(config, engine, lake, HOUR, rows, quarantined=[(bad, "unknown source")])  # a re-run / retry
    assert counts(engine, FACTS) == first
    # an overlapping backfill: the whole local day, the same mentions plus one, the bad one now valid
    day_rows = [mention(config, DAY, r["native_id"], datetime.fromisoformat(r["published_at"].replace("Z", "+00:00")),
                        r["brands"], author=r["author_id"], followers=r["author_followers"]) for r in rows]
    day_rows.append(mention(config, DAY, "4", _t(0, 30), {"aurora": ["极光"]}, author="a3"))
    load_rows(config, engine, lake, DAY, day_rows)
    after = counts(engine, FACTS)
    assert after == {"fct_mention": 4, "bridge_mention_brand": 5, "dim_author": 3, "dim_date": 1,
                     "etl_quarantine": 0}  # #4 loads now: no longer quarantined
    with engine.connect() as c:
        assert c.execute(select(func.count(func.distinct(wh.fct_mention.c.mention_id)))).scalar_one() == 4
        batches = {(r.interval_key, r.attempts, r.loaded, r.brand_links)
                   for r in c.execute(select(wh.etl_batch))}
        a1 = c.execute(select(wh.dim_author).where(wh.dim_author.c.author_key == "weibo:a1")).one()
    assert batches == {(HOUR.key, 2, 3, 4), (DAY.key, 1, 4, 5)}
    # authors: first seen keeps the earliest post, the rest follows the latest
    assert wh.model_utc(a1.first_seen_at) == _t(0, 5) and wh.model_utc(a1.last_seen_at) == _t(0, 20)
    assert a1.followers == 20
    load_rows(config, engine, lake, DAY, day_rows)  # and the backfill again
    assert counts(engine, FACTS) == after


def test_portable_path_gives_the_same_warehouse(config, tmp_path, lake, monkeypatch):
    """The dialect-neutral path (other warehouses) writes what the SQLite bulk path writes."""
    rows = [mention(config, HOUR, str(i), _t(0, i), {"aurora": ["极光"]}, author=f"a{i % 3}", followers=i)
            for i in range(1, 30)]
    fast = wh.get_engine(f"sqlite:///{tmp_path / 'fast.db'}")
    load_rows(config, fast, lake, HOUR, rows)
    load_rows(config, fast, lake, HOUR, rows)
    monkeypatch.setenv("LISTENING_LOAD_PATH", "portable")
    portable = wh.get_engine(f"sqlite:///{tmp_path / 'portable.db'}")
    load_rows(config, portable, lake, HOUR, rows)
    load_rows(config, portable, lake, HOUR, rows)

    def facts(e):
        with e.connect() as c:
            f = sorted((r.mention_id, r.reach, r.sentiment_label) for r in c.execute(select(wh.fct_mention)))
            a = sorted((r.author_key, r.followers, str(r.first_seen_at), str(r.last_seen_at))
                       for r in c.execute(select(wh.dim_author)))
            b = sorted(tuple(r) for r in c.execute(select(wh.bridge_mention_brand)))
        return f, a, b

    assert facts(fast) == facts(portable)


def test_a_changed_row_is_updated_and_an_unchanged_one_is_left_alone(config, engine, lake):
    rows = [mention(config, HOUR, "1", _t(0, 5), {"aurora": ["极光"]}, label="neutral", sentiment=0.5),
            mention(config, HOUR, "2", _t(0, 6), {"aurora": ["极光"]})]
    load_rows(config, engine, lake, HOUR, rows)
    with engine.connect() as c:
        before = dict(c.execute(select(wh.fct_mention.c.mention_id, wh.fct_mention.c.loaded_at)).all())
    rows[0] = mention(config, HOUR, "1", _t(0, 5), {"xingchen": ["星辰"]}, label="negative", sentiment=0.1)
    load_rows(config, engine, lake, HOUR, rows)
    with engine.connect() as c:
        got = {r.mention_id: r for r in c.execute(select(wh.fct_mention))}
        brands = {tuple(r) for r in c.execute(select(wh.bridge_mention_brand.c.mention_id,
                                                     wh.bridge_mention_brand.c.brand_id))}
    assert got["weibo:1"].sentiment_label == "negative" and got["weibo:1"].loaded_at != before["weibo:1"]
    assert got["weibo:2"].loaded_at == before["weibo:2"]  # identical content: not rewritten
    assert brands == {("weibo:1", "xingchen"), ("weibo:2", "aurora")}


def test_reconciliation_failure_rolls_the_load_back(config, engine, lake, monkeypatch):
    rows = [mention(config, HOUR, "1", _t(0, 5), {"aurora": ["极光"]})]
    load_rows(config, engine, lake, HOUR, rows)
    before = snapshot(engine)
    real = loader.reconcile_rows

    def lying(conn, b):
        out = real(conn, b)
        out[0]["warehouse_loaded"] += 1  # as if a row had been counted twice
        return out

    monkeypatch.setattr("listening.pipeline.load.reconcile_rows", lying)  # where the load step calls it
    more = rows + [mention(config, HOUR, "2", _t(0, 6), {"aurora": ["极光"]})]
    with pytest.raises(BatchRejected, match="does not reconcile"):
        load_rows(config, engine, lake, HOUR, more)
    after = snapshot(engine)
    assert after["fct_mention"] == before["fct_mention"] and after["bridge_mention_brand"] == before["bridge_mention_brand"]
    with engine.connect() as c:
        b = c.execute(select(wh.etl_batch)).one()
    assert b.status == "failed" and b.attempts == 2 and "rolled back" in b.errors
    assert lake.exists(f"docs/gx/{HOUR.key}/loaded/index.html")


def test_rejected_batch_records_audit_and_quarantine_only(config, engine, lake):
    rows = [mention(config, HOUR, "1", _t(0, 5), {"aurora": ["极光"]})]
    load_rows(config, engine, lake, HOUR, rows)
    bad = [(mention(config, HOUR, "2", _t(0, 6), {"aurora": ["极光"]}), "batch rejected: schema drift")]
    load_rows(config, engine, lake, HOUR, [], quarantined=bad, status="rejected")
    with engine.connect() as c:
        b = c.execute(select(wh.etl_batch)).one()
        q = c.execute(select(wh.etl_quarantine)).one()
        n = c.execute(select(func.count()).select_from(wh.fct_mention)).scalar_one()
    assert b.status == "rejected" and b.loaded == 0 and b.quarantined == 1 and n == 1
    assert q.native_id == "2" and q.stage == "staged" and q.raw_ref.startswith("raw/")


_KILL_CHILD = """
import json, sys
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[4])
from support.warehouse import HOUR, load_rows, mention
from listening import warehouse as wh
from listening.config import load_config
from listening.lake import LocalLake
config = load_config(sys.argv[3])
rows = [mention(config, HOUR, str(i), datetime(2026, 11, 1, 0, i % 60, tzinfo=UTC),
                {"aurora": ["极光"], "lanshan": ["蓝山"]}, author=f"b{i}", label="negative", sentiment=0.1)
        for i in range(200)]
load_rows(config, wh.get_engine(sys.argv[1]), LocalLake(sys.argv[2]), HOUR, rows)
print("finished")
"""


@pytest.mark.parametrize("step", ["facts", pytest.param("before_commit", marks=pytest.mark.slow)])
def test_a_load_killed_half_way_leaves_the_warehouse_as_it_was(config, engine, tmp_path, step):
    url = engine.url.render_as_string(hide_password=False)
    lake_dir = tmp_path / "lake"
    lake = LocalLake(lake_dir)
    rows = [mention(config, HOUR, str(i), _t(0, i), {"aurora": ["极光"]}, author=f"a{i}") for i in range(5)]
    load_rows(config, engine, lake, HOUR, rows)
    before = snapshot(engine)
    engine.dispose()
    marker = tmp_path / "paused"
    env = {**os.environ, "LISTENING_LOAD_PAUSE_AT": step, "LISTENING_LOAD_PAUSE_MARKER": str(marker),
           "LISTENING_LOAD_PAUSE_SECONDS": "120"}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, url, str(lake_dir),
                             str(ROOT / "include" / "brands.yaml"), str(TESTS)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the load never reached the pause"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)  # mid-transaction: facts (and more) written, not committed
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert marker.read_text() == step
    if engine.dialect.name == "postgresql":
        # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as c:
                n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid()")).scalar_one()
            if n == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert snapshot(engine) == before  # no partial batch
    # and nothing is left locked: the next load of the interval goes through
    more = rows + [mention(config, HOUR, "9", _t(0, 9), {"aurora": ["极光"]})]
    load_rows(config, engine, lake, HOUR, more)
    assert counts(engine, ["fct_mention"]) == {"fct_mention": 6}


def test_interactions_merge_and_flag_owned_replies(config, engine, lake):
    rows = [mention(config, HOUR, "100", _t(0, 5), {"aurora": ["极光"]}, label="negative", sentiment=0.1)]
    load_rows(config, engine, lake, HOUR, rows)
    comments = [
        {"source": "weibo", "native_id": "c1", "status_id": "100", "text": "同问", "published_at": "2026-11-01T00:20:00Z",
         "author_id": "u9", "author_name": "路人", "author_followers": 3, "like_count": 2},
        # the connector flags it ...
        {"source": "weibo", "native_id": "c2", "status_id": "100", "text": "请私信我们",
         "published_at": "2026-11-01T00:35:00Z", "author_id": "o1", "author_name": "极光客服",
         "author_followers": 186000, "like_count": 5, "is_owned_reply": True, "owned_brand": "aurora"},
        # ... or only the account name says it
        {"source": "weibo", "native_id": "c3", "status_id": "100", "text": "已处理", "published_at": "2026-11-01T00:50:00Z",
         "author_id": "o2", "author_name": "极光手机官方", "author_followers": 1, "like_count": 0},
    ]
    res = loader.load_interactions(config, HOUR, comments, engine)
    assert res == {"interval": HOUR.key, "interactions": 3, "replies": 2, "dates": ["2026-11-01"],
                   "mention_dates": ["2026-11-01"]}
    loader.load_interactions(config, HOUR, comments, engine)  # idempotent
    with engine.connect() as c:
        got = {r.native_id: r for r in c.execute(select(wh.fct_interaction))}
    assert len(got) == 3
    assert got["c1"].kind == "comment" and not got["c1"].is_owned_reply and got["c1"].mention_id == "weibo:100"
    assert got["c2"].kind == "owned_reply" and got["c2"].owned_brand == "aurora"
    assert got["c3"].is_owned_reply and got["c3"].owned_brand == "aurora"
    assert got["c1"].date_key == 20261101 and got["c1"].author_key == "weibo:u9"


def test_quarantine_keeps_one_row_per_bad_mention_across_intervals(config, engine, lake):
    bad = mention(config, HOUR, "7", _t(0, 7), {"aurora": ["极光"]})
    load_rows(config, engine, lake, HOUR, [], quarantined=[(bad, "reason one")])
    load_rows(config, engine, lake, DAY, [], quarantined=[(mention(config, DAY, "7", _t(0, 7), {"aurora": ["极光"]}),
                                                          "reason two")])
    with engine.connect() as c:
        q = c.execute(select(wh.etl_quarantine)).all()
    assert [(r.interval_key, r.reason) for r in q] == [(DAY.key, "reason two")]


def test_loaded_rows_carry_json_matched_terms(config, engine, lake):
    rows = [mention(config, HOUR, "1", _t(0, 5), {"aurora": ["极光", "aurora"]})]
    load_rows(config, engine, lake, HOUR, rows)
    with engine.connect() as c:
        terms = c.execute(select(wh.bridge_mention_brand.c.matched_terms)).scalar_one()
    assert json.loads(terms) == ["极光", "aurora"]


def test_window_days_and_dates_returned(config, engine, lake):
    late = _t(16, 30) - timedelta(days=0)  # 00:30 local on 11-02
    w = Window.parse("2026-11-01T16:00:00Z", "2026-11-01T17:00:00Z")
    res = load_rows(config, engine, lake, w, [mention(config, w, "1", late, {"aurora": ["极光"]})])
    assert res["dates"] == ["2026-11-02"]
    with engine.connect() as c:
        assert c.execute(select(wh.fct_mention.c.date_key)).scalar_one() == 20261102
        assert c.execute(select(wh.etl_batch.c.date_key)).scalar_one() == 20261102


def test_fast_bind_processors_match_sqlalchemys(tmp_path):
    """The loader's fast DateTime / Boolean binding on SQLite writes exactly what SQLAlchemy would."""
    from datetime import UTC, date, datetime, timedelta, timezone

    from listening import warehouse as wh
    from listening.warehouse import load as loader

    engine = wh.get_engine(f"sqlite:///{tmp_path / 'f.db'}")
    with engine.connect() as conn:
        table = wh.dim_author
        cols = ["first_seen_at", "verified", "followers", "author_name"]
        fast = loader._bind_processors(conn, table, cols)
        slow = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in cols]
        assert fast[0] is not slow[0] and fast[1] is not slow[1]  # the fast paths are in use
        values = {
            0: [datetime(2026, 11, 1, 12, 0, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, 0, 5),
                datetime(999, 1, 2, 3, 4, 5, 123456), datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
                date(2026, 11, 1), None],
            1: [True, False, None, 1, 0],
        }
        for i, vals in values.items():
            for v in vals:
                want = slow[i](v) if slow[i] else v
                assert fast[i](v) == want, (cols[i], v)
        with pytest.raises((TypeError, ValueError)):
            fast[1]("yes")
        (fast_f,) = loader._bind_processors(conn, wh.fct_mention, ["sentiment"])
        slow_f = wh.fct_mention.c.sentiment.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        for v in (0.25, 1, 0, 1e-300, "0.5"):
            assert fast_f(v) == (slow_f(v) if slow_f else v) and type(fast_f(v)) is type(slow_f(v) if slow_f else v)
        # whole rows, column by column: the same tuples as processing each value
        rows = [(datetime(2026, 11, 1, 12, tzinfo=UTC), True, 5, "a"), (None, None, None, None)]
        assert loader._processed(conn, table, cols, rows) == [
            ("2026-11-01 12:00:00.000000", 1, 5, "a"), (None, None, None, None)]
        assert loader._processed(conn, table, cols, []) == []
