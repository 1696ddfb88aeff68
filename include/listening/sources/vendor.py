"""Vendor drops: CSV or JSON Lines files that a data vendor puts under a prefix.

``prefix`` is lake-relative (``vendor/acme/``, in the pipeline's own lake), an
``s3://bucket/prefix/`` (with the lake's S3 endpoint and keys) or a local folder.  Files
ending in ``.csv``/``.tsv``/``.jsonl``/``.ndjson`` (optionally ``.gz``) are read;
``format`` forces one.  ``columns`` maps the canonical fields to the vendor's column names
(JSON Lines may use dotted paths such as ``user.name``): ``native_id``, ``text`` and
``published_at`` are required; ``url``, ``title``, ``author_id``, ``author_name``,
``author_followers``, ``reposts``, ``comments``, ``likes``, ``retweet_of`` are optional.
``timestamp_format`` is ``iso`` (default; also the usual Chinese forms), ``epoch``,
``epoch_ms`` or a ``strptime`` pattern; times without an offset are in ``timezone``
(default: the config's).

Which records: those *published* in the window (the connector is not windowed; the
pipeline keeps the window's rows).  A vendor's file often lands hours or days after the
posts it holds, and a row loaded into an interval it was not published in would fail
the warehouse's "published inside the data interval" check, so selection by landing time
is not offered.  Files are found by listing the prefix; an index in the cursor
remembers, per file and version (size + ETag or modification time), the range of
publish times it holds, so an unchanged file whose rows all lie outside the window is not
read again.  A late file is therefore picked up by re-running (backfilling) the intervals
it covers.

Coverage: one slice per file read (``complete``; ``partial`` with the line numbers of
malformed rows, which are also reported by the parse as "file KEY line N: ..."; ``failed``
when the file cannot be read), plus one slice saying how many files the index skipped.
Every file read lands raw (as served; gzip or non-UTF-8 files as base64) before parsing.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from listening.core.fields import FieldError, parse_count
from listening.core.model import Mention, Window, iso, parse_iso, utc
from listening.lake import Lake, open_prefix
from listening.sources.base import Connector, FetchResult, ParseResult, Slice, record_body, set_body
from listening.sources.params import Fail
from listening.sources.webtext import decode_html, parse_time

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
REQUIRED = ("native_id", "text", "published_at")
OPTIONAL = ("url", "title", "author_id", "author_name", "author_followers", "reposts", "comments", "likes",
            "retweet_of")
MAX_PROBLEMS_IN_DETAIL = 10


class RowError(ValueError):
    pass


def file_format(key: str, forced: str | None = None) -> str | None:
    if forced:
        return forced
    name = key[:-3] if key.endswith(".gz") else key
    return FORMATS.get(Path(name).suffix.lower())


def _get(row: dict[str, Any], path: str) -> Any:
    if path in row:
        return row[path]
    cur: Any = row
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


#: the canonical fields a vendor's columns can map to
COLUMN_FIELDS = ("native_id", "text", "published_at", "url", "title", "author_id", "author_name",
                 "author_followers", "reposts", "comments", "likes", "retweet_of")


class VendorDrop(Connector):
    kind = "vendor_drop"
    windowed = False
    params_schema = {"prefix": "string", "format": "choice:csv,tsv,jsonl", "columns": "string_map",
                     "timestamp_format": "string", "timezone": "timezone", "encoding": "codec_or_auto",
                     "delimiter": "char", "pattern": "regex"}
    required_params = ("prefix", "columns")

    @classmethod
    def check_params(cls, params: dict[str, Any], key: str, fail: Fail) -> None:
        super().check_params(params, key, fail)
        cols = params["columns"]
        missing = [c for c in ("native_id", "text", "published_at") if c not in cols]
        if missing:
            raise fail(f"{key}.columns", f"must map {', '.join(missing)} (the vendor's column names)")
        extra = sorted(set(cols) - set(COLUMN_FIELDS))
        if extra:
            raise fail(f"{key}.columns.{extra[0]}", f"unknown key (allowed: {', '.join(sorted(COLUMN_FIELDS))})")
        prefix = params["prefix"]
        if prefix.lstrip("/").startswith(("raw/", "staged/")) and not prefix.startswith("/"):
            raise fail(f"{key}.prefix", "must not point into the pipeline's own raw/ or staged/ objects")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.params["timezone"]) if self.params.get("timezone") else self.config.tz

    # ---- where the files are ----------------------------------------------------------------------
    def _store(self) -> tuple[Lake, str]:
        try:
            return open_prefix(str(self.params["prefix"]), self.lake)
        except ValueError:
            raise RuntimeError(f"source {self.source.id!r}: a lake-relative prefix needs a lake") from None

    def _listing(self, store: Lake, prefix: str) -> list[dict[str, Any]]:
        out = store.list_files(prefix)
        pattern = re.compile(self.params["pattern"]) if self.params.get("pattern") else None
        forced = self.params.get("format")
        return [f for f in sorted(out, key=lambda f: f["key"])
                if file_format(f["key"], forced) and (pattern is None or pattern.search(f["key"]))]

    # ---- fetching -------------------------------------------------------------------------------
    def fetch(self, window: Window, cursor: dict[str, Any] | None = None) -> FetchResult:
        cursor = dict(cursor or {})
        res = FetchResult(cursor=cursor)
        store, prefix = self._store()
        files = self._listing(store, prefix)
        index: dict[str, dict[str, Any]] = dict(cursor.get("files") or {})
        new_index: dict[str, dict[str, Any]] = {}
        skipped = 0
        max_bytes = int(self.params.get("max_bytes", 20 * 1024 * 1024))
        for f in files:
            key = f["key"]
            sig = f"{f['size']}:{f['etag'] or (iso(f['modified']) if f['modified'] else '')}"
            entry = index.get(key)
            if entry and entry.get("sig") == sig and sig != "0:" and not self._overlaps(entry, window):
                new_index[key] = entry
                skipped += 1
                continue
            sl = Slice(window.start, window.end, "complete", query=key, pages=1)
            res.coverage.append(sl)
            if f["size"] > max_bytes:
                sl.status, sl.detail = "failed", f"file of {f['size']} bytes is larger than max_bytes {max_bytes}"
                res.errors.append(f"{key}: {sl.detail}")
                continue
            t0 = time.monotonic()
            try:
                data = store.get(key)
            except (OSError, FileNotFoundError) as exc:
                sl.status, sl.detail = "failed", f"cannot read: {exc}"
                res.errors.append(f"{key}: cannot read: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - botocore errors: recorded as this file's failure
                sl.status, sl.detail = "failed", f"cannot read: {type(exc).__name__}: {exc}"
                res.errors.append(f"{key}: {sl.detail}")
                continue
            rec: dict[str, Any] = {
                "source": self.source.id, "kind": self.kind, "purpose": "file", "url": store.uri(key),
                "status": 200,
                "headers": {"content-length": str(len(data)),
                            **({"last-modified": iso(f["modified"])} if f["modified"] else {}),
                            **({"etag": f["etag"]} if f["etag"] else {})},
                "fetched_at": iso(datetime.now(UTC)), "attempts": 1,
                "elapsed_ms": int((time.monotonic() - t0) * 1000),
                "meta": {"key": key, "size": len(data), "format": file_format(key, self.params.get("format")),
                         "landed_at": iso(f["modified"]) if f["modified"] else None},
            }
            set_body(rec, data)
            res.records.append(rec)
            res.pages += 1
            mentions, problems, warnings = self._parse_file(rec)
            times = [m.published_at for m in mentions]
            sl.items = sum(1 for t in times if window.contains(t))
            sl.detail = f"{len(mentions)} rows, {sl.items} published in the window"
            if problems:
                sl.status = "partial"
                sl.detail += f"; {len(problems)} malformed: " + "; ".join(problems[:MAX_PROBLEMS_IN_DETAIL])
                res.errors.extend(problems[:50])
            if warnings:
                sl.detail += f"; {len(warnings)} warning(s): " + "; ".join(warnings[:MAX_PROBLEMS_IN_DETAIL])
            new_index[key] = {"sig": sig, "rows": len(mentions), "bad": len(problems),
                              "min": iso(min(times)) if times else None, "max": iso(max(times)) if times else None}
        if not files:
            res.coverage.append(Slice(window.start, window.end, "complete", query=prefix or str(self.params["prefix"]),
                                      detail=f"no files under {self.params['prefix']}"))
        if skipped:
            res.coverage.append(Slice(window.start, window.end, "complete", query="(file index)", items=skipped,
                                      detail=f"{skipped} unchanged file(s) hold no row published in the window: "
                                             "not read again"))
        res.cursor["files"] = new_index
        res.cursor["last_window_end"] = iso(window.end)
        return res

    @staticmethod
    def _overlaps(entry: dict[str, Any], window: Window) -> bool:
        if not entry.get("min") or not entry.get("max"):
            return False
        return parse_iso(entry["min"]) < window.end and parse_iso(entry["max"]) >= window.start

    # ---- parsing --------------------------------------------------------------------------------
    def parse(self, records: list[dict[str, Any]], window: Window | None = None) -> ParseResult:
        out = ParseResult()
        seen: set[str] = set()
        for rec in records:
            if rec.get("purpose") != "file":
                continue
            mentions, problems, warnings = self._parse_file(rec)
            out.problems.extend(problems + warnings)
            for m in mentions:
                if m.native_id in seen:
                    continue
                seen.add(m.native_id)
                out.mentions.append(m)
        return out

    def _rows(self, text: str, fmt: str) -> list[tuple[int, dict[str, Any] | None, str]]:
        rows: list[tuple[int, dict[str, Any] | None, str]] = []
        if fmt in ("csv", "tsv"):
            delim = self.params.get("delimiter") or ("\t" if fmt == "tsv" else ",")
            reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delim)
            start = 2
            try:
                for row in reader:
                    line = start
                    start = reader.line_num + 1
                    if None in row:
                        rows.append((line, None, f"{len(row[None]) + len(reader.fieldnames or [])} fields, "
                                                 f"the header has {len(reader.fieldnames or [])}"))
                        continue
                    if any(v is None for v in row.values()):
                        rows.append((line, None, f"fewer fields than the header's {len(reader.fieldnames or [])}"))
                        continue
                    rows.append((line, row, ""))
            except csv.Error as exc:
                rows.append((start, None, f"CSV error: {exc} (rest of the file not read)"))
            return rows
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                rows.append((n, None, f"invalid JSON ({exc.msg})"))
                continue
            if not isinstance(obj, dict):
                rows.append((n, None, "not a JSON object"))
                continue
            rows.append((n, obj, ""))
        return rows

    def _parse_file(self, rec: dict[str, Any]) -> tuple[list[Mention], list[str], list[str]]:
        """(mentions, malformed rows (dropped), warnings (rows kept)), each problem naming file and line."""
        meta = rec.get("meta") or {}
        key = meta.get("key") or rec.get("url")
        fmt = meta.get("format") or file_format(str(key), self.params.get("format"))
        data = record_body(rec)
        if str(key).endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                return [], [f"file {key}: not readable gzip ({exc})"], []
        enc = self.params.get("encoding")
        text = decode_html(data, None, None if enc in (None, "auto") else enc).text
        text = text.lstrip("\ufeff")
        cols: dict[str, str] = dict(self.params.get("columns") or {})
        mentions: list[Mention] = []
        problems: list[str] = []
        warnings: list[str] = []
        fetched_at = parse_iso(rec["fetched_at"]) if rec.get("fetched_at") else datetime.now(UTC)
        for line, row, err in self._rows(text, str(fmt)):
            if row is None:
                problems.append(f"file {key} line {line}: {err}")
                continue
            try:
                mentions.append(self._mention(row, cols, rec, fetched_at, line, warnings))
            except RowError as exc:
                problems.append(f"file {key} line {line}: {exc}")
        return mentions, problems, warnings

    def _time(self, value: Any) -> datetime:
        fmt = self.params.get("timestamp_format", "iso")
        if value in (None, ""):
            raise RowError("no published_at")
        try:
            if fmt in ("epoch", "epoch_ms"):
                x = float(value)
                return datetime.fromtimestamp(x / 1000 if fmt == "epoch_ms" else x, UTC)
            if fmt == "iso":
                t = parse_time(str(value), self.tz)
                if t is None:
                    raise ValueError(value)
                return t
            dt = datetime.strptime(str(value).strip(), fmt)
            return utc(dt if dt.tzinfo else dt.replace(tzinfo=self.tz))
        except (ValueError, OverflowError, OSError):
            raise RowError(f"published_at {value!r} does not match timestamp_format {fmt!r}") from None

    def _mention(self, row: dict[str, Any], cols: dict[str, str], rec: dict[str, Any], fetched_at: datetime,
                 line: int, warnings: list[str]) -> Mention:
        def col(name: str) -> Any:
            src = cols.get(name, name)
            v = _get(row, src)
            return v.strip() if isinstance(v, str) else v

        nid = col("native_id")
        if nid in (None, ""):
            raise RowError(f"no native_id (column {cols.get('native_id', 'native_id')!r})")
        text = col("text")
        if text is None:
            raise RowError(f"no text (column {cols.get('text', 'text')!r})")
        published = self._time(col("published_at"))
        counts: dict[str, int | None] = {}
        for name in ("reposts", "comments", "likes", "author_followers"):
            v = col(name)
            try:
                counts[name] = parse_count(v) if v not in (None, "") else (None if name == "author_followers" else 0)
            except (FieldError, OverflowError, ValueError) as exc:  # a bad count does not lose the row
                warnings.append(f"file {rec.get('meta', {}).get('key')} line {line}: {name}: {exc}; row kept, "
                                f"{name} taken as {'unknown' if name == 'author_followers' else 0}")
                counts[name] = None if name == "author_followers" else 0
        nid = str(nid)
        url = col("url") or f"{rec.get('url')}#{nid}"
        author_id = col("author_id")
        return Mention(
            source=self.source.id, native_id=nid, url=str(url), text=str(text).replace("\r\n", "\n"),
            published_at=published,
            title=str(col("title")) if col("title") else None,
            author_id=str(author_id) if author_id not in (None, "") else None,
            author_name=str(col("author_name")) if col("author_name") else None,
            author_followers=counts["author_followers"], reposts=counts["reposts"] or 0,
            comments=counts["comments"] or 0, likes=counts["likes"] or 0,
            retweet_of=str(col("retweet_of")) if col("retweet_of") else None,
            raw_ref=f"{rec.get('url')}#L{line}", fetched_at=fetched_at,
        )
