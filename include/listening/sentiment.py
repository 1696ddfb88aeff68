"""Sentiment scoring: SnowNLP's probability of positive, a label and a model version.

:class:`Scorer` is what the pipeline and ``listening score`` use.  It scores the
``clean`` text (Simplified, links and handles removed; see :mod:`listening.text`),
scores each distinct text once per batch, and records ``model_version`` on
every score so a later model change is visible in the warehouse.  Texts with
nothing left to score get ``None`` (the "no text" outcome), never a crash.

Scores come from :class:`listening.fastsentiment.FastSentiment`, which returns exactly
``SnowNLP(text).sentiments`` (the same floats) 50-150x faster, for the stock model and for
any retrained one.  Which model: the ``model_path`` argument, else ``LISTENING_SENTIMENT_MODEL``,
else the *active* model of the registry (``<models dir>/registry.json``, written by the
``retrain_sentiment`` DAG through :mod:`listening.retrain` only when a candidate beats the
active model on the gold set), else SnowNLP's bundled model.  The models directory is
``LISTENING_MODELS_DIR`` or ``data/models`` under the project root.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from listening.perf import batch_stage

log = logging.getLogger(__name__)

REGISTRY_NAME = "registry.json"


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_model_path() -> Path:
    import snownlp.sentiment as s

    base = Path(s.__file__).parent / "sentiment.marshal"
    return base.with_name(base.name + ".3") if (base.with_name(base.name + ".3")).exists() else base


def models_dir() -> Path:
    """Where retrained models and the registry live: ``LISTENING_MODELS_DIR`` or ``data/models``."""
    env = os.environ.get("LISTENING_MODELS_DIR")
    if env:
        return Path(env).expanduser().resolve()
    from listening.config import project_root

    return project_root() / "data" / "models"


def read_registry(directory: Path | None = None) -> dict[str, Any]:
    """``{"active": {...} | None, "history": [...]}``; an absent or unreadable file is an empty registry."""
    path = (directory or models_dir()) / REGISTRY_NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"active": None, "history": []}
    except (OSError, ValueError) as exc:
        log.warning("model registry %s unreadable (%s): using the stock model", path, exc)
        return {"active": None, "history": []}
    doc.setdefault("active", None)
    doc.setdefault("history", [])
    return doc


def active_model_path(directory: Path | None = None) -> Path | None:
    """The registry's active model file, when there is one and it exists."""
    directory = directory or models_dir()
    active = read_registry(directory).get("active")
    if not active or not active.get("path"):
        return None
    path = Path(active["path"])
    if not path.is_absolute():
        path = directory / path
    for candidate in (path, Path(str(path) + ".3")):
        if candidate.is_file():
            return path
    log.warning("active model %s is missing: using the stock model", path)
    return None


class Scorer:
    """Scores texts with SnowNLP's model (through the exact fast re-implementation when it is available).

    ``model_path`` names a retrained SnowNLP sentiment model (``snownlp.sentiment.save``; the
    name without or with its ``.3`` suffix); ``LISTENING_SENTIMENT_MODEL`` does the same from the
    environment; otherwise the registry's active model, otherwise the stock model.
    ``model_source`` says which of these was used.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, engine: str = "auto"):
        if model_path:
            self.model_source = "argument"
        elif os.environ.get("LISTENING_SENTIMENT_MODEL"):
            model_path, self.model_source = os.environ["LISTENING_SENTIMENT_MODEL"], "environment"
        else:
            model_path = active_model_path()
            self.model_source = "registry" if model_path else "stock"
        self.model_path = Path(model_path) if model_path else None
        self.engine = engine
        self._fast = None
        self._snow = None
        if engine in ("auto", "fast"):
            try:
                from listening.fastsentiment import FastSentiment
            except ImportError:
                if engine == "fast":
                    raise
            else:
                kwargs = {"sentiment_model": str(self.model_path)} if self.model_path else {}
                self._fast = FastSentiment(**kwargs)
                self.model_version = self._fast.model_version
                return
        self._init_snownlp()

    def _init_snownlp(self) -> None:
        import snownlp
        from snownlp import sentiment as snow_sentiment

        self._snow = snow_sentiment.Sentiment()  # private: never changes SnowNLP's global classifier
        if self.model_path:
            name = str(self.model_path).removesuffix(".3")
            self._snow.load(name)
            path = Path(name + ".3") if Path(name + ".3").exists() else Path(name)
        else:
            self._snow.load()
            path = default_model_path()
        self.model_version = f"snownlp-{getattr(snownlp, '__version__', '0.12.3')}+{_file_sha(path)[:12]}"

    @batch_stage
    def score(self, texts: Sequence[str | None]) -> list[float | None]:
        """One float in [0, 1] per text; ``None`` for empty texts."""
        distinct = sorted({t for t in texts if t and t.strip()})
        if self._fast is not None:
            values = self._fast.score_batch(distinct)
        else:
            values = [self._snow.classify(t) for t in distinct]
        table = dict(zip(distinct, values, strict=True))
        return [table.get(t) if t and t.strip() else None for t in texts]
