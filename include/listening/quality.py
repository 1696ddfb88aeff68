"""Quality gates with Great Expectations (GX Core 1.x); suites are JSON in ``include/gx/expectations``.

Three gates per data interval, each a GX validation whose Data Docs (HTML) are written to the
lake under ``docs/gx/<interval>/<stage>/index.html``:

``raw``     the raw responses of every source, one row per item (a Weibo mblog, a feed entry), against
            the suite of the source's kind (``raw_weibo_search``, ``raw_rss``): required fields and
            their types.  Items that fail are quarantined (reason + ``raw_ref`` = lake key#record);
            when more than ``max_bad_share`` of a source's items fail, or its pages no longer have
            the expected shape, the source's schema drifted and the whole batch is rejected.
``staged``  the staged mentions (``staged_mentions``) and their brand links (``mention_brands``):
            a failing table-level expectation (the loader's columns are missing) is schema drift and
            rejects the batch; rows that fail a row-level expectation are quarantined; more than
            ``max_bad_share`` bad rows rejects the batch.
``loaded``  inside the load transaction, the interval as it is in the warehouse against its audit
            rows (``loaded_interval``): loaded / quarantined / brand-link counts must reconcile, or
            the transaction is rolled back.

A rejected batch raises :class:`BatchRejected`; the DAG task fails and its
``on_failure_callback`` sends an alert (:func:`send_alert`).

``great_expectations`` and ``pandas`` are imported inside the functions: they cost seconds and
must never load at DAG-parse time.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from listening.config import project_root
from listening.model import Window
from listening.perf import batch_stage

log = logging.getLogger(__name__)

REQUIRED_MENTION_COLUMNS = ("mention_id", "source_id", "native_id", "url", "text", "published_ts",
                            "sentiment", "sentiment_label", "model_version", "story_id")
#: raw suite per connector kind
RAW_SUITES = {"weibo_search": "raw_weibo_search", "weibo_comments": "raw_weibo_comments", "rss": "raw_rss"}
#: the raw records whose items a raw suite checks (pages, feeds), per kind
_RAW_PAGE_PURPOSES = {"weibo_search": "search", "weibo_comments": "comments", "rss": "feed"}
#: Data Docs assets left out of the lake copy (decorative, 4 MB per validation)
_DOCS_SKIP = ("static/fonts/", "static/images/")


class BatchRejected(RuntimeError):
    """The batch must not be loaded (schema drift, too many bad rows, counts that do not reconcile).

    ``outcome`` holds the row-level verdicts when there are any, so the caller can
    still quarantine the bad rows of a rejected batch.

    Raised under Airflow (``airflow.sdk`` imported, as in every task process), the instance is a
    ``BatchRejectedUnderAirflow``, which is also an ``AirflowFailException``: a rejected batch is
    deterministic, so its task fails at once -- no retries re-validating the same files -- and the
    ``on_failure_callback`` alert goes out immediately.  Airflow itself is never imported for this.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> BatchRejected:
        if cls is BatchRejected and "airflow.sdk" in sys.modules:
            variant = _airflow_variant()
            if variant is not None:
                cls = variant
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, message: str, outcome: ValidationOutcome | None = None):
        super().__init__(message)
        self.outcome = outcome

    def __reduce__(self) -> Any:  # pickles (Airflow may ship exceptions between processes), without outcome
        return (BatchRejected, (str(self),))


_variant: type[BatchRejected] | None = None


def _airflow_variant() -> type[BatchRejected] | None:
    global _variant
    if _variant is None:
        try:
            from airflow.sdk.exceptions import AirflowFailException
        except ImportError:  # an Airflow without the task SDK
            return None
        _variant = type("BatchRejectedUnderAirflow", (BatchRejected, AirflowFailException),
                        {"__module__": __name__, "__doc__": "A BatchRejected that Airflow does not retry."})
    return _variant


def __getattr__(name: str) -> Any:
    if name == "BatchRejectedUnderAirflow":
        return _airflow_variant()
    raise AttributeError(name)


def suites_dir() -> Path:
    return project_root() / "include" / "gx" / "expectations"


def load_suite(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or suites_dir()) / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"expectation suite not found: {path}") from None


@dataclass
class ValidationOutcome:
    valid: list[dict[str, Any]]
    quarantined: list[tuple[dict[str, Any], str]]
    results: list[dict[str, Any]] = field(default_factory=list)  # one summary per expectation
    docs: list[str] = field(default_factory=list)  # lake keys of the Data Docs index pages

    @property
    def bad_share(self) -> float:
        total = len(self.valid) + len(self.quarantined)
        return len(self.quarantined) / total if total else 0.0


@dataclass
class DocsTarget:
    """Where a validation's Data Docs go: ``lake`` (a :class:`listening.lake.Lake`) under ``prefix``."""

    lake: Any
    prefix: str

    def index_key(self) -> str:
        return f"{self.prefix.rstrip('/')}/index.html"


def docs_prefix(window_or_key: Window | str, stage: str) -> str:
    key = window_or_key.key if isinstance(window_or_key, Window) else window_or_key
    return f"docs/gx/{key}/{stage}"


def _expectation_label(cfg: Any) -> str:
    kw = cfg.kwargs
    meta = cfg.meta or {}
    if meta.get("reason"):
        return str(meta["reason"])
    col = kw.get("column")
    return f"{cfg.type}({col})" if col else cfg.type


# ---- running suites ------------------------------------------------------------------------------------
def import_gx() -> Any:
    """Import GX quietly (no usage statistics, no progress bars); costs 3-7 s the first time."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics calls home
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in task logs
    import great_expectations as gx

    _share_data_docs_templates()
    return gx


_SHARED_ENVS: dict[tuple[Any, ...], Any] = {}


def _share_data_docs_templates() -> None:
    """Compile GX's Data Docs templates once per process instead of once per page.

    Each ``DefaultJinjaView`` builds a new Jinja ``Environment``, so every Data Docs build
    recompiled the same ~50 templates (0.3 s per validation, measured).  Views of one class
    and the same custom directories hold no other state, so they can share one environment.
    """
    from great_expectations.render.view import view as gx_view

    base = gx_view.DefaultJinjaView
    if getattr(base, "_listening_shared_env", False):
        return
    original = base.__init__

    def __init__(self: Any, custom_styles_directory: Any = None, custom_views_directory: Any = None) -> None:
        key = (type(self), custom_styles_directory, custom_views_directory)
        env = _SHARED_ENVS.get(key)
        if env is None:
            original(self, custom_styles_directory, custom_views_directory)
            _SHARED_ENVS[key] = self.env
            return
        self.custom_styles_directory = custom_styles_directory
        self.custom_views_directory = custom_views_directory
        self.env = env

    base.__init__ = __init__  # type: ignore[method-assign]
    base._listening_shared_env = True  # type: ignore[attr-defined]


def run_suites(frames: list[tuple[dict[str, Any], Any]], params: dict[str, Any],
               docs: DocsTarget | None = None) -> dict[str, list[Any]]:
    """Validate each (suite JSON, DataFrame) in one ephemeral GX context; write Data Docs when asked.

    Returns the expectation results per suite name.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    site_dir = None
    if docs is not None:
        site_dir = tempfile.mkdtemp(prefix="listening-gx-docs-")
        ctx.add_data_docs_site("lake", {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": site_dir},
        })
    source = ctx.data_sources.add_pandas("listening")
    out: dict[str, list[Any]] = {}
    try:
        for suite_json, df in frames:
            name = suite_json["name"]
            batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("interval")
            suite = ctx.suites.add(gx.ExpectationSuite(**suite_json))
            vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
            actions = [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["lake"])] if docs is not None else []
            cp = ctx.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[vd], actions=actions,
                                                   result_format={"result_format": "COMPLETE"}))
            res = cp.run(batch_parameters={"dataframe": df}, expectation_parameters=params)
            out[name] = [r for run in res.run_results.values() for r in run.results]
        if docs is not None and site_dir is not None:
            _upload_site(Path(site_dir), docs)
    finally:
        if site_dir is not None:
            import shutil

            shutil.rmtree(site_dir, ignore_errors=True)
    return out


def _upload_site(site: Path, docs: DocsTarget) -> None:
    n = 0
    for p in sorted(site.rglob("*")):
        rel = p.relative_to(site).as_posix()
        if not p.is_file() or rel.startswith(_DOCS_SKIP):
            continue
        docs.lake.put(f"{docs.prefix.rstrip('/')}/{rel}", p.read_bytes())
        n += 1
    log.info("GX Data Docs: %d files at %s", n, docs.lake.uri(docs.index_key()))


def _summaries(suite_name: str, results: list[Any]) -> list[dict[str, Any]]:
    out = []
    for res in results:
        idx = list(res.result.get("unexpected_index_list") or [])
        out.append({"suite": suite_name, "expectation": _expectation_label(res.expectation_config),
                    "success": bool(res.success), "unexpected": len(idx)})
    return out


# ---- staged mentions -----------------------------------------------------------------------------------
@batch_stage
def validate_batch(
    mentions: list[dict[str, Any]],
    brand_rows: list[dict[str, Any]],
    window: Window,
    known_sources: list[str],
    known_brands: list[str],
    max_bad_share: float = 0.05,
    directory: Path | None = None,
    docs: DocsTarget | None = None,
) -> ValidationOutcome:
    """Validate one interval's staged mentions; returns the rows to load and the rows to quarantine."""
    import pandas as pd

    if mentions:
        missing = [c for c in REQUIRED_MENTION_COLUMNS if c not in mentions[0]]
        if missing:
            raise BatchRejected(f"schema drift: staged mentions lack columns {missing}")
    staged_suite = load_suite("staged_mentions", directory)
    # Only the columns the suite reads go into the frame, built column by column: the full rows carry
    # dicts (``brands``) that make GX's batch fingerprint fall back to pickling the whole frame.
    cols = [c for c in _suite_columns(staged_suite) if not c.endswith("__type")]
    cols += [c for c in REQUIRED_MENTION_COLUMNS if c not in cols]
    data: dict[str, list[Any]] = {c: [m.get(c) for m in mentions] for c in cols}
    for c in _TYPED:
        data[f"{c}__type"] = [_type_name(m.get(c)) for m in mentions]
    df = pd.DataFrame(data)
    bdf = pd.DataFrame(brand_rows, columns=["mention_id", "brand_id"])
    params = {
        "window_start_ts": window.start.timestamp(),
        "window_end_ts": window.end.timestamp(),
        "known_sources": list(known_sources),
        "known_brands": list(known_brands),
    }
    frames = [(staged_suite, df)]
    summaries: list[dict[str, Any]] = []
    if bdf.empty:
        summaries.append({"suite": "mention_brands", "expectation": "(empty batch)", "success": True,
                          "unexpected": 0})
    else:
        frames.append((load_suite("mention_brands", directory), bdf))
    if df.empty:
        summaries.append({"suite": "staged_mentions", "expectation": "(empty batch)", "success": True,
                          "unexpected": 0})
        return ValidationOutcome([], [], summaries)
    results = run_suites(frames, params, docs)
    reasons: dict[int, list[str]] = {}
    for suite_name, res_list in results.items():
        summaries.extend(_summaries(suite_name, res_list))
        for res in res_list:
            cfg = res.expectation_config
            label = _expectation_label(cfg)
            info = res.exception_info or {}
            if info.get("raised_exception"):
                raise BatchRejected(f"{suite_name}: {label} could not run: {info.get('exception_message')}")
            if res.success:
                continue
            if (cfg.meta or {}).get("level") == "table" or "column" not in cfg.kwargs:
                raise BatchRejected(f"schema drift: {suite_name}: {label} failed: "
                                    f"{json.dumps(res.result, default=str)[:500]}")
            for i in res.result.get("unexpected_index_list") or []:
                if suite_name == "mention_brands":
                    # a bad brand row quarantines its mention
                    mid = bdf["mention_id"].iloc[int(i)]
                    for j in df.index[df["mention_id"] == mid]:
                        reasons.setdefault(int(j), []).append(label)
                else:
                    reasons.setdefault(int(i), []).append(label)
    valid, quarantined = [], []
    for i, row in enumerate(mentions):
        if i in reasons:
            quarantined.append((row, "; ".join(dict.fromkeys(reasons[i]))))
        else:
            valid.append(row)
    outcome = ValidationOutcome(valid, quarantined, summaries, [docs.index_key()] if docs else [])
    if outcome.bad_share > max_bad_share:
        top = quarantined[0][1] if quarantined else ""
        raise BatchRejected(
            f"{len(quarantined)} of {len(mentions)} rows failed validation ({outcome.bad_share:.1%} > "
            f"{max_bad_share:.0%}); first reason: {top}",
            outcome,
        )
    return outcome


#: staged columns whose Python type is checked (pandas infers one dtype per column and hides it)
_TYPED = ("native_id", "text", "published_ts", "sentiment", "engagement")


def _type_name(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "null"
    if isinstance(v, bool):
        return "bool"
    return type(v).__name__


def _suite_columns(suite_json: dict[str, Any]) -> list[str]:
    """Every column a suite's expectations name (``column`` and ``column_set`` kwargs), in order."""
    out: list[str] = []
    for e in suite_json.get("expectations", []):
        kw = e.get("kwargs", {})
        for c in [kw.get("column"), *(kw.get("column_set") or [])]:
            if isinstance(c, str) and c not in out:
                out.append(c)
    return out


# ---- raw records (schema drift per source) -------------------------------------------------------------
@dataclass
class RawInput:
    source_id: str
    kind: str
    raw_key: str
    records: list[dict[str, Any]]


@dataclass
class RawOutcome:
    quarantined: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    drifted: dict[str, str] = field(default_factory=dict)  # source id -> why
    items: dict[str, int] = field(default_factory=dict)  # source id -> items checked
    results: list[dict[str, Any]] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)

    def quarantined_ids(self) -> set[tuple[str, str]]:
        return {(r["source_id"], r["native_id"]) for r, _why in self.quarantined}


def _fields(d: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in names:
        cur: Any = d
        for part in n.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        out[n.replace(".", "_")] = cur
        out[f"{n.replace('.', '_')}__type"] = _type_name(cur)
    return out


WEIBO_FIELDS = ("id", "created_at", "text", "user", "user.id", "user.screen_name", "user.followers_count",
                "reposts_count", "comments_count", "attitudes_count")
RSS_FIELDS = ("id", "link", "title", "published", "updated", "summary")
COMMENT_FIELDS = ("id", "created_at", "text", "user", "user.id", "user.screen_name", "like_count")


def _json_page(rec: dict[str, Any], i: int, bad_pages: list[tuple[int, str]]) -> dict[str, Any] | None:
    """The JSON document of a raw page with ``ok: 1``; None for an error page (the crawl already
    reported it) or a body that is not JSON (noted in ``bad_pages``)."""
    from listening.sources.base import record_body

    try:
        doc = json.loads(record_body(rec))
    except ValueError:
        bad_pages.append((i, "raw page is not JSON"))
        return None
    return doc if isinstance(doc, dict) and doc.get("ok") == 1 else None


def flatten_raw(kind: str, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """One row per item of the raw responses (with ``record_no``), and the pages that are malformed."""
    from listening.sources.base import record_body

    items: list[dict[str, Any]] = []
    bad_pages: list[tuple[int, str]] = []
    purpose = _RAW_PAGE_PURPOSES.get(kind)
    for i, rec in enumerate(records):
        if rec.get("purpose") != purpose:
            continue
        if kind == "weibo_search":
            doc = _json_page(rec, i, bad_pages)
            if doc is None:
                continue
            cards = (doc.get("data") or {}).get("cards") if isinstance(doc.get("data"), dict) else None
            if not isinstance(cards, list):
                bad_pages.append((i, "search page without data.cards list"))
                continue
            for mb in _iter_cards(cards):
                items.append({"record_no": i, "native_id": str(mb.get("id") or mb.get("mid") or ""),
                              "_item": mb, **_fields(mb, WEIBO_FIELDS)})
        elif kind == "weibo_comments":
            doc = _json_page(rec, i, bad_pages)  # ok: 0 is "no comments" or an error page
            if doc is None:
                continue
            data = doc.get("data")
            comments = data.get("data") if isinstance(data, dict) else None
            if not isinstance(comments, list):
                bad_pages.append((i, "comments page without data.data list"))
                continue
            for c in comments:
                inline = c.get("comments") if isinstance(c, dict) and isinstance(c.get("comments"), list) else []
                for item in [c, *inline]:
                    item = item if isinstance(item, dict) else {}
                    items.append({"record_no": i, "native_id": str(item.get("id") or item.get("mid") or ""),
                                  "_item": item, **_fields(item, COMMENT_FIELDS)})
        elif kind == "rss":
            if not record_body(rec):
                continue
            import feedparser

            feed = feedparser.parse(record_body(rec))
            if feed.bozo and not feed.entries:
                bad_pages.append((i, f"feed does not parse ({type(feed.bozo_exception).__name__})"))
                continue
            for e in feed.entries:
                d = {k: e.get(k) for k in RSS_FIELDS}
                items.append({"record_no": i, "native_id": str(e.get("id") or e.get("guid") or e.get("link") or ""),
                              "_item": d, **_fields(d, RSS_FIELDS),
                              "has_time": bool(e.get("published_parsed") or e.get("updated_parsed"))})
    return items, bad_pages


def _iter_cards(cards: list[Any]) -> Iterable[dict[str, Any]]:
    for c in cards:
        if not isinstance(c, dict):
            continue
        if c.get("card_type") == 9 and isinstance(c.get("mblog"), dict):
            yield c["mblog"]
        elif c.get("card_type") == 11:
            yield from _iter_cards(c.get("card_group") or [])


@batch_stage
def validate_raw(inputs: list[RawInput], max_bad_share: float = 0.05, directory: Path | None = None,
                 docs: DocsTarget | None = None) -> RawOutcome:
    """Check the raw items of each source against its kind's suite; find drift and bad items."""
    import pandas as pd

    out = RawOutcome()
    frames: list[tuple[dict[str, Any], Any]] = []
    per_source: list[tuple[RawInput, list[dict[str, Any]], list[tuple[int, str]], str]] = []
    for inp in inputs:
        suite_name = RAW_SUITES.get(inp.kind)
        if suite_name is None:
            continue
        items, bad_pages = flatten_raw(inp.kind, inp.records)
        out.items[inp.source_id] = len(items)
        pages = sum(1 for r in inp.records if r.get("purpose") == _RAW_PAGE_PURPOSES[inp.kind])
        for rec_no, why in bad_pages:
            out.quarantined.append(({"source_id": inp.source_id, "native_id": f"raw#{rec_no}",
                                     "raw_ref": f"{inp.raw_key}#{rec_no}", "stage": "raw"}, why))
        if pages and len(bad_pages) / pages > max_bad_share:
            out.drifted[inp.source_id] = (f"{len(bad_pages)} of {pages} raw pages of {inp.source_id} have an "
                                          f"unexpected shape: {bad_pages[0][1]}")
        per_source.append((inp, items, bad_pages, suite_name))
        if items:
            suite = load_suite(suite_name, directory)
            suite = {**suite, "name": f"{suite_name}.{inp.source_id}"}
            cols = [k for k in items[0] if k != "_item"]
            frames.append((suite, pd.DataFrame([{k: it.get(k) for k in cols} for it in items], columns=cols)))
    if not frames:
        return out
    results = run_suites(frames, {}, docs)
    if docs is not None:
        out.docs.append(docs.index_key())
    for inp, items, _bad_pages, suite_name in per_source:
        res_list = results.get(f"{suite_name}.{inp.source_id}", [])
        out.results.extend(_summaries(f"{suite_name}.{inp.source_id}", res_list))
        reasons: dict[int, list[str]] = {}
        for res in res_list:
            label = _expectation_label(res.expectation_config)
            if res.success:
                continue
            idx = res.result.get("unexpected_index_list")
            if idx is None:  # a table-level expectation: the shape itself changed
                out.drifted.setdefault(inp.source_id, f"raw {inp.kind} records of {inp.source_id}: {label} failed")
                continue
            for i in idx:
                reasons.setdefault(int(i), []).append(label)
        if items and len(reasons) / len(items) > max_bad_share:
            first = "; ".join(dict.fromkeys(next(iter(reasons.values()))))
            out.drifted.setdefault(
                inp.source_id,
                f"{len(reasons)} of {len(items)} raw {inp.kind} items of {inp.source_id} fail the schema "
                f"({len(reasons) / len(items):.0%} > {max_bad_share:.0%}): {first}")
        for i, why in sorted(reasons.items()):
            it = items[i]
            row = {"source_id": inp.source_id, "native_id": it["native_id"] or f"raw#{it['record_no']}.{i}",
                   "raw_ref": f"{inp.raw_key}#{it['record_no']}", "stage": "raw",
                   "item": json.loads(json.dumps(it["_item"], ensure_ascii=False, default=str))}
            out.quarantined.append((row, "schema: " + "; ".join(dict.fromkeys(why))))
    return out


# ---- the loaded interval -------------------------------------------------------------------------------
RECONCILE_COLUMNS = ("source_id", "status", "staged_valid", "audit_loaded", "warehouse_loaded",
                     "audit_quarantined", "warehouse_quarantined", "audit_brand_links", "warehouse_brand_links")


@batch_stage
def validate_loaded(rows: list[dict[str, Any]], sources: int, directory: Path | None = None,
                    docs: DocsTarget | None = None) -> list[dict[str, Any]]:
    """Counts of the interval in the warehouse against its audit rows (``sources`` = sources of the
    batch, one row each); raises BatchRejected on a mismatch."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(RECONCILE_COLUMNS))
    suite = load_suite("loaded_interval", directory)
    results = run_suites([(suite, df)], {"sources": sources}, docs)[suite["name"]]
    failed = [r for r in results if not r.success]
    if failed:
        what = ", ".join(_expectation_label(r.expectation_config) for r in failed)
        raise BatchRejected(f"loaded interval does not reconcile with its audit rows: {what}; counts: "
                            f"{json.dumps(rows, default=str)[:800]}")
    return _summaries(suite["name"], results)


# ---- alerts --------------------------------------------------------------------------------------------
def alerts_dir() -> Path:
    env = os.environ.get("LISTENING_REPORTS_DIR")
    return (Path(env) if env else project_root() / "data" / "reports") / "alerts"


def build_alert(subject: str, body: str, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(body)
    return msg


def send_alert(subject: str, body: str, smtp: dict[str, Any] | None, recipients: list[str],
               out_dir: Path | None = None) -> dict[str, Any]:
    """Send an alert through SMTP when configured (and recipients are known); always keep a copy on disk."""
    sender = (smtp or {}).get("from_email", "listening@localhost")
    msg = build_alert(subject, body, sender, recipients)
    folder = out_dir or alerts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"alert-{stamp}.eml"
    path.write_bytes(bytes(msg))
    sent = False
    if smtp and recipients:
        if smtp.get("ssl"):
            server: smtplib.SMTP = smtplib.SMTP_SSL(smtp["host"], smtp["port"], timeout=smtp.get("timeout", 30),
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(smtp["host"], smtp["port"], timeout=smtp.get("timeout", 30))
        with server:
            if smtp.get("starttls"):
                server.starttls(context=ssl.create_default_context())
            if smtp.get("login"):
                server.login(smtp["login"], smtp["password"] or "")
            server.send_message(msg, from_addr=sender, to_addrs=recipients)
        sent = True
    log.warning("alert %s: %s (%s)", "sent" if sent else "written", subject, path)
    return {"subject": subject, "sent": sent, "recipients": list(recipients) if sent else [], "path": str(path)}
