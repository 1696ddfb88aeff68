"""The bulk load of a data interval: its rows, a bulk path per dialect, audit rows, reconciliation counts.

:func:`fact_rows` turns scored mentions into ``fct_mention`` rows (what the staged gate validates);
:func:`prepare` builds the :class:`Batch`; :func:`write_batch` writes it, and the load step
(:func:`listening.pipeline.load.load`) runs it in **one transaction**:

1. ``dim_brand`` / ``dim_source`` (+ competitor and owned-account lists) follow the config, ``dim_date``
   gets the batch's local days, ``dim_author`` is merged (first seen = earliest ever, the rest
   from the latest post);
2. mentions that re-processing dropped (no brand matches any more, now quarantined) leave the facts;
3. ``fct_mention`` is merged on ``mention_id`` (a stored row with identical content is left alone,
   so a re-run rewrites nothing) and the batch's ``bridge_mention_brand`` rows are replaced;
4. ``etl_quarantine`` holds one row per currently-bad mention (a mention that loads is removed);
5. one ``etl_batch`` audit row per source (interval, counts, status, attempts), its ``etl_coverage``
   slices, and the crawl cursor (never moved backwards by a backfill);
6. the ``loaded`` quality gate reconciles what the warehouse now holds for the batch with the audit
   rows (GX suite ``loaded_interval``); a mismatch raises and rolls everything back.

Bulk paths (:func:`bulk_merge`, :func:`bulk_replace`):

* PostgreSQL: psycopg 3 binary ``COPY`` into a ``TEMP`` staging table (``ON COMMIT DROP``), then
  ``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE ... WHERE <changed>`` for the keys already
  stored and a plain ``INSERT ... SELECT ... WHERE NOT EXISTS`` for new keys (no speculative
  insertion: faster); bridges: ``DELETE ... USING`` the staging table, then ``COPY`` straight into
  the table.  Every load takes ``pg_advisory_xact_lock(LOAD_LOCK)``: loads run one at a time.
* SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <changed>`` through the
  DBAPI cursor, values converted by SQLAlchemy's own bind processors (the storage format of Core).
* any other SQLAlchemy dialect (or ``LISTENING_LOAD_PATH=portable``): chunked
  ``DELETE ... WHERE key IN (...)`` then ``executemany`` ``INSERT`` (portable; slower).

Natural keys make every write idempotent: re-running an interval, overlapping backfills and task
retries upsert the same rows.  A load killed half-way leaves nothing: the transaction never commits.

``LISTENING_LOAD_PAUSE_AT=<step>`` (``authors``, ``facts``, ``bridges``, ``before_commit``) makes the
load write the file ``LISTENING_LOAD_PAUSE_MARKER`` and sleep there (``LISTENING_LOAD_PAUSE_SECONDS``,
default 120): the kill-half-way test uses it.  :func:`load_interactions` merges comments and replies
into ``fct_interaction``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, Table, delete, func, select, tuple_
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy import types as sa_types
from sqlalchemy.engine import Connection, Engine

from listening import warehouse as wh
from listening.config import Config
from listening.core.fields import FieldError, parse_count
from listening.core.model import Mention, Window, date_key, iso, key_to_date, parse_iso
from listening.core.perf import batch_stage
from listening.core.settings import load_path_override, load_pause
from listening.lake import Lake, staged_key

log = logging.getLogger(__name__)

_stage_seq = itertools.count()


# ---- the test hook ---------------------------------------------------------------------------------------
def checkpoint(step: str) -> None:
    at, marker, seconds = load_pause()
    if at != step:
        return
    if marker:
        with open(marker, "w", encoding="utf-8") as fh:
            fh.write(step)
    time.sleep(seconds)


# ---- bulk writes per dialect -----------------------------------------------------------------------------
def load_path(conn: Connection) -> str:
    """``postgresql``, ``sqlite`` or ``portable`` (any other dialect, or ``LISTENING_LOAD_PATH=portable``)."""
    name = conn.dialect.name
    if load_path_override() == "portable" or name not in ("postgresql", "sqlite"):
        return "portable"
    return name


#: SQLAlchemy's storage format of DateTime on SQLite (the default, with microseconds)
_SQLITE_DATETIME = ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
                    ".%(microsecond)06d")


def _fast_processor(impl: Any, dialect: Any, proc: Any) -> Any:
    """The same output as SQLAlchemy's bind processor, faster for the common values of a batch.

    SQLite stores a DateTime as the text of ``_SQLITE_DATETIME`` (``isoformat`` gives those
    characters, then the UTC offset, which the format leaves out), a Boolean as 0 / 1 and a
    Float as a float.
    Anything else goes through SQLAlchemy's own processor (checked in tests).
    """
    if proc is None or dialect.name != "sqlite":
        return proc
    if getattr(impl, "_storage_format", None) == _SQLITE_DATETIME:
        last: list[Any] = [None, None]  # a batch repeats one value (loaded_at) in every row

        def fast_datetime(v: Any, _dt: type = datetime) -> Any:
            if v is last[0]:
                return last[1]
            out = v.isoformat(" ", "microseconds")[:26] if type(v) is _dt else proc(v)
            last[0], last[1] = v, out
            return out

        return fast_datetime
    if isinstance(impl, sa_types.Float) and not getattr(impl, "asdecimal", False):
        def fast_float(v: Any, _f: type = float) -> Any:
            return v if type(v) is _f else proc(v)

        return fast_float
    if isinstance(impl, sa_types.Boolean) and not dialect.supports_native_boolean:
        def fast_bool(v: Any) -> Any:
            return 1 if v is True else 0 if v is False else proc(v)

        return fast_bool
    return proc


def _bind_processors(conn: Connection, table: Table, cols: Sequence[str]) -> list[Any]:
    out = []
    for c in cols:
        impl = table.c[c].type.dialect_impl(conn.dialect)
        out.append(_fast_processor(impl, conn.dialect, impl.bind_processor(conn.dialect)))
    return out


def _row_converter(procs: Sequence[Any]) -> Any:
    """One generated function per column layout: ``convert(row) -> tuple`` applying each column's
    processor (None stays None) with no per-row loop over columns (as ``collections.namedtuple``
    generates its code)."""
    parts, ns = [], {}
    for i, p in enumerate(procs):
        if p is None:
            parts.append(f"r[{i}]")
        else:
            ns[f"p{i}"] = p
            parts.append(f"(None if r[{i}] is None else p{i}(r[{i}]))")
    exec(f"def convert(r):\n    return ({', '.join(parts)},)\n", ns)  # noqa: S102 - built from indexes only
    return ns["convert"]


def _processed(conn: Connection, table: Table, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[tuple]:
    procs = _bind_processors(conn, table, cols)
    if not any(procs):
        return [tuple(r) for r in rows]
    return list(map(_row_converter(procs), rows))


_PG_BINARY = {"INTEGER": "int4", "BIGINT": "int8", "SMALLINT": "int2", "BOOLEAN": "bool", "FLOAT": "float8",
              "DOUBLE PRECISION": "float8", "REAL": "float4", "TEXT": "text", "DATE": "date",
              "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP WITHOUT TIME ZONE": "timestamp"}


def _pg_types(conn: Connection, table: Table | None, cols: Sequence[str]) -> list[str] | None:
    """Binary COPY types of the columns, or None when one has no simple binary form (text COPY then)."""
    if table is None:
        return ["text"] * len(cols)
    out = []
    for c in cols:
        name = str(table.c[c].type.compile(conn.dialect)).upper()
        if name.startswith("VARCHAR"):
            name = "TEXT"
        t = _PG_BINARY.get(name)
        if t is None:
            return None
        out.append(t)
    return out


def _pg_copy(conn: Connection, target: str, cols: Sequence[str], rows: Iterable[Sequence[Any]],
             table: Table | None = None) -> None:
    """COPY rows into ``target`` through the transaction's own psycopg connection (binary when possible)."""
    raw = conn.connection.driver_connection
    collist = ", ".join(f'"{c}"' for c in cols)
    types = _pg_types(conn, table, cols)
    fmt = " (FORMAT BINARY)" if types else ""
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({collist}) FROM STDIN{fmt}") as cp:
        if types:
            cp.set_types(types)
        for r in rows:
            cp.write_row(r)


def _pg_stage(conn: Connection, table: Table, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    stg = f"stg_{table.name}_{next(_stage_seq)}"
    conn.exec_driver_sql(f'CREATE TEMP TABLE {stg} (LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP')
    _pg_copy(conn, stg, cols, rows, table)  # (an ANALYZE of it here measured slower overall)
    return stg


def _set_clause(cols: Sequence[str], keys: Sequence[str], set_exprs: dict[str, str] | None,
                target: str, excluded: str) -> str:
    parts = []
    for c in cols:
        if c in keys:
            continue
        expr = (set_exprs or {}).get(c, "{x}." + f'"{c}"')
        parts.append(f'"{c}" = ' + expr.format(t=f'"{target}"', x=excluded))
    return ", ".join(parts)


def _changed(cols: Sequence[str], keys: Sequence[str], ignore: Sequence[str], target: str, excluded: str,
             op: str) -> str:
    cmp = [c for c in cols if c not in keys and c not in ignore]
    left = ", ".join(f'"{target}"."{c}"' for c in cmp)
    right = ", ".join(f'{excluded}."{c}"' for c in cmp)
    return f" WHERE ({left}) {op} ({right})"


def bulk_merge(conn: Connection, table: Table, cols: Sequence[str], rows: list[Sequence[Any]],
               keys: Sequence[str], set_exprs: dict[str, str] | None = None,
               unless_same: Sequence[str] | None = None) -> str | None:
    """Insert ``rows`` (tuples in ``cols`` order) or update the rows with the same ``keys``.

    ``set_exprs`` overrides the update of a column with an SQL expression in ``{t}`` (the row in the
    table) and ``{x}`` (the incoming row), e.g. ``CASE WHEN {x}.a < {t}.a THEN {x}.a ELSE {t}.a END``.
    With ``unless_same`` (columns to ignore in the comparison, e.g. ``loaded_at``), a stored row whose
    other columns already hold the incoming values is left alone: a re-run rewrites nothing.
    Rows must be unique on ``keys``.  On PostgreSQL, returns the TEMP staging table (alive until
    commit) so later statements of the transaction can join it.
    """
    if not rows:
        return None
    name = load_path(conn)
    collist = ", ".join(f'"{c}"' for c in cols)
    keylist = ", ".join(f'"{k}"' for k in keys)
    if name == "postgresql":
        stg = _pg_stage(conn, table, cols, rows)
        sets = _set_clause(cols, keys, set_exprs, table.name, "EXCLUDED")
        action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
        if sets and unless_same is not None:
            action += _changed(cols, keys, unless_same, table.name, "EXCLUDED", "IS DISTINCT FROM")
        match = " AND ".join(f't."{k}" = s."{k}"' for k in keys)
        exists = f'SELECT 1 FROM "{table.name}" t WHERE {match}'
        # keys already stored: the ON CONFLICT merge; new keys: a plain INSERT through an anti-join,
        # which skips the speculative insertion ON CONFLICT does for every row (about 1.5x faster on
        # a first load).  Loads hold LOAD_LOCK, so no other loader can add one of these keys in
        # between; if anything else did, the INSERT fails on the unique key and the batch rolls back.
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({collist}) SELECT {collist} FROM {stg} s '
                             f"WHERE EXISTS ({exists}) ON CONFLICT ({keylist}) {action}")
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({collist}) SELECT {collist} FROM {stg} s '
                             f"WHERE NOT EXISTS ({exists})")
        return stg
    elif name == "sqlite":
        sets = _set_clause(cols, keys, set_exprs, table.name, "excluded")
        action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
        if sets and unless_same is not None:
            action += _changed(cols, keys, unless_same, table.name, "excluded", "IS NOT")
        marks = ", ".join("?" for _ in cols)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({collist}) VALUES ({marks}) '
                             f"ON CONFLICT ({keylist}) {action}", _processed(conn, table, cols, rows))
    else:
        if set_exprs:
            raise ValueError(f"bulk_merge with set_exprs is not supported on {name}")
        _generic_delete(conn, table, keys, [tuple(r[cols.index(k)] for k in keys) for r in rows])
        conn.execute(table.insert(), [dict(zip(cols, r, strict=True)) for r in rows])
    return None


def _generic_delete(conn: Connection, table: Table, keys: Sequence[str], values: list[tuple], chunk: int = 500) -> None:
    if len(keys) == 1:
        col = table.c[keys[0]]
        flat = [v[0] for v in values]
        for i in range(0, len(flat), chunk):
            conn.execute(delete(table).where(col.in_(flat[i:i + chunk])))
    elif conn.dialect.name in ("postgresql", "sqlite"):  # row values: (a, b) IN ((..), ..)
        cols = tuple_(*[table.c[k] for k in keys])
        for i in range(0, len(values), chunk):
            conn.execute(delete(table).where(cols.in_(values[i:i + chunk])))
    else:
        for v in values:
            conn.execute(delete(table).where(*[table.c[k] == x for k, x in zip(keys, v, strict=True)]))


def bulk_replace(conn: Connection, table: Table, parent_col: str, parent_ids: list[str], cols: Sequence[str],
                 rows: list[Sequence[Any]], parent_stage: tuple[str, str] | None = None) -> int:
    """Delete every row of ``table`` whose ``parent_col`` is in ``parent_ids``, then insert ``rows``.

    ``parent_stage`` = (staging table, column) already holding the parent ids (PostgreSQL).
    """
    name = load_path(conn)
    if name == "postgresql":
        if parent_stage:
            stg, col = parent_stage
            conn.exec_driver_sql(f'DELETE FROM "{table.name}" t USING {stg} s WHERE t."{parent_col}" = s."{col}"')
        elif parent_ids:
            ids = f"stg_ids_{next(_stage_seq)}"
            conn.exec_driver_sql(f"CREATE TEMP TABLE {ids} (id text PRIMARY KEY) ON COMMIT DROP")
            _pg_copy(conn, ids, ["id"], ((i,) for i in parent_ids))
            conn.exec_driver_sql(f'DELETE FROM "{table.name}" t USING {ids} s WHERE t."{parent_col}" = s.id')
        if rows:
            _pg_copy(conn, f'"{table.name}"', cols, rows, table)
    elif name == "sqlite":
        if parent_ids:
            conn.exec_driver_sql(f'DELETE FROM "{table.name}" WHERE "{parent_col}" = ?', [(i,) for i in parent_ids])
        if rows:
            marks = ", ".join("?" for _ in cols)
            collist = ", ".join(f'"{c}"' for c in cols)
            conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({collist}) VALUES ({marks})',
                                 _processed(conn, table, cols, rows))
    else:
        _generic_delete(conn, table, [parent_col], [(i,) for i in parent_ids])
        if rows:
            conn.execute(table.insert(), [dict(zip(cols, r, strict=True)) for r in rows])
    return len(rows)


# ---- preparing a batch ----------------------------------------------------------------------------------
AUTHOR_COLS = ["author_key", "source_id", "author_id", "author_name", "followers", "verified", "verified_type",
               "kol_tier", "first_seen_at", "last_seen_at"]
# first_seen keeps the earliest ever seen; the rest follows the latest post
_NEWER = "CASE WHEN {{x}}.last_seen_at >= {{t}}.last_seen_at THEN {{x}}.{c} ELSE {{t}}.{c} END"
AUTHOR_MERGE = {
    "first_seen_at": "CASE WHEN {x}.first_seen_at < {t}.first_seen_at THEN {x}.first_seen_at ELSE {t}.first_seen_at END",
    "last_seen_at": "CASE WHEN {x}.last_seen_at > {t}.last_seen_at THEN {x}.last_seen_at ELSE {t}.last_seen_at END",
    **{c: _NEWER.format(c=c) for c in ("author_name", "followers", "verified", "verified_type", "kol_tier")},
}
BRIDGE_COLS = ["mention_id", "brand_id", "matched_terms"]


@dataclass
class Batch:
    window: Window
    status: str
    now: datetime
    facts: list[tuple] = field(default_factory=list)  # wh.FACT_COLUMNS order
    bridges: list[tuple] = field(default_factory=list)
    authors: dict[str, dict[str, Any]] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    gone: list[str] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    loaded_per_source: dict[str, int] = field(default_factory=dict)
    links_per_source: dict[str, int] = field(default_factory=dict)
    q_per_source: dict[str, int] = field(default_factory=dict)
    valid_per_source: dict[str, int] | None = None
    crawls: list[dict[str, Any]] = field(default_factory=list)
    per_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    rejected: dict[str, str] = field(default_factory=dict)  # source id -> why (schema drift)
    stage: str | None = None  # PostgreSQL: the TEMP table holding the batch's facts (until commit)


def prepare(config: Config, window: Window, crawls: list[dict[str, Any]], transformed: dict[str, Any],
            validated: dict[str, Any] | None, lake: Lake, status: str = "loaded", error: str | None = None,
            rows: list[dict[str, Any]] | None = None) -> Batch:
    """Read the staged files of an interval and shape the warehouse rows (no database access)."""
    if rows is None:
        rows = lake.get_jsonl(validated["key"]) if validated else []
    qkey = (validated or {}).get("quarantine_key") or staged_key(window, "quarantine")
    quarantined = lake.get_jsonl(qkey) if lake.exists(qkey) else []
    dkey = transformed.get("dropped_key")
    dropped = lake.get_jsonl(dkey) if dkey and lake.exists(dkey) else []
    b = Batch(window=window, status=status, now=wh.now_utc(), crawls=crawls,
              per_source=transformed.get("per_source", {}), error=error,
              valid_per_source=(validated or {}).get("valid_per_source"),
              rejected=dict((validated or {}).get("rejected_sources") or {}))
    fact_cols = wh.FACT_COLUMNS
    pub_i, loaded_i = fact_cols.index("published_at"), fact_cols.index("loaded_at")
    seen: dict[str, int] = {}
    terms_json: dict[tuple[str, ...], str] = {}  # most mentions match the same few term lists
    tz = config.tz
    for r in rows:
        pub = parse_iso(r["published_at"])
        b.days.add(pub.astimezone(tz).date())
        if r.get("author_key"):
            a = b.authors.get(r["author_key"])
            if a is None:
                b.authors[r["author_key"]] = {
                    "author_key": r["author_key"], "source_id": r["source_id"], "author_id": r["author_id"],
                    "author_name": r["author_name"], "followers": r["author_followers"],
                    "verified": r["author_verified"], "verified_type": r["author_verified_type"],
                    "kol_tier": wh.kol_tier(r["author_followers"]), "first_seen_at": pub, "last_seen_at": pub,
                }
            else:
                a["first_seen_at"] = min(a["first_seen_at"], pub)
                if pub >= a["last_seen_at"]:
                    a.update(last_seen_at=pub, author_name=r["author_name"], followers=r["author_followers"],
                             verified=r["author_verified"], verified_type=r["author_verified_type"],
                             kol_tier=wh.kol_tier(r["author_followers"]))
        vals = list(map(r.get, fact_cols))
        vals[pub_i] = pub
        vals[loaded_i] = b.now
        fact = tuple(vals)
        mid = r["mention_id"]
        if mid in seen:  # the staged file is deduplicated; be safe anyway: the last one wins
            b.facts[seen[mid]] = fact
            continue
        seen[mid] = len(b.facts)
        b.facts.append(fact)
        for brand, terms in r["brands"].items():
            key = tuple(terms)
            js = terms_json.get(key)
            if js is None:
                js = terms_json[key] = json.dumps(terms, ensure_ascii=False)
            b.bridges.append((mid, brand, js))
    # bridges of a mention that appeared twice: keep one row per (mention, brand)
    b.bridges = list({(m, br): (m, br, t) for m, br, t in b.bridges}.values())
    src_of = {f[0]: f[1] for f in b.facts}
    for f in b.facts:
        b.loaded_per_source[f[1]] = b.loaded_per_source.get(f[1], 0) + 1
    for m, _br, _t in b.bridges:
        s = src_of[m]
        b.links_per_source[s] = b.links_per_source.get(s, 0) + 1
    qrows: dict[tuple[str, str], dict[str, Any]] = {}
    for q in quarantined:
        r = q["row"]
        qrows[(r["source_id"], str(r["native_id"]))] = {
            "interval_key": window.key, "source_id": r["source_id"], "native_id": str(r["native_id"]),
            "reason": q["reason"], "record": json.dumps(r, ensure_ascii=False, default=str),
            "raw_ref": r.get("raw_ref"), "quarantined_at": b.now, "stage": r.get("stage") or "staged",
        }
    b.quarantine = list(qrows.values())
    for sid, _nid in qrows:
        b.q_per_source[sid] = b.q_per_source.get(sid, 0) + 1
    # a rejected source's earlier facts stay as they were: its rows are not judged this time
    b.gone = [d["mention_id"] for d in dropped if d["mention_id"].split(":", 1)[0] not in b.rejected] + \
        [f"{s}:{n}" for s, n in qrows if s not in b.rejected]
    return b


# ---- writing a batch ------------------------------------------------------------------------------------
def write_authors(conn: Connection, authors: dict[str, dict[str, Any]]) -> None:
    if not authors:
        return
    if load_path(conn) in ("postgresql", "sqlite"):
        bulk_merge(conn, wh.dim_author, AUTHOR_COLS, [tuple(a[c] for c in AUTHOR_COLS) for a in authors.values()],
                   ["author_key"], AUTHOR_MERGE)
        return
    # portable path: merge in Python with what is stored
    keys = list(authors)
    for i in range(0, len(keys), 500):
        part = keys[i:i + 500]
        for k, first, last in conn.execute(select(wh.dim_author.c.author_key, wh.dim_author.c.first_seen_at,
                                                  wh.dim_author.c.last_seen_at)
                                           .where(wh.dim_author.c.author_key.in_(part))):
            a = authors[k]
            first, last = wh.model_utc(first), wh.model_utc(last)
            a["first_seen_at"] = min(a["first_seen_at"], first)
            if last > a["last_seen_at"]:
                row = conn.execute(select(wh.dim_author).where(wh.dim_author.c.author_key == k)).one()
                a.update({c: getattr(row, c) for c in AUTHOR_COLS if c not in ("author_key", "first_seen_at")})
                a["last_seen_at"] = last
    bulk_merge(conn, wh.dim_author, AUTHOR_COLS, [tuple(a[c] for c in AUTHOR_COLS) for a in authors.values()],
               ["author_key"])


def _delete_in(conn: Connection, table: Table, col: str, values: list[Any], chunk: int = 500) -> None:
    for i in range(0, len(values), chunk):
        conn.execute(delete(table).where(table.c[col].in_(values[i:i + chunk])))


#: pg_advisory_xact_lock key held by every load transaction on PostgreSQL: loads run one at a time
LOAD_LOCK = 73_411_006


def write_batch(conn: Connection, config: Config, b: Batch) -> None:
    window = b.window
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOAD_LOCK})")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")  # joins of a big batch hash in memory
    wh.sync_dimensions(conn, config)
    wh.ensure_dates(conn, b.days)
    write_authors(conn, b.authors)
    checkpoint("authors")
    if b.status == "loaded" and b.gone:
        # Re-processing can change a verdict: a post that no longer matches any brand (the query
        # changed) or that now fails validation must not stay in the facts from an earlier load.
        # (Posts that a re-crawl simply does not return are kept: nothing is lost.)
        _delete_in(conn, wh.bridge_mention_brand, "mention_id", b.gone)
        _delete_in(conn, wh.fct_mention, "mention_id", b.gone)
    stg = bulk_merge(conn, wh.fct_mention, wh.FACT_COLUMNS, b.facts, ["mention_id"], unless_same=["loaded_at"])
    b.stage = stg
    checkpoint("facts")
    bulk_replace(conn, wh.bridge_mention_brand, "mention_id", [f[0] for f in b.facts], BRIDGE_COLS, b.bridges,
                 parent_stage=(stg, "mention_id") if stg else None)
    checkpoint("bridges")
    # etl_quarantine: one row per currently-bad mention, under the interval that judged it last
    q = wh.etl_quarantine
    conn.execute(delete(q).where(q.c.interval_key == window.key))
    if b.quarantine:
        _generic_delete(conn, q, ["source_id", "native_id"], [(r["source_id"], r["native_id"]) for r in b.quarantine])
        conn.execute(q.insert(), b.quarantine)
    if b.status == "loaded" and b.facts:
        # a mention that loads now is no longer bad (it was quarantined by an earlier interval)
        f = wh.fct_mention
        cond = [select(f.c.mention_id).where(
            f.c.mention_id == q.c.source_id + ":" + q.c.native_id, f.c.interval_key == window.key).exists()]
        if b.rejected:  # a rejected source loaded nothing now: its earlier facts do not clear its quarantine
            cond.append(q.c.source_id.notin_(sorted(b.rejected)))
        conn.execute(delete(q).where(*cond))
    local = window.start.astimezone(config.tz)
    dkey = date_key(local)
    for c in b.crawls:
        sid = c["source"]
        st = b.per_source.get(sid, {})
        src_status = b.status
        if b.status == "loaded" and c["status"] == "failed":
            src_status = "failed"
        if b.status == "loaded" and sid in b.rejected:
            src_status = "rejected"
        batch_id = f"{sid}/{window.key}"
        prev = conn.execute(select(wh.etl_batch.c.attempts, wh.etl_batch.c.first_loaded_at)
                            .where(wh.etl_batch.c.batch_id == batch_id)).first()
        errors = list(c.get("errors") or []) + ([b.error] if b.error else []) + list(st.get("problems") or [])[:20]
        if sid in b.rejected:
            errors.insert(0, b.rejected[sid])
        loaded = src_status in ("loaded", "failed")
        wh.upsert(conn, wh.etl_batch, [{
            "batch_id": batch_id, "source_id": sid, "interval_key": window.key,
            "window_start": window.start, "window_end": window.end,
            "status": src_status, "coverage": c["status"],
            "fetched": c.get("fetched", 0), "parsed": st.get("parsed", 0),
            "out_of_window": st.get("out_of_window", 0), "unmatched": st.get("unmatched", 0),
            "duplicates": st.get("duplicates", 0), "quarantined": b.q_per_source.get(sid, 0),
            "loaded": b.loaded_per_source.get(sid, 0) if loaded else 0,
            "brand_links": b.links_per_source.get(sid, 0) if loaded else 0,
            "errors": json.dumps(errors, ensure_ascii=False), "raw_key": c.get("raw_key"),
            "attempts": (prev[0] + 1) if prev else 1,
            "first_loaded_at": wh.model_utc(prev[1]) if prev else b.now, "last_loaded_at": b.now,
            "date_key": dkey,
        }], ["batch_id"])
        conn.execute(delete(wh.etl_coverage).where(wh.etl_coverage.c.source_id == sid,
                                                   wh.etl_coverage.c.interval_key == window.key))
        cov = [{
            "source_id": sid, "interval_key": window.key, "slice_no": i,
            "slice_start": parse_iso(s["start"]), "slice_end": parse_iso(s["end"]),
            "query": s.get("query", ""), "status": s["status"], "pages": s.get("pages", 0),
            "items": s.get("items", 0), "detail": s.get("detail", ""),
        } for i, s in enumerate(c.get("coverage") or [])]
        if cov:
            conn.execute(wh.etl_coverage.insert(), cov)
        if loaded and c.get("raw_key"):
            old = wh.get_cursor_conn(conn, sid)
            new = dict(c.get("cursor") or {})
            # a backfill never moves the cursor backwards
            if (old.get("last_window_end") and new.get("last_window_end")
                    and parse_iso(old["last_window_end"]) > parse_iso(new["last_window_end"])):
                new = old
            wh.save_cursor(conn, sid, new)


@contextlib.contextmanager
def _batch_ids(conn: Connection, b: Batch) -> Iterator[Any]:
    """A table (or, on other dialects, None) holding the batch's mention ids for joins."""
    ids = sa_table("stg_batch_ids", sa_column("mention_id", String))
    if load_path(conn) == "postgresql" and b.stage:
        yield sa_table(b.stage, sa_column("mention_id", String))
    elif load_path(conn) == "sqlite":
        conn.exec_driver_sql("CREATE TEMP TABLE IF NOT EXISTS stg_batch_ids (mention_id TEXT PRIMARY KEY)")
        conn.exec_driver_sql("DELETE FROM stg_batch_ids")
        conn.exec_driver_sql("INSERT INTO stg_batch_ids VALUES (?)", [(f[0],) for f in b.facts])
        try:
            yield ids
        finally:
            conn.exec_driver_sql("DELETE FROM stg_batch_ids")
    else:
        yield None


def reconcile_rows(conn: Connection, b: Batch) -> list[dict[str, Any]]:
    """What the warehouse holds for the batch, next to its audit rows (one row per source).

    ``warehouse_loaded``: the batch's mentions present in ``fct_mention`` under this interval;
    ``warehouse_brand_links``: their ``bridge_mention_brand`` rows; ``warehouse_quarantined``: the
    interval's ``etl_quarantine`` rows.
    """
    f, br, q, eb = wh.fct_mention, wh.bridge_mention_brand, wh.etl_quarantine, wh.etl_batch
    key = b.window.key
    loaded: dict[str, int] = {}
    links: dict[str, int] = {}
    if b.facts:
        with _batch_ids(conn, b) as ids:
            if ids is not None:
                j = f.join(ids, ids.c.mention_id == f.c.mention_id)
                loaded = dict(conn.execute(select(f.c.source_id, func.count()).select_from(j)
                                           .where(f.c.interval_key == key).group_by(f.c.source_id)).all())
                links = dict(conn.execute(select(f.c.source_id, func.count())
                                          .select_from(j.join(br, br.c.mention_id == f.c.mention_id))
                                          .where(f.c.interval_key == key).group_by(f.c.source_id)).all())
            else:
                all_ids = [x[0] for x in b.facts]
                for i in range(0, len(all_ids), 500):
                    part = all_ids[i:i + 500]
                    for sid, n in conn.execute(select(f.c.source_id, func.count()).where(
                            f.c.mention_id.in_(part), f.c.interval_key == key).group_by(f.c.source_id)):
                        loaded[sid] = loaded.get(sid, 0) + n
                    for sid, n in conn.execute(select(f.c.source_id, func.count())
                                               .select_from(br.join(f, f.c.mention_id == br.c.mention_id))
                                               .where(f.c.mention_id.in_(part), f.c.interval_key == key)
                                               .group_by(f.c.source_id)):
                        links[sid] = links.get(sid, 0) + n
    quarantined = dict(conn.execute(select(q.c.source_id, func.count()).where(q.c.interval_key == key)
                                    .group_by(q.c.source_id)).all())
    audit = {r.source_id: r for r in conn.execute(select(eb).where(eb.c.interval_key == key))}
    out = []
    for sid in dict.fromkeys([c["source"] for c in b.crawls] + sorted(set(loaded) | set(quarantined))):
        if sid in b.rejected:
            continue  # stopped by its raw gate: its earlier facts stand, nothing of it loaded now
        a = audit.get(sid)
        valid = b.valid_per_source.get(sid, 0) if b.valid_per_source is not None else b.loaded_per_source.get(sid, 0)
        out.append({
            "source_id": sid, "status": a.status if a else "missing",
            "staged_valid": valid, "audit_loaded": a.loaded if a else -1, "warehouse_loaded": loaded.get(sid, 0),
            "audit_quarantined": a.quarantined if a else -1, "warehouse_quarantined": quarantined.get(sid, 0),
            "audit_brand_links": (a.brand_links or 0) if a else -1, "warehouse_brand_links": links.get(sid, 0),
        })
    return out


def record_failure(engine: Engine, b: Batch, error: str) -> None:
    """After a rolled-back load: say so in etl_batch (status failed), leaving the facts as they were."""
    try:
        with engine.begin() as conn:
            for c in b.crawls:
                batch_id = f"{c['source']}/{b.window.key}"
                eb = wh.etl_batch
                prev = conn.execute(select(eb.c.attempts).where(eb.c.batch_id == batch_id)).first()
                if prev is None:
                    continue  # never loaded: the task failure is the record
                errs = json.dumps([f"load failed and was rolled back: {error}"[:2000]], ensure_ascii=False)
                conn.execute(eb.update().where(eb.c.batch_id == batch_id).values(
                    status="failed", attempts=prev[0] + 1, errors=errs, last_loaded_at=wh.now_utc()))
    except Exception:  # noqa: BLE001 - the original error is what matters; this is best effort
        log.exception("could not record the failed load of %s", b.window.key)


# ---- fact rows -------------------------------------------------------------------------------------------
@batch_stage
def fact_rows(mentions: list[Mention], config: Config, window: Window) -> list[dict[str, Any]]:
    return [fact_row(m, config, window) for m in mentions]


def fact_row(m: Mention, config: Config, window: Window) -> dict[str, Any]:
    local = m.published_at.astimezone(config.tz)
    followers = m.author_followers or 0
    return {
        "mention_id": f"{m.source}:{m.native_id}",
        "source_id": m.source,
        "native_id": m.native_id,
        "url": m.url,
        "title": m.title,
        "text": m.text,
        "clean_text": m.clean_text,
        "published_at": iso(m.published_at),
        "published_ts": m.published_at.timestamp(),
        "date_key": date_key(local),
        "hour_local": local.hour,
        "author_key": f"{m.source}:{m.author_id}" if m.author_id else None,
        "author_id": m.author_id,
        "author_name": m.author_name,
        "author_followers": m.author_followers,
        "author_verified": m.author_verified,
        "author_verified_type": m.author_verified_type,
        "reposts": m.reposts,
        "comments": m.comments,
        "likes": m.likes,
        "engagement": m.reposts + m.comments + m.likes,
        "reach": followers,
        "is_repost": m.retweet_of is not None,
        "retweet_of": m.retweet_of,
        "is_spam": m.is_spam,
        "truncated": m.truncated,
        "content_hash": m.content_hash,
        "story_id": m.story_id,
        "sentiment": m.sentiment,
        "sentiment_label": m.label or "none",
        "model_version": m.model_version,
        "interval_key": window.key,
        "raw_ref": m.raw_ref,
        "brands": {b: m.matched_terms.get(b, []) for b in m.brands},
    }


# ---- interactions (comments and replies) ----------------------------------------------------------------
INTERACTION_COLS = [c.name for c in wh.fct_interaction.columns]


def interaction_rows(config: Config, window: Window, records: list[dict[str, Any]], now: datetime) -> list[tuple]:
    """Comment records (``source, native_id, status_id, text, published_at, author_id, author_name,
    author_followers, like_count, is_owned_reply`` or ``owned_account``, ``owned_brand``, optional
    ``reply_to``, ``sentiment``, ``label``) as ``fct_interaction`` rows.

    A comment by a brand's owned account is that brand's reply (``kind`` ``owned_reply``) even when
    the connector did not flag it (matched on the account name, ``owned_accounts`` in the config);
    other comments are ``reply`` (answering another comment) or ``comment``.
    """
    owned = {a: b.id for b in config.brands for a in b.owned_accounts}
    out: dict[str, tuple] = {}
    for r in records:
        pub = r["published_at"]
        pub = parse_iso(pub) if isinstance(pub, str) else pub
        local = pub.astimezone(config.tz)
        brand = r.get("owned_brand") or owned.get(r.get("author_name") or "")
        is_owned = bool(r.get("is_owned_reply") or r.get("owned_account")) or brand is not None
        sid = r["source"]
        row = {
            "interaction_id": f"{sid}:{r['native_id']}", "source_id": sid, "native_id": str(r["native_id"]),
            "mention_id": f"{sid}:{r['status_id']}", "status_id": str(r["status_id"]),
            "kind": "owned_reply" if is_owned else "reply" if r.get("reply_to") else "comment",
            "reply_to": str(r["reply_to"]) if r.get("reply_to") else None, "text": r.get("text") or "",
            "published_at": pub, "date_key": date_key(local),
            "author_key": f"{sid}:{r['author_id']}" if r.get("author_id") else None,
            "author_name": r.get("author_name"), "author_followers": _count(r.get("author_followers")),
            "like_count": _count(r.get("like_count") if r.get("like_count") is not None else r.get("likes")) or 0,
            "is_owned_reply": is_owned,
            "owned_brand": brand if is_owned else None,
            "sentiment": r.get("sentiment"), "sentiment_label": r.get("label") or r.get("sentiment_label") or "none",
            "interval_key": window.key, "raw_ref": r.get("raw_ref"), "loaded_at": now,
        }
        out[row["interaction_id"]] = tuple(row[c] for c in INTERACTION_COLS)
    return list(out.values())


def _count(v: Any) -> int | None:
    """A count as the site shows it (``12``, ``"1.2万"``) as an int; None when missing or unreadable."""
    if v is None:
        return None
    try:
        return parse_count(v)
    except FieldError:
        return None


def load_interactions(config: Config, window: Window, records: list[dict[str, Any]], engine: Engine) -> dict[str, Any]:
    """Merge comment / reply records into ``fct_interaction`` in one transaction (idempotent).

    Returns the local days of the interactions (``dates``) and of the posts they are under
    (``mention_dates``: ``mart_response`` is dated by the post, so those are the days to rebuild).
    """
    wh.create_schema(engine)
    now = wh.now_utc()
    rows = interaction_rows(config, window, records, now)
    pub = INTERACTION_COLS.index("published_at")
    days = {r[pub].astimezone(config.tz).date() for r in rows}
    parents = sorted({r[INTERACTION_COLS.index("mention_id")] for r in rows})
    keys: set[int] = set()
    with engine.begin() as conn:
        wh.ensure_dates(conn, days)
        bulk_merge(conn, wh.fct_interaction, INTERACTION_COLS, rows, ["interaction_id"], unless_same=["loaded_at"])
        f = wh.fct_mention
        for i in range(0, len(parents), 500):
            keys.update(k for (k,) in conn.execute(select(f.c.date_key).where(f.c.mention_id.in_(parents[i:i + 500]))
                                                   .distinct()))
    return {"interval": window.key, "interactions": len(rows),
            "replies": sum(1 for r in rows if r[INTERACTION_COLS.index("is_owned_reply")]),
            "dates": sorted(d.isoformat() for d in days),
            "mention_dates": sorted(key_to_date(k).isoformat() for k in keys)}
