"""``listening``: run the pipeline's steps outside Airflow.

    listening [--config FILE] score [--normalise]         JSON Lines with "text" on stdin -> scored on stdout
    listening [--config FILE] crawl --source ID --start ISO --end ISO [--base-url URL] [--out DIR]
    listening [--config FILE] parse --source ID FILE...   raw lake files -> mentions as JSON Lines
    listening [--config FILE] report --date YYYY-MM-DD [--send | --out DIR]
    listening [--config FILE] marts build [--start D --end D]
    listening warehouse init | counts
    listening config check
    listening airflow-settings apply [FILE]
    listening demo serve [--port N] | demo run [--days N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from listening.config import ConfigError, load_config

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


def _err(msg: str) -> None:
    print(f"listening: {msg}", file=sys.stderr)


# ---- score --------------------------------------------------------------------------------------------
def _read_batches(stream: TextIO, size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for n, line in enumerate(stream, start=1):
        batch.append((n, line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def cmd_score(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from listening.sentiment import Scorer
    from listening.text import normalise

    thresholds = load_config(args.config).sentiment
    scorer = Scorer(args.model)
    skipped = 0
    for batch in _read_batches(stdin, args.batch_size):
        records: list[dict[str, Any]] = []
        texts: list[str] = []
        for n, line in batch:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                _err(f"line {n}: not valid JSON ({exc.msg}); skipped")
                skipped += 1
                continue
            if not isinstance(rec, dict) or "text" not in rec:
                _err(f"line {n}: no \"text\" field; skipped")
                skipped += 1
                continue
            if not isinstance(rec["text"], str):
                _err(f"line {n}: \"text\" is {type(rec['text']).__name__}, not a string; skipped")
                skipped += 1
                continue
            records.append(rec)
            texts.append(normalise(rec["text"]).clean if args.normalise else rec["text"])
        for rec, value in zip(records, scorer.score(texts), strict=True):
            rec["sentiment"] = value
            rec["label"] = thresholds.label(value) if value is not None else "none"
            rec["model_version"] = scorer.model_version
            stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        stdout.flush()
    if skipped:
        _err(f"{skipped} line(s) skipped")
        return EXIT_BAD_INPUT
    return 0


# ---- crawl / parse ------------------------------------------------------------------------------------
def _mention_out(m: Any) -> dict[str, Any]:
    d = m.to_json()
    return {k: d[k] for k in ("source", "native_id", "url", "text", "published_at", "author_id", "author_name",
                              "author_followers", "reposts", "comments", "likes", "brands", "retweet_of",
                              "title", "matched_terms", "is_spam", "truncated", "story_id")}


def cmd_crawl(args: argparse.Namespace) -> int:
    import tempfile

    from listening import pipeline
    from listening.lake import open_lake
    from listening.model import Window

    config = load_config(args.config)
    source = config.source(args.source)
    window = Window.parse(args.start, args.end)
    out_dir = Path(args.out) if args.out else None
    lake_dir = out_dir / "lake" if out_dir else Path(tempfile.mkdtemp(prefix="listening-crawl-"))
    lake = open_lake(str(lake_dir))
    settings = pipeline.Settings(warehouse_url="", lake_url=str(lake_dir),
                                 base_url_override={source.id: args.base_url} if args.base_url else {})
    summary = pipeline.crawl(config, source.id, window, lake, settings)
    parsed = matched = 0
    mentions = []
    if summary.get("raw_key"):
        from listening.sources import connector_class

        conn = connector_class(source.kind)(source, config, source.base_url, client=None, lake=lake)  # type: ignore[arg-type]
        result = conn.parse(lake.get_jsonl(summary["raw_key"]), window)
        parsed = len(result.mentions)
        mentions, _stats = pipeline.process_mentions(config, result.mentions, window, windowed=conn.windowed)
        mentions, _dups = pipeline.dedupe(mentions)
        matched = len(mentions)
        summary["errors"] = list(summary["errors"]) + result.problems
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "mentions.jsonl", "w", encoding="utf-8") as f:
            for m in sorted(mentions, key=lambda x: (x.published_at, x.native_id)):
                f.write(json.dumps(_mention_out(m), ensure_ascii=False) + "\n")
    print(json.dumps({
        "source": source.id, "fetched": summary["fetched"], "parsed": parsed, "matched": matched,
        "pages": summary["pages"], "coverage": summary["coverage"], "errors": summary["errors"],
        "status": summary["status"], "raw_key": summary.get("raw_key"),
    }, ensure_ascii=False))
    return 0 if summary["status"] != "failed" else 1


def cmd_parse(args: argparse.Namespace) -> int:
    from listening import pipeline
    from listening.lake import decode_jsonl
    from listening.model import Window
    from listening.sources import connector_class

    config = load_config(args.config)
    source = config.source(args.source)
    window = Window.parse(args.start, args.end) if args.start and args.end else None
    conn = connector_class(source.kind)(source, config, source.base_url, client=None)  # type: ignore[arg-type]
    records = []
    for f in args.files:
        records.extend(decode_jsonl(Path(f).read_bytes()))
    result = conn.parse(records, window)
    mentions = result.mentions
    if window is not None:
        mentions, _ = pipeline.process_mentions(config, mentions, window, windowed=conn.windowed)
    else:
        from listening.model import Window as W

        wide = W.parse("1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
        mentions, _ = pipeline.process_mentions(config, mentions, wide, windowed=True)
    for m in mentions:
        print(json.dumps(_mention_out(m), ensure_ascii=False))
    for p in result.problems:
        _err(p)
    return 0


# ---- report / marts / warehouse -----------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from listening import report
    from listening import warehouse as wh
    from listening.airflow_glue import report_recipients, smtp_settings, warehouse_url

    config = load_config(args.config)
    day = date.fromisoformat(args.date)
    engine = wh.get_engine(warehouse_url())
    smtp = smtp_settings() if args.send else None
    if args.send and smtp is None:
        _err("--send needs the Airflow connection listening_smtp (or AIRFLOW_CONN_LISTENING_SMTP)")
        return EXIT_USAGE
    result = report.daily_report(engine, config, day, smtp, report_recipients(),
                                 Path(args.out) if args.out else None)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_marts(args: argparse.Namespace) -> int:
    from listening.tasks import build_marts

    load_config(args.config)
    dates = [args.start, args.end] if args.start and args.end else None
    print(json.dumps(build_marts(dates)))
    return 0


def cmd_warehouse(args: argparse.Namespace) -> int:
    from listening import warehouse as wh
    from listening.airflow_glue import warehouse_url

    engine = wh.get_engine(warehouse_url())
    wh.create_schema(engine)
    if args.action == "counts":
        print(json.dumps(wh.table_counts(engine), indent=2))
    else:
        print(f"schema ready at {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_airflow_settings(args: argparse.Namespace) -> int:
    from listening.airflow_glue import SettingsFileError, apply_settings_file

    try:
        counts = apply_settings_file(args.file)
    except SettingsFileError as exc:
        _err(str(exc))
        return EXIT_USAGE
    print(f"applied {args.file}: {counts['connections']} connection(s), {counts['pools']} pool(s), "
          f"{counts['variables']} variable(s); {counts['removed']} removed")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.action == "serve":
        from listening.demo.server import serve_forever

        serve_forever(port=args.port)
        return 0
    from listening.demo.drive import run_demo

    return run_demo(days=args.days)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="listening", description="Social-listening pipeline steps.")
    p.add_argument("--config", help="configuration file (default: $LISTENING_CONFIG or include/brands.yaml)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("score", help="score JSON Lines with a 'text' field from stdin")
    s.add_argument("--normalise", action="store_true",
                   help="score the pipeline's clean text (Simplified, no links) instead of the raw text")
    s.add_argument("--model", help="a retrained SnowNLP sentiment model file")
    s.add_argument("--batch-size", type=int, default=2000)

    c = sub.add_parser("crawl", help="crawl one source for a window and print a JSON summary")
    c.add_argument("--source", required=True)
    c.add_argument("--start", required=True, help="ISO 8601, UTC if no offset")
    c.add_argument("--end", required=True)
    c.add_argument("--base-url", help="override the source's base URL")
    c.add_argument("--out", help="directory for mentions.jsonl (and the raw lake files)")

    pa = sub.add_parser("parse", help="turn raw lake files into mentions (JSON Lines)")
    pa.add_argument("--source", required=True)
    pa.add_argument("--start")
    pa.add_argument("--end")
    pa.add_argument("files", nargs="+")

    r = sub.add_parser("report", help="render (and optionally send) one day's report")
    r.add_argument("--date", required=True, help="local day YYYY-MM-DD")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--send", action="store_true", help="send through the listening_smtp connection")
    g.add_argument("--out", help="directory for .html/.txt/.eml (default data/reports)")

    m = sub.add_parser("marts", help="rebuild the marts")
    m.add_argument("action", choices=["build"])
    m.add_argument("--start", help="first local day YYYY-MM-DD")
    m.add_argument("--end", help="last local day YYYY-MM-DD")

    w = sub.add_parser("warehouse", help="warehouse schema and counts")
    w.add_argument("action", choices=["init", "counts"])

    cc = sub.add_parser("config", help="check the configuration file")
    cc.add_argument("action", choices=["check"])

    a = sub.add_parser("airflow-settings", help="apply airflow_settings.yaml to the Airflow DB")
    a.add_argument("action", choices=["apply"])
    a.add_argument("file", nargs="?", default="airflow_settings.yaml")

    d = sub.add_parser("demo", help="the bundled demo: serve its sources, or run the whole pipeline on it")
    d.add_argument("action", choices=["serve", "run"])
    d.add_argument("--port", type=int, default=8765)
    d.add_argument("--days", type=int, default=None, help="drive only the first N demo days")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.config:
        os.environ["LISTENING_CONFIG"] = str(Path(args.config).resolve())
    try:
        if args.command == "score":
            return cmd_score(args, sys.stdin, sys.stdout)
        if args.command == "crawl":
            return cmd_crawl(args)
        if args.command == "parse":
            return cmd_parse(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "marts":
            return cmd_marts(args)
        if args.command == "warehouse":
            return cmd_warehouse(args)
        if args.command == "config":
            cfg = load_config(args.config)
            print(f"{cfg.path}: OK ({len(cfg.brands)} brands, {len(cfg.sources)} sources, timezone {cfg.timezone})")
            return 0
        if args.command == "airflow-settings":
            return cmd_airflow_settings(args)
        if args.command == "demo":
            return cmd_demo(args)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyError as exc:
        _err(str(exc.args[0]) if exc.args else str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
