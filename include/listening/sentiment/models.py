"""The sentiment models: SnowNLP's stock model, and the registry of retrained ones.

The registry is ``<models dir>/registry.json`` (``LISTENING_MODELS_DIR`` or ``data/models``), written
by :mod:`listening.sentiment.retrain` only when a candidate beats the active model on the gold set.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from listening.core.settings import models_dir

log = logging.getLogger(__name__)

__all__ = ["REGISTRY_NAME", "active_model_path", "default_model_path", "file_sha", "models_dir", "read_registry"]

REGISTRY_NAME = "registry.json"


def file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_model_path() -> Path:
    import snownlp.sentiment as s

    base = Path(s.__file__).parent / "sentiment.marshal"
    return base.with_name(base.name + ".3") if (base.with_name(base.name + ".3")).exists() else base


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
