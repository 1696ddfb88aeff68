"""Analysts' sentiment corrections (``sentiment_feedback``, migration 0003): the training data of
the ``retrain_sentiment`` DAG (:mod:`listening.sentiment.retrain`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from listening.sentiment.retrain import to_label
from listening.warehouse.dimensions import upsert
from listening.warehouse.engine import create_schema
from listening.warehouse.schema import fct_mention, sentiment_feedback

__all__ = ["add_feedback", "ensure_table", "load_feedback", "sentiment_feedback"]


def ensure_table(engine: Engine) -> None:
    """Bring the warehouse to the head revision, which has ``sentiment_feedback``."""
    create_schema(engine)


def load_feedback(engine: Engine) -> list[tuple[str, str]]:
    """``(clean_text, label)`` of every corrected mention, the latest correction per mention."""
    ensure_table(engine)
    fb = sentiment_feedback
    latest = (select(fb.c.mention_id, func.max(fb.c.corrected_at).label("at"))
              .group_by(fb.c.mention_id).subquery())
    q = (select(fct_mention.c.clean_text, fb.c.label)
         .join(latest, (latest.c.mention_id == fb.c.mention_id) & (latest.c.at == fb.c.corrected_at))
         .join(fct_mention, fct_mention.c.mention_id == fb.c.mention_id)
         .order_by(fb.c.mention_id))
    with engine.connect() as conn:
        return [(t, lab) for t, lab in conn.execute(q) if t and t.strip()]


def add_feedback(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Record corrections (``mention_id``, ``label``, ``corrected_by``, optional ``corrected_at``)."""
    ensure_table(engine)
    now = datetime.now(UTC)
    recs = [{"mention_id": r["mention_id"], "label": to_label(r["label"], str(r["mention_id"])),
             "corrected_by": r.get("corrected_by") or "unknown", "corrected_at": r.get("corrected_at") or now}
            for r in rows]
    if recs:
        with engine.begin() as conn:
            upsert(conn, sentiment_feedback, recs, ["mention_id", "corrected_at"])
    return len(recs)
