"""The real thing: api-server, scheduler and dag-processor (LocalExecutor) started by
``listening.orchestration.stack`` on free ports, driven only through the REST API v2 as an operator
would, and compared with the ``dag.test()`` path for the same window."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from support.net import free_port

from listening import warehouse as wh
from listening.orchestration.stack import Stack, api_client, backfill_days, start, stop

pytestmark = pytest.mark.slow
SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 3, tzinfo=SH).astimezone(UTC)
CONF = {"window_start": DAY.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window_end": (DAY + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _counts(url: str) -> dict[str, int]:
    engine = wh.get_engine(url)
    with engine.connect() as c:
        out = {t.name: c.execute(select(func.count()).select_from(t)).scalar_one()
               for t in (wh.fct_mention, wh.bridge_mention_brand, wh.fct_interaction, wh.dim_author)}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-stack")
    s = Stack(home=home, api_port=free_port(), demo_port=free_port(), extra_env={
        "LISTENING_WAREHOUSE_URL": f"sqlite:///{home / 'warehouse.db'}",
        "LISTENING_LAKE_URL": str(home / "lake"), "LISTENING_REPORTS_DIR": str(home / "reports"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    })
    start(s)
    try:
        yield s
    finally:
        stop(s)


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_ingest_through_the_rest_api_triggers_the_asset_chain_and_matches_dag_test(stack, dags, monkeypatch):
    api = api_client(stack)
    ids = _wait(lambda: {d["dag_id"] for d in api.get("/dags").json()["dags"]} >= {
        "ingest_mentions", "build_marts", "send_alerts"} or None, 120, "the dag-processor to parse the DAGs")
    assert ids
    assert all(not d["is_paused"] for d in api.get("/dags").json()["dags"])  # up and running by their schedules
    # a day-wide backfill run, queued through the scheduler (what `make airflow` does for the demo days)
    assert backfill_days(api, DAY.astimezone(SH).date(), 1, SH) == ["day__2026-11-03"]
    assert backfill_days(api, DAY.astimezone(SH).date(), 1, SH) == []  # already queued: not twice
    run_id = "day__2026-11-03"
    assert api.get(f"/dags/ingest_mentions/dagRuns/{run_id}").json()["conf"] == CONF
    state = _wait(lambda: (s := api.get(f"/dags/ingest_mentions/dagRuns/{run_id}").json()["state"])
                  in ("success", "failed") and s, 600, "the ingest run")
    tis = {t["task_id"]: t["state"] for t in api.get(f"/dags/ingest_mentions/dagRuns/{run_id}/taskInstances")
           .json()["task_instances"]}
    assert state == "success", tis
    # the load's asset event started build_marts and send_alerts, through the scheduler
    for dag_id in ("build_marts", "send_alerts"):
        runs = _wait(lambda d=dag_id: [x for x in api.get(f"/dags/{d}/dagRuns").json()["dag_runs"]
                                       if x["run_type"] == "asset_triggered" and x["state"] == "success"] or None,
                     300, f"an asset-triggered {dag_id} run")
        assert runs
    got = _counts(stack.extra_env["LISTENING_WAREHOUSE_URL"])
    # the same window through dag.test(), into a warehouse of its own
    home = stack.home
    monkeypatch.setenv("LISTENING_WAREHOUSE_URL", f"sqlite:///{home / 'dagtest.db'}")
    monkeypatch.setenv("LISTENING_LAKE_URL", str(home / "dagtest-lake"))
    monkeypatch.setenv("LISTENING_REPORTS_DIR", str(home / "dagtest-reports"))
    monkeypatch.setenv("LISTENING_DEMO_URL", stack.demo_url)
    dr = dags["ingest_mentions"].test(logical_date=DAY, run_conf=CONF)
    assert "success" in str(dr.state)
    want = _counts(f"sqlite:///{home / 'dagtest.db'}")
    assert want["fct_mention"] > 100 and got == want
