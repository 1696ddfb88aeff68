#!/usr/bin/env python
"""Speed of the warehouse load path (``listening.warehouse.load``) on SQLite and PostgreSQL.

Generates ``--rows`` synthetic validated mentions (default 200,000; about 1.25 brand links
each, one author per 10 mentions), then for each warehouse:

1. ``prepare`` shapes the rows (Python only, the same for every dialect);
2. ``write``: the load transaction of :func:`listening.warehouse.load.write_batch` (dimensions, authors
   merge, fact merge, bridge replace, quarantine, audit rows) on an empty warehouse -- on
   PostgreSQL ``COPY`` into TEMP staging tables then ``INSERT ... ON CONFLICT``; on SQLite
   ``executemany`` upserts;
3. ``rewrite``: the same batch again (every row conflicts: the re-run / retry case);
4. the reconciliation queries of the ``loaded`` gate, inside the transaction (timed apart; the
   GX run itself is not timed here).

It prints mentions/s (``--rows`` / seconds of the transaction, commit included) and all rows
written per second (facts + bridges + authors), and checks the counts.

    .venv/bin/python bench/bench_load.py                       # SQLite + PostgreSQL (LISTENING_TEST_PG_URL)
    .venv/bin/python bench/bench_load.py --rows 50000 --only postgresql --pg-url postgresql://u@host/db

PostgreSQL: a throwaway database is created on the server of ``--pg-url`` (default
``LISTENING_TEST_PG_URL`` or postgres@127.0.0.1:5432) and dropped afterwards.
Exit status 1 when a count is wrong, or with ``--min-pg-rate R`` when PostgreSQL is slower than R mentions/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LISTENING_HOME", str(ROOT))

PG_DEFAULT = os.environ.get("LISTENING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def synthetic_rows(n: int, window_start: datetime, seed: int = 5) -> list[dict]:
    """Rows shaped like ``warehouse.load.fact_row`` output (what the validated lake file holds)."""
    rnd = random.Random(seed)
    brands = ["aurora", "xingchen", "lanshan"]
    words = ["极光", "星辰", "蓝山", "手机", "电池", "续航", "屏幕", "拍照", "系统", "售后", "发热", "满意", "失望", "推荐"]
    rows = []
    n_auth = max(1, n // 10)
    for i in range(n):
        pub = window_start + timedelta(seconds=rnd.randrange(86400))
        a = rnd.randrange(n_auth)
        followers = int(rnd.paretovariate(1.2) * 100)
        text = "".join(rnd.choice(words) for _ in range(rnd.randrange(8, 30)))
        brs = rnd.sample(brands, 2) if rnd.random() < 0.25 else [rnd.choice(brands)]
        s = rnd.random()
        rows.append({
            "mention_id": f"weibo:{9_000_000_000_000_000 + i}", "source_id": "weibo",
            "native_id": str(9_000_000_000_000_000 + i), "url": f"https://m.weibo.cn/detail/{i}", "title": None,
            "text": text, "clean_text": text, "published_at": pub.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "published_ts": pub.timestamp(), "date_key": int(pub.strftime("%Y%m%d")), "hour_local": pub.hour,
            "author_key": f"weibo:{a}", "author_id": str(a), "author_name": f"user{a}",
            "author_followers": followers, "author_verified": a % 7 == 0, "author_verified_type": -1,
            "reposts": rnd.randrange(100), "comments": rnd.randrange(50), "likes": rnd.randrange(500),
            "engagement": 0, "reach": followers, "is_repost": False, "retweet_of": None, "is_spam": s < 0.03,
            "truncated": False, "content_hash": f"{i:032x}", "story_id": f"{i // 3:032x}", "sentiment": s,
            "sentiment_label": "negative" if s < 0.3 else "positive" if s >= 0.7 else "neutral",
            "model_version": "bench", "interval_key": "", "raw_ref": "raw/bench.jsonl.gz",
            "brands": {b: [b] for b in brs},
        })
        rows[-1]["engagement"] = rows[-1]["reposts"] + rows[-1]["comments"] + rows[-1]["likes"]
    return rows


def run_one(label: str, url: str, rows: list[dict]) -> dict:
    from sqlalchemy import func, select

    from listening import warehouse as wh
    from listening.config import load_config
    from listening.core.model import Window
    from listening.lake import LocalLake
    from listening.warehouse import load as loader

    config = load_config(ROOT / "include" / "brands.yaml")
    window = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    for r in rows:
        r["interval_key"] = window.key
    lake = LocalLake(tempfile.mkdtemp(prefix="bench-lake-"))  # stays empty: only the docs of a GX run would go there
    crawls = [{"source": "weibo", "status": "complete", "fetched": 1, "raw_key": None, "errors": [],
               "coverage": [], "cursor": {}}]
    engine = wh.get_engine(url)
    wh.upgrade(engine)
    out: dict = {"label": label}
    t = time.perf_counter()
    batch = loader.prepare(config, window, crawls, {"per_source": {}}, None, lake, rows=rows)
    out["prepare"] = time.perf_counter() - t
    for step in ("write", "rewrite"):
        batch.now = wh.now_utc()
        batch.facts = [f[:-1] + (batch.now,) for f in batch.facts]  # loaded_at is the last column
        t = time.perf_counter()
        with engine.begin() as conn:
            loader.write_batch(conn, config, batch)
            t_rec = time.perf_counter()
            rec = loader.reconcile_rows(conn, batch)
            out["reconcile"] = time.perf_counter() - t_rec
        out[step] = time.perf_counter() - t - out["reconcile"]
    with engine.connect() as conn:
        out["facts"] = conn.execute(select(func.count()).select_from(wh.fct_mention)).scalar_one()
        out["bridges"] = conn.execute(select(func.count()).select_from(wh.bridge_mention_brand)).scalar_one()
        out["authors"] = conn.execute(select(func.count()).select_from(wh.dim_author)).scalar_one()
    out["ok"] = (out["facts"] == len(batch.facts) and out["bridges"] == len(batch.bridges)
                 and out["authors"] == len(batch.authors) and rec[0]["warehouse_loaded"] == len(batch.facts)
                 and rec[0]["warehouse_brand_links"] == len(batch.bridges))
    engine.dispose()
    os.rmdir(lake.root)
    return out


def report(res: dict, n: int) -> None:
    total = res["facts"] + res["bridges"] + res["authors"]
    print(f"{res['label']:<11} prepare {res['prepare']:6.2f} s | "
          f"write {res['write']:6.2f} s = {n / res['write']:>9,.0f} mentions/s ({total / res['write']:>9,.0f} rows/s) | "
          f"rewrite {res['rewrite']:6.2f} s = {n / res['rewrite']:>9,.0f} mentions/s | "
          f"reconcile {res['reconcile']:5.2f} s | facts {res['facts']:,} bridges {res['bridges']:,} "
          f"authors {res['authors']:,} {'OK' if res['ok'] else 'COUNTS WRONG'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", default=PG_DEFAULT, help="a server to create a throwaway database on")
    ap.add_argument("--min-pg-rate", type=float, default=0.0, help="fail below this many mentions/s on PostgreSQL")
    args = ap.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t = time.perf_counter()
    rows = synthetic_rows(args.rows, datetime(2026, 11, 1, tzinfo=UTC))
    print(f"{len(rows):,} synthetic mentions generated in {time.perf_counter() - t:.1f} s")
    ok = True
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as d:
            res = run_one("sqlite", f"sqlite:///{d}/wh.db", rows)
            report(res, len(rows))
            ok &= res["ok"]
    if args.only in (None, "postgresql"):
        from sqlalchemy import create_engine, text

        from listening.warehouse import normalise_url

        admin = create_engine(normalise_url(args.pg_url), isolation_level="AUTOCOMMIT")
        name = f"listening_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001 - say why and go on
            print(f"postgresql  skipped: cannot create a database at {args.pg_url}: {type(exc).__name__}: {exc}")
            return 0 if ok else 1
        try:
            res = run_one("postgresql", normalise_url(args.pg_url).rsplit("/", 1)[0] + "/" + name, rows)
            report(res, len(rows))
            ok &= res["ok"]
            if args.min_pg_rate and len(rows) / res["write"] < args.min_pg_rate:
                print(f"postgresql load path below {args.min_pg_rate:,.0f} mentions/s")
                ok = False
        finally:
            with admin.connect() as c:
                c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
