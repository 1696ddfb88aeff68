"""The sales closed loop: daily sales / campaign spend per brand from CSV or JSONL drops in the lake.

Configuration: ``include/sales.yaml`` (``LISTENING_SALES_CONFIG`` names another file; without a
file the loop is off and every brand's goal is ``awareness``)::

    prefix: drops/sales/              # lake prefix; every *.csv, *.jsonl, *.jsonl.gz under it is a drop
    currency: CNY                     # stored with the figures
    columns:                          # our field: the drop's column (CSV header or JSON key)
      date: 日期                       # required
      brand: 品牌                      # required
      sales_amount: 销售额             # at least one of sales_amount / units / spend
      units: 销量
      spend: 投放费用
    brand_aliases: {极光手机: aurora}   # the drop's brand names -> brand ids (ids are accepted as they are)
    date_format: "%Y/%m/%d"           # optional; ISO dates and YYYYMMDD are always accepted
    goals: {aurora: sales, xingchen: awareness, lanshan: reputation}   # KPI set of mart_brand_kpi

:func:`import_drops` (the ``load_sales`` DAG) loads every drop that is new or changed since it was
last loaded (sha256 in ``etl_sales_file``), in key order, one transaction per file: the file's
rows are validated with the GX suite ``sales_rows`` (Data Docs under
``docs/gx/sales/<interval>/<file>/``), bad rows go to ``etl_quarantine`` (source ``sales``), and the
file's (day, brand) totals replace those rows of ``fct_sales`` -- a file restates the days and
brands it contains, so a re-delivered or corrected drop never double counts.  A file with a
missing mapped column (schema drift) or more than ``quality.max_bad_share`` bad rows is rejected
(nothing of it loads) and the task fails after the other files are loaded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine

from listening import quality
from listening import warehouse as wh
from listening.config import Config, ConfigError
from listening.core.errors import BatchRejected
from listening.core.model import Window, date_key, key_to_date
from listening.core.settings import default_sales_config_path
from listening.lake import Lake

log = logging.getLogger(__name__)

GOALS = ("awareness", "reputation", "sales")
METRICS = ("sales_amount", "units", "spend")
SOURCE_ID = "sales"


@dataclass(frozen=True)
class SalesConfig:
    path: Path | None
    prefix: str = "drops/sales/"
    currency: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    brand_aliases: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    goals: dict[str, str] = field(default_factory=dict)


def load_sales_config(path: str | os.PathLike[str] | None = None, config: Config | None = None) -> SalesConfig | None:
    """The sales configuration, or None when there is no file (the loop is off)."""
    p = Path(path) if path else default_sales_config_path()
    if not p.exists():
        return None
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping")
    allowed = {"prefix", "currency", "columns", "brand_aliases", "date_format", "goals"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ConfigError(f"{p}: {extra[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")
    columns = raw.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) and v for v in columns.values()):
        raise ConfigError(f"{p}: columns: expected a mapping of field: column name")
    unknown = sorted(set(columns) - {"date", "brand", *METRICS})
    if unknown:
        raise ConfigError(f"{p}: columns.{unknown[0]}: unknown field (known: date, brand, {', '.join(METRICS)})")
    for need in ("date", "brand"):
        if need not in columns:
            raise ConfigError(f"{p}: columns.{need}: is required")
    if not any(m in columns for m in METRICS):
        raise ConfigError(f"{p}: columns: map at least one of {', '.join(METRICS)}")
    goals = raw.get("goals") or {}
    if not isinstance(goals, dict):
        raise ConfigError(f"{p}: goals: expected a mapping of brand id: goal")
    brand_ids = {b.id for b in config.brands} if config else None
    for bid, goal in goals.items():
        if goal not in GOALS:
            raise ConfigError(f"{p}: goals.{bid}: {goal!r} is not one of {', '.join(GOALS)}")
        if brand_ids is not None and bid not in brand_ids:
            raise ConfigError(f"{p}: goals.{bid}: not a configured brand id")
    aliases = raw.get("brand_aliases") or {}
    if not isinstance(aliases, dict):
        raise ConfigError(f"{p}: brand_aliases: expected a mapping of name: brand id")
    prefix = str(raw.get("prefix") or "drops/sales/")
    return SalesConfig(path=p, prefix=prefix if prefix.endswith("/") else prefix + "/",
                       currency=raw.get("currency"), columns={k: str(v) for k, v in columns.items()},
                       brand_aliases={str(k): str(v) for k, v in aliases.items()},
                       date_format=raw.get("date_format"), goals={str(k): str(v) for k, v in goals.items()})


# ---- parsing a drop ------------------------------------------------------------------------------------
_NUM_JUNK = re.compile(r"[\s,¥$€£￥元]|RMB|CNY", re.IGNORECASE)


def parse_number(value: Any) -> float | None:
    """``1,234.5``, ``¥1,234``, ``1.2万``, ``3亿`` -> float; empty -> None; garbage -> ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    s = _NUM_JUNK.sub("", str(value))
    mult = 1.0
    if s.endswith("万"):
        s, mult = s[:-1], 1e4
    elif s.endswith("亿"):
        s, mult = s[:-1], 1e8
    return float(s) * mult


def parse_day(value: Any, fmt: str | None = None) -> date | None:
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    if fmt:
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    for f in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return datetime.strptime(s[:10] if f != "%Y%m%d" else s[:8], f).date()
        except ValueError:
            continue
    return None


def read_drop(key: str, data: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, records) of a CSV or JSON Lines drop (``.gz`` accepted)."""
    if key.endswith(".gz"):
        data = gzip.decompress(data)
        key = key[:-3]
    if key.endswith(".csv"):
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        rows = [dict(r) for r in reader]
        return list(reader.fieldnames or []), rows
    rows = []
    cols: dict[str, None] = {}
    for n, line in enumerate(data.decode("utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = {"__bad__": f"line {n} is not JSON"}
        if not isinstance(rec, dict):
            rec = {"__bad__": f"line {n} is not an object"}
        cols.update(dict.fromkeys(rec))
        rows.append(rec)
    return [c for c in cols if c != "__bad__"], rows


def map_rows(cfg: SalesConfig, records: list[dict[str, Any]], brand_ids: set[str]) -> list[dict[str, Any]]:
    """Apply the column mapping: one row per record with ``line, date, brand_id, metrics, parse_ok``."""
    aliases = {k.casefold(): v for k, v in cfg.brand_aliases.items()}
    out = []
    for n, rec in enumerate(records, start=1):
        raw_brand = rec.get(cfg.columns["brand"])
        b = str(raw_brand).strip() if raw_brand is not None else ""
        brand = b if b in brand_ids else aliases.get(b.casefold(), b or None)
        row: dict[str, Any] = {"line": n, "date": parse_day(rec.get(cfg.columns["date"]), cfg.date_format),
                               "brand_id": brand, "parse_ok": "__bad__" not in rec}
        for m in METRICS:
            col = cfg.columns.get(m)
            try:
                row[m] = parse_number(rec.get(col)) if col else None
            except ValueError:
                row[m] = None
                row["parse_ok"] = False
        out.append(row)
    return out


# ---- loading -------------------------------------------------------------------------------------------
def list_drops(lake: Lake, cfg: SalesConfig) -> list[str]:
    return [k for k in lake.list(cfg.prefix) if k.endswith((".csv", ".jsonl", ".csv.gz", ".jsonl.gz"))]


def sync_goals(conn: Connection, cfg: SalesConfig | None, config: Config) -> None:
    """dim_brand.goal follows the sales config (NULL = awareness)."""
    goals = (cfg.goals if cfg else {})
    for b in config.brands:
        conn.execute(update(wh.dim_brand).where(wh.dim_brand.c.brand_id == b.id).values(goal=goals.get(b.id)))


@dataclass
class FileResult:
    key: str
    status: str
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    days: list[str] = field(default_factory=list)
    error: str | None = None


def load_file(engine: Engine, config: Config, cfg: SalesConfig, window: Window, lake: Lake, key: str,
              data: bytes, sha: str) -> FileResult:
    """Validate one drop and load it in one transaction (or record its rejection)."""
    brand_ids = {b.id for b in config.brands}
    cols, records = read_drop(key, data)
    res = FileResult(key=key, status="loaded", rows=len(records))
    missing = [f"{f} ({c!r})" for f, c in cfg.columns.items() if c not in cols]
    rows = map_rows(cfg, records, brand_ids)
    bad: list[tuple[dict[str, Any], str]] = []
    if records and missing:
        res.status, res.error = "rejected", f"schema drift: {key} lacks the mapped column(s) {', '.join(missing)}"
        bad = [(r, f"file rejected: {res.error}") for r in rows]
    elif rows:
        import pandas as pd

        df = pd.DataFrame(rows, columns=["line", "date", "brand_id", *METRICS, "parse_ok"])
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", key.rsplit("/", 1)[-1])
        docs = quality.DocsTarget(lake, f"docs/gx/sales/{window.key}/{stem}")
        results = quality.run_suites([(quality.load_suite("sales_rows"), df)],
                                     {"known_brands": sorted(brand_ids)}, docs)["sales_rows"]
        reasons: dict[int, list[str]] = {}
        for r in results:
            if r.success:
                continue
            label = quality.gx.expectation_label(r.expectation_config)
            idx = r.result.get("unexpected_index_list")
            if idx is None:
                res.status, res.error = "rejected", f"schema drift: {key}: {label} failed"
                continue
            for i in idx:
                reasons.setdefault(int(i), []).append(label)
        bad = [(rows[i], "; ".join(dict.fromkeys(why))) for i, why in sorted(reasons.items())]
        if res.status == "loaded" and len(bad) / len(rows) > config.max_bad_share:
            res.status = "rejected"
            res.error = (f"{len(bad)} of {len(rows)} rows of {key} failed validation "
                         f"({len(bad) / len(rows):.1%} > {config.max_bad_share:.0%}); first reason: {bad[0][1]}")
        if res.status == "rejected":
            judged = {r["line"] for r, _ in bad}
            bad += [(r, f"file rejected: {res.error}") for r in rows if r["line"] not in judged]
    bad_lines = {r["line"] for r, _ in bad}
    totals: dict[tuple[int, str], dict[str, float | None]] = {}
    if res.status == "loaded":
        for r in rows:
            if r["line"] in bad_lines:
                continue
            k = (wh.date_key(r["date"]), r["brand_id"])
            t = totals.setdefault(k, dict.fromkeys(METRICS))
            for m in METRICS:
                if r[m] is not None:
                    t[m] = (t[m] or 0.0) + r[m]
            res.loaded += 1
    res.quarantined = len(bad)
    now = wh.now_utc()
    days = sorted({d for d, _b in totals})
    res.days = [key_to_date(d).isoformat() for d in days]
    with engine.begin() as conn:
        if totals:
            wh.ensure_dates(conn, [key_to_date(d) for d in days])
            for (dk, bid) in totals:
                conn.execute(delete(wh.fct_sales).where(wh.fct_sales.c.date_key == dk, wh.fct_sales.c.brand_id == bid))
            conn.execute(wh.fct_sales.insert(), [{
                "date_key": dk, "brand_id": bid, "sales_amount": t["sales_amount"],
                "units": int(t["units"]) if t["units"] is not None else None, "spend": t["spend"],
                "currency": cfg.currency, "source_key": key, "loaded_at": now,
            } for (dk, bid), t in sorted(totals.items())])
        q = wh.etl_quarantine
        base = key.rsplit("/", 1)[-1][:200]
        conn.execute(delete(q).where(q.c.source_id == SOURCE_ID, q.c.native_id.startswith(f"{base}#", autoescape=True)))
        if bad:
            conn.execute(q.insert(), [{
                "interval_key": window.key, "source_id": SOURCE_ID, "native_id": f"{base}#{r['line']}",
                "reason": why, "record": json.dumps(r, ensure_ascii=False, default=str),
                "raw_ref": f"{key}#L{r['line']}", "quarantined_at": now, "stage": "sales",
            } for r, why in bad])
        f = wh.etl_sales_file
        conn.execute(delete(f).where(f.c.file_key == key))
        conn.execute(f.insert(), [{
            "file_key": key, "sha256": sha, "status": res.status, "rows": res.rows, "loaded": res.loaded,
            "quarantined": res.quarantined, "first_date_key": days[0] if days else None,
            "last_date_key": days[-1] if days else None,
            "errors": json.dumps([res.error] if res.error else [], ensure_ascii=False), "loaded_at": now,
        }])
    return res


def import_drops(engine: Engine, config: Config, lake: Lake, window: Window,
                 cfg: SalesConfig | None = None) -> dict[str, Any]:
    """Load every new or changed drop under the configured prefix; returns the days to rebuild.

    Raises :class:`listening.quality.BatchRejected` at the end when any file was rejected.
    """
    cfg = cfg or load_sales_config(config=config)
    wh.create_schema(engine)
    if cfg is None:
        log.info("no sales config (%s): nothing to import", default_sales_config_path())
        return {"files": [], "dates": [], "skipped": 0}
    with engine.begin() as conn:
        wh.sync_dimensions(conn, config)
        sync_goals(conn, cfg, config)
        f = wh.etl_sales_file
        known = {k: sha for k, sha, status in conn.execute(select(f.c.file_key, f.c.sha256, f.c.status))
                 if status == "loaded"}  # a rejected file is retried (the mapping may have been fixed)
    results: list[FileResult] = []
    skipped = 0
    for key in list_drops(lake, cfg):
        data = lake.get(key)
        sha = hashlib.sha256(data).hexdigest()
        if known.get(key) == sha:
            skipped += 1
            continue
        res = load_file(engine, config, cfg, window, lake, key, data, sha)
        log.info("sales drop %s: %s, %d rows, %d loaded, %d quarantined", key, res.status, res.rows, res.loaded,
                 res.quarantined)
        results.append(res)
    rejected = [r for r in results if r.status == "rejected"]
    local = window.start.astimezone(config.tz)
    now = wh.now_utc()
    with engine.begin() as conn:
        batch_id = f"{SOURCE_ID}/{window.key}"
        prev = conn.execute(select(wh.etl_batch.c.attempts, wh.etl_batch.c.first_loaded_at)
                            .where(wh.etl_batch.c.batch_id == batch_id)).first()
        wh.upsert(conn, wh.etl_batch, [{
            "batch_id": batch_id, "source_id": SOURCE_ID, "interval_key": window.key,
            "window_start": window.start, "window_end": window.end,
            "status": "rejected" if rejected else "loaded", "coverage": "complete",
            "fetched": len(results), "parsed": sum(r.rows for r in results), "out_of_window": 0, "unmatched": 0,
            "duplicates": 0, "quarantined": sum(r.quarantined for r in results),
            "loaded": sum(r.loaded for r in results), "brand_links": 0,
            "errors": json.dumps([r.error for r in rejected], ensure_ascii=False), "raw_key": cfg.prefix,
            "attempts": (prev[0] + 1) if prev else 1,
            "first_loaded_at": wh.model_utc(prev[1]) if prev else now, "last_loaded_at": now,
            "date_key": date_key(local),
        }], ["batch_id"])
    dates = sorted({d for r in results for d in r.days})
    summary = {"files": [r.__dict__ for r in results], "dates": dates, "skipped": skipped}
    if rejected:
        raise BatchRejected("sales drop(s) rejected: " + "; ".join(r.error or r.key for r in rejected))
    return summary
