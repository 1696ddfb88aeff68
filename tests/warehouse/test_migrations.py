"""The schema under Alembic: head = listening.warehouse.metadata, legacy databases, downgrade, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from support.paths import ROOT

from listening import cli
from listening import warehouse as wh

BASELINE_TABLES = {"dim_date", "dim_brand", "dim_source", "dim_author", "fct_mention", "bridge_mention_brand",
                   "mart_brand_daily", "etl_batch", "etl_quarantine", "etl_coverage", "etl_cursor"}


def _diff(engine):
    with engine.connect() as c:
        return compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), wh.metadata)


def test_upgrade_creates_exactly_the_head_schema(engine):
    res = wh.upgrade(engine)
    assert res == {"from": None, "to": wh.head_revision()}
    assert _diff(engine) == []
    assert wh.upgrade(engine) == {"from": wh.head_revision(), "to": wh.head_revision()}  # idempotent


def test_the_baseline_revision_is_the_first_release_schema(engine):
    wh.upgrade(engine, wh.BASELINE_REVISION)
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert names == BASELINE_TABLES
    cols = {c["name"] for c in inspect(engine).get_columns("etl_batch")}
    assert "date_key" not in cols and "brand_links" not in cols


def test_a_database_from_before_migrations_is_stamped_and_upgraded(engine):
    # what the first release's metadata.create_all left: the baseline tables, no alembic_version
    wh.upgrade(engine, wh.BASELINE_REVISION)
    start = datetime(2026, 10, 31, 16, tzinfo=UTC)
    with engine.begin() as c:
        c.execute(text("DROP TABLE alembic_version"))
        c.execute(text(
            "INSERT INTO etl_batch (batch_id, source_id, interval_key, window_start, window_end, status, coverage, "
            "fetched, parsed, out_of_window, unmatched, duplicates, quarantined, loaded, errors, attempts, "
            "first_loaded_at, last_loaded_at) VALUES ('weibo/k', 'weibo', 'k', :s, :e, 'loaded', 'complete', "
            "1, 1, 0, 0, 0, 0, 1, '[]', 1, :s, :s)"), {"s": start, "e": start})
    res = wh.upgrade(engine)
    assert res == {"from": wh.BASELINE_REVISION, "to": wh.head_revision()}
    assert _diff(engine) == []
    with engine.connect() as c:
        # the migration dated the old audit row in the configured timezone (Asia/Shanghai)
        assert c.execute(select(wh.etl_batch.c.date_key)).scalar_one() == 20261101


def test_downgrade_to_the_baseline_and_back(tmp_path):
    e = wh.get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    wh.upgrade(e)
    cfg = wh.alembic_config()
    with e.begin() as c:
        cfg.attributes["connection"] = c
        command.downgrade(cfg, wh.BASELINE_REVISION)
    assert set(inspect(e).get_table_names()) - {"alembic_version"} == BASELINE_TABLES
    wh._at_head.discard(str(e.url))
    wh.create_schema(e)  # back to head
    assert _diff(e) == []


def test_create_schema_goes_through_the_migrations(tmp_path):
    e = wh.get_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    wh.create_schema(e)
    with e.connect() as c:
        assert wh.current_revision(c) == wh.head_revision()
    assert str(e.url) in wh._at_head  # the next call costs nothing


def test_cli_upgrade_counts_and_grant_on_sqlite(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", url)
    assert cli.main(["warehouse", "upgrade"]) == 0
    assert f"-> {wh.head_revision()}" in capsys.readouterr().out
    assert cli.main(["warehouse", "counts"]) == 0
    assert json.loads(capsys.readouterr().out)["fct_interaction"] == 0
    assert cli.main(["warehouse", "init"]) == 0  # the old sub-command still works
    assert cli.main(["warehouse", "grant-readonly", "bi"]) == cli.EXIT_USAGE
    assert "needs PostgreSQL" in capsys.readouterr().err


@pytest.mark.postgres
def test_concurrent_upgrades_do_not_collide(pg_url):
    code = "import sys; from listening import warehouse as wh; print(wh.upgrade(wh.get_engine(sys.argv[1]))['to'])"
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1].decode()[-2000:] for o in outs]
    assert {o[0].decode().strip() for o in outs} == {wh.head_revision()}


def test_alembic_command_line_uses_the_same_migrations(tmp_path):
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    res = subprocess.run(alembic + ["-x", f"url={url}", "upgrade", "head"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    res = subprocess.run(alembic + ["-x", f"url={url}", "current"], capture_output=True, text=True, timeout=120)
    assert wh.head_revision() in res.stdout
    assert _diff(wh.get_engine(url)) == []


def test_the_data_dictionary_documents_every_table_and_column():
    import re

    doc = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    sections = re.split(r"^### ", doc, flags=re.M)
    by_table = {s.split("`")[1]: s for s in sections[1:] if s.startswith("`")}
    missing = []
    for name, table in wh.metadata.tables.items():
        body = by_table.get(name)
        if body is None:
            missing.append(name)
            continue
        missing += [f"{name}.{c.name}" for c in table.columns if f"`{c.name}`" not in body]
    assert missing == []


def test_counts_prints_only_json_on_stdout(tmp_path):
    """Scripts diff `listening warehouse counts` between runs: no migration log lines on stdout (they
    came when the URL is read from the Airflow connection, which sets up Airflow's logging)."""
    exe = str(Path(sys.executable).with_name("listening"))
    env = {k: v for k, v in os.environ.items() if k != "LISTENING_WAREHOUSE_URL"}
    env["AIRFLOW_CONN_LISTENING_WAREHOUSE"] = f"sqlite:///{tmp_path / 'c.db'}"
    out = subprocess.run([exe, "warehouse", "counts"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["fct_mention"] == 0
