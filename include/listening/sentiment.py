"""Sentiment scoring: SnowNLP's probability of positive, a label and a model version.

:class:`Scorer` is what the pipeline and ``listening score`` use.  It scores the
``clean`` text (Simplified, links and handles removed; see :mod:`listening.text`),
scores each distinct text once per batch, and records ``model_version`` on
every score so a later model change is visible in the warehouse.  Texts with
nothing left to score get ``None`` (the "no text" outcome), never a crash.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


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


class Scorer:
    """Scores texts with SnowNLP (or the exact fast re-implementation when it is available).

    ``model_path`` names a retrained SnowNLP sentiment model (``snownlp.sentiment.save``);
    ``LISTENING_SENTIMENT_MODEL`` does the same from the environment.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, engine: str = "auto"):
        model_path = model_path or os.environ.get("LISTENING_SENTIMENT_MODEL") or None
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

        if self.model_path:
            snow_sentiment.classifier.load(str(self.model_path).removesuffix(".3"))
            path = self.model_path
        else:
            path = default_model_path()
        self._snow = snow_sentiment.classifier
        self.model_version = f"snownlp-{getattr(snownlp, '__version__', '0.12.3')}+{_file_sha(path)[:12]}"

    def score(self, texts: Sequence[str | None]) -> list[float | None]:
        """One float in [0, 1] per text; ``None`` for empty texts."""
        distinct = sorted({t for t in texts if t and t.strip()})
        if self._fast is not None:
            values = self._fast.score_batch(distinct)
        else:
            from snownlp import SnowNLP

            values = [SnowNLP(t).sentiments for t in distinct]
        table = dict(zip(distinct, values, strict=True))
        return [table.get(t) if t and t.strip() else None for t in texts]
