"""Sentiment scoring: SnowNLP's probability of positive, a label and a model version.

:class:`Scorer` is what the pipeline and ``listening score`` use.  It scores the
``clean`` text (Simplified, links and handles removed; see :mod:`listening.core.text`),
scores each distinct text once per batch, and records ``model_version`` on
every score so a later model change is visible in the warehouse.  Texts with
nothing left to score get ``None`` (the "no text" outcome), never a crash.

Scores come from :class:`listening.sentiment.fast.FastSentiment`, which returns exactly
``SnowNLP(text).sentiments`` (the same floats) 50-150x faster, for the stock model and for
any retrained one.  Which model: the ``model_path`` argument, else ``LISTENING_SENTIMENT_MODEL``,
else the *active* model of the registry (``<models dir>/registry.json``, written by the
``retrain_sentiment`` DAG through :mod:`listening.sentiment.retrain` only when a candidate beats the
active model on the gold set), else SnowNLP's bundled model.  The models directory is
``LISTENING_MODELS_DIR`` or ``data/models`` under the project root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from listening.core.perf import batch_stage
from listening.core.settings import sentiment_model_override
from listening.sentiment.models import active_model_path, default_model_path, file_sha


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
        elif override := sentiment_model_override():
            model_path, self.model_source = override, "environment"
        else:
            model_path = active_model_path()
            self.model_source = "registry" if model_path else "stock"
        self.model_path = Path(model_path) if model_path else None
        self.engine = engine
        self._fast = None
        self._snow = None
        if engine in ("auto", "fast"):
            try:
                # inside: without numpy the scorer falls back to SnowNLP itself (engine "auto")
                from listening.sentiment.fast import FastSentiment
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
        self.model_version = f"snownlp-{getattr(snownlp, '__version__', '0.12.3')}+{file_sha(path)[:12]}"

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
