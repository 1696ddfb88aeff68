"""``listening``: run the pipeline's steps outside Airflow.

    listening [--config FILE] score [--normalise]         JSON Lines with "text" on stdin -> scored on stdout
    listening [--config FILE] crawl --source ID --start ISO --end ISO [--base-url URL] [--out DIR]
    listening [--config FILE] parse --source ID FILE...   raw lake files -> mentions as JSON Lines
    listening [--config FILE] report --date YYYY-MM-DD [--send | --out DIR]
    listening [--config FILE] alerts evaluate | run [--start ISO --end ISO] [--out DIR]
    listening [--config FILE] marts build [--start D --end D]
    listening warehouse init | counts | upgrade [--revision R] | grant-readonly ROLE [--password-env VAR]
    listening config check
    listening airflow-settings apply [FILE]
    listening airflow start [--foreground] [--port 8080] [--backfill-days N] | stop | status
    listening airflow backfill [--first YYYY-MM-DD] [--days N]
    listening demo serve [--port N] | demo run [--days N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from listening.config import ConfigError, load_config
from listening.core.model import Window, iso
from listening.core.settings import Settings
from listening.core.text import normalise
from listening.lake import decode_jsonl, open_lake
from listening.mentions.dedupe import dedupe
from listening.mentions.match import process_mentions
from listening.pipeline.crawl import crawl
from listening.sentiment import Scorer
from listening.sources import connector_class
from listening.sources.base import canonical

# The warehouse, delivery, orchestration and demo modules are imported by the subcommands that use
# them ("lazy:" below): ``listening score`` and ``crawl`` start in well under a second, while the
# orchestration layer imports Airflow (about 3 s).

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
    return canonical(m)


def _open_cli_lake(url: str) -> Any:
    kwargs: dict[str, Any] = {}
    if url.startswith("s3://"):
        from listening.orchestration.connections import lake_settings  # lazy: Airflow connections

        kwargs = lake_settings()[1]
    return open_lake(url, kwargs)


def cmd_crawl(args: argparse.Namespace) -> int:
    """Crawl one source for one window; one JSON summary on stdout, mentions.jsonl with --out."""
    import dataclasses
    import tempfile

    config = load_config(args.config)
    source = config.source(args.source)
    try:
        window = Window.parse(args.start, args.end)
    except ValueError as exc:
        _err(f"bad window: {exc}")
        return EXIT_USAGE
    out_dir = Path(args.out) if args.out else None
    lake_url = args.lake or (str(out_dir / "lake") if out_dir else tempfile.mkdtemp(prefix="listening-crawl-"))
    lake = _open_cli_lake(lake_url)
    auth: dict[str, Any] = {}
    if source.connection:
        from listening.orchestration.connections import source_auth  # lazy: Airflow connections

        try:
            auth = source_auth(dataclasses.replace(config, sources=(source,)))
        except RuntimeError as exc:
            _err(f"{exc} (define it in Airflow, or as AIRFLOW_CONN_{source.connection.upper()})")
            return EXIT_USAGE
    cursor = None
    cursor_path = Path(args.cursor) if args.cursor else None
    if cursor_path and cursor_path.exists():
        cursor = json.loads(cursor_path.read_text(encoding="utf-8") or "{}")
    settings = Settings(warehouse_url="", lake_url=lake_url, source_auth=auth,
                                 base_url_override={source.id: args.base_url} if args.base_url else {})
    summary = crawl(config, source.id, window, lake, settings, cursor=cursor)
    stats: dict[str, Any] = {"parsed": 0, "out_of_window": 0, "unmatched": 0}
    mentions: list[Any] = []
    problems: list[str] = []
    if summary.get("raw_key"):
        conn = connector_class(source.kind)(source, config, source.base_url, client=None, lake=lake)  # type: ignore[arg-type]
        result = conn.parse(lake.get_jsonl(summary["raw_key"]), window)
        mentions, st = process_mentions(config, result.mentions, window, windowed=conn.windowed)
        mentions, dups = dedupe(mentions)
        stats.update({k: st[k] for k in stats}, duplicates=dups)
        problems = result.problems
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "mentions.jsonl", "w", encoding="utf-8") as f:
            for m in sorted(mentions, key=lambda x: (x.published_at, x.native_id)):
                f.write(json.dumps(_mention_out(m), ensure_ascii=False) + "\n")
    if cursor_path and summary["status"] != "failed":
        cursor_path.write_text(json.dumps(summary.get("cursor") or {}, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    print(json.dumps({
        "source": source.id, "kind": source.kind, "window": [iso(window.start), iso(window.end)],
        "fetched": summary["fetched"], "parsed": stats["parsed"], "matched": len(mentions),
        "out_of_window": stats["out_of_window"], "unmatched": stats["unmatched"], "pages": summary["pages"],
        "coverage": summary["coverage"], "errors": list(summary["errors"]) + problems,
        "status": summary["status"], "raw_key": summary.get("raw_key"), "seconds": summary.get("seconds"),
    }, ensure_ascii=False))
    return 0 if summary["status"] != "failed" else 1


def cmd_parse(args: argparse.Namespace) -> int:
    """Raw lake files (local paths, or keys of --lake) → canonical mentions as JSON Lines."""
    config = load_config(args.config)
    source = config.source(args.source)
    if bool(args.start) != bool(args.end):
        _err("give both --start and --end, or neither")
        return EXIT_USAGE
    window = Window.parse(args.start, args.end) if args.start and args.end else None
    lake = _open_cli_lake(args.lake) if args.lake else None
    conn = connector_class(source.kind)(source, config, source.base_url, client=None, lake=lake)  # type: ignore[arg-type]
    records: list[dict[str, Any]] = []
    for f in args.files:
        try:
            data = lake.get(f) if lake is not None else Path(f).read_bytes()
            records.extend(decode_jsonl(data))
        except (OSError, ValueError) as exc:
            _err(f"{f}: {exc}")
            return EXIT_BAD_INPUT
    result = conn.parse(records, window)
    wide = Window.parse("1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    if window is not None:
        mentions, _ = process_mentions(config, result.mentions, window, windowed=conn.windowed)
    else:
        mentions, _ = process_mentions(config, result.mentions, wide, windowed=True)
    mentions, _dups = dedupe(mentions)
    out: TextIO = sys.stdout
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        out = open(Path(args.out) / "mentions.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        for m in sorted(mentions, key=lambda x: (x.published_at, x.native_id)):
            out.write(json.dumps(_mention_out(m), ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    for p in result.problems:
        _err(p)
    return 0


# ---- report / marts / warehouse -----------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    # lazy: the warehouse, the report and Airflow connections
    from listening import warehouse as wh
    from listening.delivery import report
    from listening.orchestration.connections import smtp_settings, warehouse_url
    from listening.orchestration.recipients import report_recipients

    config = load_config(args.config)
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        _err(f"--date: expected YYYY-MM-DD, got {args.date!r}")
        return EXIT_USAGE
    engine = wh.get_engine(warehouse_url())
    smtp = smtp_settings() if args.send else None
    if args.send and smtp is None:
        _err("--send needs the Airflow connection listening_smtp (or AIRFLOW_CONN_LISTENING_SMTP)")
        return EXIT_USAGE
    recipients = report_recipients()
    if args.send and not recipients:
        _err("--send needs recipients: the Airflow variable listening_report_recipients "
             "(or LISTENING_REPORT_RECIPIENTS)")
        return EXIT_USAGE
    result = report.daily_report(engine, config, day, smtp, recipients, Path(args.out) if args.out else None)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from listening.orchestration.tasks import evaluate_alerts, notify_alerts  # lazy: the whole stack, Airflow

    if bool(args.start) != bool(args.end):
        _err("give both --start and --end, or neither (the last loaded hours)")
        return EXIT_USAGE
    params = {"window_start": args.start, "window_end": args.end} if args.start else None
    result: dict[str, Any] = {"evaluated": evaluate_alerts(params)}
    if args.action == "run":
        result["notified"] = notify_alerts(args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_marts(args: argparse.Namespace) -> int:
    from listening.orchestration.tasks import build_marts  # lazy: the whole stack, Airflow

    load_config(args.config)
    dates = [args.start, args.end] if args.start and args.end else None
    print(json.dumps(build_marts(dates)))
    return 0


def cmd_warehouse(args: argparse.Namespace) -> int:
    # lazy: the warehouse and Airflow connections
    from listening import warehouse as wh
    from listening.orchestration.connections import warehouse_url

    engine = wh.get_engine(warehouse_url())
    where = engine.url.render_as_string(hide_password=True)
    if args.action == "upgrade":
        res = wh.upgrade(engine, args.revision)
        print(f"warehouse {where}: schema revision {res['from'] or '(none)'} -> {res['to']}")
        return 0
    if args.action == "grant-readonly":
        if not args.role:
            _err("warehouse grant-readonly needs a ROLE")
            return EXIT_USAGE
        password = os.environ.get(args.password_env) if args.password_env else None
        if args.password_env and password is None:
            _err(f"environment variable {args.password_env} is not set")
            return EXIT_USAGE
        try:
            tables = wh.grant_readonly(engine, args.role, password)
        except ValueError as exc:
            _err(str(exc))
            return EXIT_USAGE
        print(f"role {args.role} can SELECT {len(tables)} tables of {where}: {', '.join(tables)}")
        return 0
    if args.action == "counts":
        # stdout is the JSON alone (scripts diff it); Alembic's "Context impl ..." lines are noise here
        logging.getLogger("alembic").setLevel(logging.WARNING)
    wh.create_schema(engine)
    if args.action == "counts":
        print(json.dumps(wh.table_counts(engine), indent=2))
    else:
        print(f"schema ready at {where}")
    return 0


def cmd_airflow_settings(args: argparse.Namespace) -> int:
    from listening.orchestration.airflow_settings import (  # lazy: Airflow
        SettingsFileError,
        apply_settings_file,
    )

    try:
        counts = apply_settings_file(args.file, config=load_config(args.config))
    except SettingsFileError as exc:
        _err(str(exc))
        return EXIT_USAGE
    print(f"applied {args.file}: {counts['connections']} connection(s), {counts['pools']} pool(s), "
          f"{counts['variables']} variable(s); {counts['removed']} removed")
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    import time

    from listening.orchestration import stack as st  # lazy: Airflow

    home = Path(args.home or os.environ.get("AIRFLOW_HOME") or Path.cwd() / ".airflow").resolve()
    s = st.Stack(home=home, api_port=args.port, demo_port=args.demo_port)
    if args.action == "stop":
        stopped = st.stop(s)
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return 0
    if args.action == "backfill":
        day = date.fromisoformat(args.first) if args.first else None
        with st.api_client(s) as api:
            queued = st.backfill_days(api, day or _demo_first_day(), args.days)
        print(f"queued {len(queued)} day-wide ingest_mentions run(s): {', '.join(queued) or '(all queued before)'}")
        return 0
    if args.action == "status":
        if not s.state_file.exists():
            print("not running")
            return 1
        print(s.state_file.read_text(encoding="utf-8"))
        return 0
    print(f"starting Airflow in {home} (logs in {home / 'logs'}) ...", flush=True)
    try:
        state = st.start(s)
    except (RuntimeError, TimeoutError, OSError) as exc:
        _err(str(exc))
        return 1
    print(f"Airflow UI: {state['api_url']}   login: {s.user} / {st.password(s)}")
    print(f"demo sources: {state['demo_url']}; the DAGs are unpaused and run by their schedules")
    if args.backfill_days:
        with st.api_client(s) as api:
            queued = st.backfill_days(api, _demo_first_day(), args.backfill_days)
        print(f"backfill: {len(queued)} day-wide ingest_mentions runs of the recorded demo queued "
              f"(the scheduler works through them; watch the grid in the UI)")
    if not args.foreground:
        print("stop it with: make airflow-stop")
        return 0
    try:
        while all(_alive(pid) for pid in state["pids"].values()):
            time.sleep(2)
        _err("a component exited: see the logs; stopping the others")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        st.stop(s)


def _demo_first_day() -> date:
    from listening.demo import WINDOW_START  # lazy: the demo package (a constant)

    return WINDOW_START


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def cmd_demo(args: argparse.Namespace) -> int:
    if args.action == "serve":
        from listening.demo.server import serve_forever  # lazy: the demo world's data

        serve_forever(port=args.port)
        return 0
    from listening.demo.drive import run_demo  # lazy: dag.test() of the real DAGs, Airflow

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
    c.add_argument("--out", help="directory for mentions.jsonl (and, without --lake, the raw lake files in lake/)")
    c.add_argument("--lake", help="lake to land raw responses in and read vendor drops / posts from "
                                  "(a folder or s3://bucket/prefix; default OUT/lake or a temporary folder)")
    c.add_argument("--cursor", help="JSON file holding the source's cursor: read before, written after the crawl")

    pa = sub.add_parser("parse", help="turn raw lake files into mentions (JSON Lines)")
    pa.add_argument("--source", required=True)
    pa.add_argument("--start", help="keep only mentions of this window (ISO 8601, with --end)")
    pa.add_argument("--end")
    pa.add_argument("--lake", help="read FILES as keys of this lake (folder or s3://bucket/prefix)")
    pa.add_argument("--out", help="directory for mentions.jsonl (default: stdout)")
    pa.add_argument("files", nargs="+")

    r = sub.add_parser("report", help="render (and optionally send) one day's report")
    r.add_argument("--date", required=True, help="local day YYYY-MM-DD")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--send", action="store_true", help="send through the listening_smtp connection")
    g.add_argument("--out", help="directory for .html/.txt/.eml (default data/reports)")

    al = sub.add_parser("alerts", help="evaluate spike/crisis alerts (and with 'run', notify)")
    al.add_argument("action", choices=["evaluate", "run"],
                    help="evaluate: update alert state only; run: evaluate, then send what is due")
    al.add_argument("--start", help="first hour, ISO 8601 (UTC if no offset); default: the last loaded hours")
    al.add_argument("--end", help="end of the window, ISO 8601")
    al.add_argument("--out", help="directory for alert .eml files when no SMTP is configured")

    m = sub.add_parser("marts", help="rebuild the marts")
    m.add_argument("action", choices=["build"])
    m.add_argument("--start", help="first local day YYYY-MM-DD")
    m.add_argument("--end", help="last local day YYYY-MM-DD")

    w = sub.add_parser("warehouse", help="warehouse schema (Alembic migrations), counts and BI access")
    w.add_argument("action", choices=["init", "counts", "upgrade", "grant-readonly"],
                   help="init: create/upgrade the schema; upgrade: migrate to --revision (default head); "
                        "grant-readonly ROLE: PostgreSQL role that can only SELECT dims, facts and marts")
    w.add_argument("role", nargs="?", help="the role for grant-readonly")
    w.add_argument("--revision", default="head", help="upgrade: target Alembic revision (default head)")
    w.add_argument("--password-env", metavar="VAR",
                   help="grant-readonly: make the role a login with the password in this environment variable")

    cc = sub.add_parser("config", help="check the configuration file")
    cc.add_argument("action", choices=["check"])

    a = sub.add_parser("airflow-settings", help="apply airflow_settings.yaml to the Airflow DB")
    a.add_argument("action", choices=["apply"])
    a.add_argument("file", nargs="?", default="airflow_settings.yaml")

    af = sub.add_parser("airflow", help="a real Airflow here: api-server, scheduler, dag-processor (LocalExecutor)")
    af.add_argument("action", choices=["start", "stop", "status", "backfill"])
    af.add_argument("--backfill-days", type=int, default=0,
                    help="start: also queue day-wide ingest runs of the first N recorded demo days")
    af.add_argument("--first", help="backfill: first local day (default: the demo's first day)")
    af.add_argument("--days", type=int, default=14, help="backfill: how many days (default 14)")
    af.add_argument("--home", help="AIRFLOW_HOME (default: $AIRFLOW_HOME or ./.airflow)")
    af.add_argument("--port", type=int, default=8080, help="the UI and REST API port (default 8080)")
    af.add_argument("--demo-port", type=int, default=8765, help="the demo sources' port (default 8765)")
    af.add_argument("--foreground", action="store_true", help="stay in the foreground; Ctrl-C stops everything")
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
        if args.command == "alerts":
            return cmd_alerts(args)
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
        if args.command == "airflow":
            return cmd_airflow(args)
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
