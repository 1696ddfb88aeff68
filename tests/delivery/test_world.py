"""The synthetic warehouse of the alert and report tests (support/world.py) agrees with the marts."""

from __future__ import annotations

from sqlalchemy import func, select
from support.world import steady_world, template_engine

from listening import warehouse as wh


def test_world_marts_agree_with_inserts(config, tmp_path):
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 2)
    w.flush()
    with eng.connect() as c:
        rows = {(r.date_key, r.brand_id): r for r in c.execute(select(wh.mart_brand_daily))}
        batches = c.execute(select(func.count()).select_from(wh.etl_batch)).scalar_one()
    assert rows[(20261101, "aurora")].mentions == 72
    assert rows[(20261102, "lanshan")].mentions == 24
    assert rows[(20261101, "aurora")].negative == 24
    assert batches == 2
