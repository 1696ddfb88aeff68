"""The ``score`` task: stories (near-duplicates across intervals), then sentiment.

    staged/<interval>/transformed.jsonl.gz -> staged/<interval>/scored.jsonl.gz
"""

from __future__ import annotations

import logging
import time
from typing import Any

from listening.config import Config
from listening.core.model import Mention, Window
from listening.lake import Lake, staged_key
from listening.mentions.stories import assign_interval
from listening.sentiment.scorer import Scorer

log = logging.getLogger(__name__)


def score(config: Config, window: Window, transformed_key: str, lake: Lake,
          model_path: str | None = None) -> dict[str, Any]:
    """Stories (near-duplicates, across intervals: :mod:`listening.mentions.stories`), then sentiment.

    Every mention gets ``sentiment`` (exactly SnowNLP's P(positive) of its clean text, from the
    fast scorer; ``None`` when there is no text), ``label`` from the configured thresholds
    (``none`` without text) and the active ``model_version``.
    """
    mentions = [Mention.from_json(d) for d in lake.get_jsonl(transformed_key)]
    t0 = time.monotonic()
    stories = assign_interval(mentions, lake, window)
    t1 = time.monotonic()
    scorer = Scorer(model_path)
    values = scorer.score([m.clean_text for m in mentions])
    for m, v in zip(mentions, values, strict=True):
        m.sentiment = v
        m.label = config.sentiment.label(v) if v is not None else "none"
        m.model_version = scorer.model_version
    key = staged_key(window, "scored")
    lake.put_jsonl(key, (m.to_json() for m in mentions))
    secs = time.monotonic() - t0
    log.info("scored %d mentions in %.1fs (stories %.1fs) with %s", len(mentions), secs, t1 - t0,
             scorer.model_version)
    return {"key": key, "scored": sum(v is not None for v in values), "mentions": len(mentions),
            "model_version": scorer.model_version, "seconds": round(secs, 3),
            "stories": stories["stories"]}
