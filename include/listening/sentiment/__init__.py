"""Sentiment: the scorer the pipeline uses, the exact fast SnowNLP, the model registry, retraining.

| module | job |
|---|---|
| ``scorer`` | :class:`Scorer`: P(positive) per text, each distinct text once, with ``model_version`` |
| ``fast`` | :class:`FastSentiment`: SnowNLP's exact floats, 50-150x faster (tables cached on disk) |
| ``models`` | the stock model and the registry of retrained ones (the active model) |
| ``retrain`` | train SnowNLP's classifier on corrections, evaluate on the gold set, activate if better |
"""

from __future__ import annotations

from listening.sentiment.models import active_model_path, models_dir, read_registry
from listening.sentiment.scorer import Scorer

__all__ = ["Scorer", "active_model_path", "models_dir", "read_registry"]
