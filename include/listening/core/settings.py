"""Every ``LISTENING_*`` environment variable the package reads, in one place, and the resolved settings.

Each function reads the environment when it is called (tests and the CLI change it at run time).
Airflow connections and variables are resolved on top of these by :mod:`listening.orchestration`;
the order is always: ``LISTENING_*`` variable, then the Airflow connection or variable, then the
embedded default below.

| variable | what | default |
|---|---|---|
| ``LISTENING_HOME`` | the project root | the checkout holding this package |
| ``LISTENING_CONFIG`` | brands.yaml | ``include/brands.yaml`` |
| ``LISTENING_SALES_CONFIG`` | sales.yaml | ``include/sales.yaml`` |
| ``LISTENING_WAREHOUSE_URL`` | SQLAlchemy URL of the warehouse | ``sqlite:///data/warehouse.db`` |
| ``LISTENING_LAKE_URL`` | ``s3://bucket/prefix`` or a folder | ``data/lake`` |
| ``LISTENING_REPORTS_DIR`` | report and alert files | ``data/reports`` |
| ``LISTENING_MODELS_DIR`` | retrained sentiment models and their registry | ``data/models`` |
| ``LISTENING_SENTIMENT_MODEL`` | a sentiment model file to use instead of the registry's | none |
| ``LISTENING_CACHE_DIR`` | the fast scorer's table cache | ``~/.cache/listening`` |
| ``LISTENING_DEMO_URL`` | the demo server, for sources whose base_url is ``demo`` | none |
| ``LISTENING_REPORT_RECIPIENTS`` | daily report recipients (``a@x, b@y``) | Airflow variable |
| ``LISTENING_ALERT_RECIPIENTS`` | alert recipients | Airflow variable, then the report's |
| ``LISTENING_INGEST_EVERY_MINUTES`` | minutes between ingest runs (5..60, a divisor of 60) | 60 |
| ``LISTENING_LOAD_PATH`` | ``portable`` forces the portable bulk-load path | per dialect |
| ``LISTENING_LOAD_PAUSE_AT`` / ``_MARKER`` / ``_SECONDS`` | test hook: pause a load at a step | off |
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def env(name: str) -> str | None:
    """A ``LISTENING_*`` variable, or None when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else None


def project_root() -> Path:
    """The repository root: ``$LISTENING_HOME`` or the checkout holding this package."""
    home = env("LISTENING_HOME")
    if home:
        return Path(home).resolve()
    return Path(__file__).resolve().parents[3]


def default_config_path() -> Path:
    path = env("LISTENING_CONFIG")
    return Path(path) if path else project_root() / "include" / "brands.yaml"


def default_sales_config_path() -> Path:
    path = env("LISTENING_SALES_CONFIG")
    return Path(path) if path else project_root() / "include" / "sales.yaml"


def default_warehouse_url() -> str:
    return env("LISTENING_WAREHOUSE_URL") or f"sqlite:///{project_root() / 'data' / 'warehouse.db'}"


def default_lake_url() -> str:
    return env("LISTENING_LAKE_URL") or str(project_root() / "data" / "lake")


def default_reports_dir() -> Path:
    path = env("LISTENING_REPORTS_DIR")
    return Path(path) if path else project_root() / "data" / "reports"


def models_dir() -> Path:
    """Where retrained models and the registry live: ``LISTENING_MODELS_DIR`` or ``data/models``."""
    path = env("LISTENING_MODELS_DIR")
    if path:
        return Path(path).expanduser().resolve()
    return project_root() / "data" / "models"


def sentiment_model_override() -> str | None:
    return env("LISTENING_SENTIMENT_MODEL")


def cache_root() -> Path:
    path = env("LISTENING_CACHE_DIR")
    return Path(path).expanduser() if path else Path.home() / ".cache" / "listening"


def demo_url() -> str | None:
    return env("LISTENING_DEMO_URL")


def load_path_override() -> str | None:
    return env("LISTENING_LOAD_PATH")


def load_pause() -> tuple[str | None, str | None, float]:
    """(step, marker file, seconds) of the kill-half-way test hook."""
    return (env("LISTENING_LOAD_PAUSE_AT"), env("LISTENING_LOAD_PAUSE_MARKER"),
            float(os.environ.get("LISTENING_LOAD_PAUSE_SECONDS", "120")))


def recipients_from_env(name: str) -> list[str] | None:
    """The addresses of ``LISTENING_REPORT_RECIPIENTS`` / ``LISTENING_ALERT_RECIPIENTS``; None when unset."""
    raw = os.environ.get(name)
    return None if raw is None else parse_recipients(raw)


_RECIPIENT_SPLIT = re.compile(r"[,;\n]")


def parse_recipients(raw: Any) -> list[str]:
    """E-mail recipients from a string (``"a@x, b@y; c@z"``) or a list of such strings.

    The one parser of recipient lists: brands.yaml ``alerts.channels.recipients``, the
    ``LISTENING_*_RECIPIENTS`` variables and the Airflow variables all go through it.
    Blank entries are dropped and duplicates keep their first position.
    """
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        for part in _RECIPIENT_SPLIT.split(str(item)):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


@dataclass
class Settings:
    """Where things live; resolved by the caller (env vars, Airflow connections, defaults)."""

    warehouse_url: str
    lake_url: str
    s3_client_kwargs: dict[str, Any] = field(default_factory=dict)
    source_auth: dict[str, dict[str, Any]] = field(default_factory=dict)  # source id -> headers/cookies
    base_url_override: dict[str, str] = field(default_factory=dict)  # source id -> base URL
