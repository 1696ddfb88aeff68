"""Batch validation with Great Expectations (GX Core 1.x), suites kept as JSON in ``include/gx/expectations``.

Two suites run per data interval: ``staged_mentions`` (one row per mention) and
``mention_brands`` (one row per mention x matched brand).  A failing table-level
expectation (the columns are not what the loader needs) rejects the whole batch
with :class:`BatchRejected`.  Rows that fail a row-level expectation are
quarantined with the reason(s) and the rest goes on; when the quarantined share
passes ``max_bad_share`` the batch is rejected too, so a broken source cannot
quietly shrink the numbers.

``great_expectations`` and ``pandas`` are imported inside the functions: they
cost seconds and must never load at DAG-parse time.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listening.config import project_root
from listening.model import Window

log = logging.getLogger(__name__)

REQUIRED_MENTION_COLUMNS = ("mention_id", "source_id", "native_id", "url", "text", "published_ts",
                            "sentiment", "sentiment_label", "model_version", "story_id")


class BatchRejected(RuntimeError):
    """The batch must not be loaded (schema broken, or too many bad rows).

    ``outcome`` holds the row-level verdicts when there are any, so the caller can
    still quarantine the bad rows of a rejected batch.
    """

    def __init__(self, message: str, outcome: ValidationOutcome | None = None):
        super().__init__(message)
        self.outcome = outcome


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

    @property
    def bad_share(self) -> float:
        total = len(self.valid) + len(self.quarantined)
        return len(self.quarantined) / total if total else 0.0


def _expectation_label(cfg: Any) -> str:
    kw = cfg.kwargs
    meta = cfg.meta or {}
    if meta.get("reason"):
        return str(meta["reason"])
    col = kw.get("column")
    return f"{cfg.type}({col})" if col else cfg.type


def _run_suite(df: Any, suite_json: dict[str, Any], params: dict[str, Any]) -> list[Any]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics calls home
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in task logs
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas("listening")
        .add_dataframe_asset(suite_json["name"])
        .add_batch_definition_whole_dataframe("interval")
    )
    suite = ctx.suites.add(gx.ExpectationSuite(**suite_json))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite_json["name"], data=batch_def, suite=suite))
    result = vd.run(
        batch_parameters={"dataframe": df},
        expectation_parameters=params,
        result_format={"result_format": "COMPLETE"},
    )
    return list(result.results)


def validate_batch(
    mentions: list[dict[str, Any]],
    brand_rows: list[dict[str, Any]],
    window: Window,
    known_sources: list[str],
    known_brands: list[str],
    max_bad_share: float = 0.05,
    directory: Path | None = None,
) -> ValidationOutcome:
    """Validate one interval; returns the rows to load and the rows to quarantine (with reasons)."""
    import pandas as pd

    if mentions:
        missing = [c for c in REQUIRED_MENTION_COLUMNS if c not in mentions[0]]
        if missing:
            raise BatchRejected(f"schema drift: staged mentions lack columns {missing}")
    df = pd.DataFrame(mentions, columns=list(mentions[0].keys()) if mentions else list(REQUIRED_MENTION_COLUMNS))
    bdf = pd.DataFrame(brand_rows, columns=["mention_id", "brand_id"])
    params = {
        "window_start_ts": window.start.timestamp(),
        "window_end_ts": window.end.timestamp(),
        "known_sources": list(known_sources),
        "known_brands": list(known_brands),
    }
    reasons: dict[int, list[str]] = {}
    summaries: list[dict[str, Any]] = []
    for suite_name, frame, id_of_row in (
        ("staged_mentions", df, None),
        ("mention_brands", bdf, bdf["mention_id"] if len(bdf) else None),
    ):
        suite_json = load_suite(suite_name, directory)
        if frame.empty:
            summaries.append({"suite": suite_name, "expectation": "(empty batch)", "success": True, "unexpected": 0})
            continue
        for res in _run_suite(frame, suite_json, params):
            cfg = res.expectation_config
            label = _expectation_label(cfg)
            info = res.exception_info or {}
            if info.get("raised_exception"):
                raise BatchRejected(f"{suite_name}: {label} could not run: {info.get('exception_message')}")
            idx = list(res.result.get("unexpected_index_list") or [])
            summaries.append({"suite": suite_name, "expectation": label, "success": bool(res.success),
                              "unexpected": len(idx)})
            if res.success:
                continue
            if (cfg.meta or {}).get("level") == "table" or "column" not in cfg.kwargs:
                raise BatchRejected(f"{suite_name}: {label} failed: {json.dumps(res.result, default=str)[:500]}")
            for i in idx:
                if id_of_row is None:
                    reasons.setdefault(int(i), []).append(label)
                else:
                    # a bad brand row quarantines its mention
                    mid = id_of_row.iloc[int(i)]
                    for j in df.index[df["mention_id"] == mid]:
                        reasons.setdefault(int(j), []).append(label)
    valid, quarantined = [], []
    for i, row in enumerate(mentions):
        if i in reasons:
            quarantined.append((row, "; ".join(dict.fromkeys(reasons[i]))))
        else:
            valid.append(row)
    outcome = ValidationOutcome(valid, quarantined, summaries)
    if mentions and outcome.bad_share > max_bad_share:
        top = quarantined[0][1] if quarantined else ""
        raise BatchRejected(
            f"{len(quarantined)} of {len(mentions)} rows failed validation ({outcome.bad_share:.1%} > "
            f"{max_bad_share:.0%}); first reason: {top}",
            outcome,
        )
    return outcome
