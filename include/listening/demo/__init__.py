"""The bundled, recorded demo world and the local HTTP server that replays it.

``python -m listening.demo.generate`` writes the corpus under ``include/demo/``;
:class:`listening.demo.server.DemoServer` serves it on 127.0.0.1 with the URL
forms of the live sites (m.weibo.cn mobile API, an RSS 2.0 and an Atom feed).
"""

from __future__ import annotations

from datetime import date, timedelta, timezone
from pathlib import Path

from listening.core.settings import project_root

#: the demo world's local time zone (Asia/Shanghai, no DST)
TZ = timezone(timedelta(hours=8))
#: first local day of the 14-day window
WINDOW_START = date(2026, 11, 1)
WINDOW_DAYS = 14
#: the negative-spike day for the "aurora" brand (battery crisis)
SPIKE_DAY = date(2026, 11, 10)
DEFAULT_SEED = 20261101

BRANDS = {
    "aurora": {"zh": "极光", "en": "Aurora", "models": ["极光X5", "极光X5 Pro", "极光Note 3"], "ours": True},
    "xingchen": {"zh": "星辰", "en": "Xingchen", "models": ["星辰S3"], "ours": False},
    "lanshan": {"zh": "蓝山", "en": "Lanshan", "models": ["蓝山M2"], "ours": False},
}
OWNED_ACCOUNTS = {"极光手机官方": "aurora", "极光客服": "aurora", "星辰手机": "xingchen", "蓝山科技": "lanshan"}


def repo_root() -> Path:
    """The project root: ``$LISTENING_HOME`` if set, else the checkout holding this package."""
    return project_root()


def default_data_dir() -> Path:
    """Where the recorded demo corpus lives (``include/demo`` of the project)."""
    return repo_root() / "include" / "demo"
