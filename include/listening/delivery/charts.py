"""Report charts as PNG bytes: matplotlib (Agg, no pyplot state), Chinese labels in the vendored font.

The font is ``include/fonts/ListeningSansSC-Regular.otf`` ("Listening Sans SC", a GB 2312 subset of
Noto Sans CJK SC under the SIL OFL 1.1, see ``include/fonts/README.md``).  It is registered with
matplotlib's font manager at first use and put first in the family list; system CJK fonts (when
there are any) and DejaVu Sans follow as per-glyph fallbacks, so a character outside the subset
still renders when the machine has it.  matplotlib is imported inside the functions only (never
at DAG parse time).
"""

from __future__ import annotations

import io
import threading
from datetime import date
from pathlib import Path
from typing import Any

from listening.config import project_root

FONT_FAMILY = "Listening Sans SC"
FALLBACK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                     "DejaVu Sans")
BAR = "#93c5fd"
BAR_DAY = "#2563eb"
LINE = "#dc2626"
_lock = threading.Lock()
_families: list[str] | None = None


def font_path() -> Path:
    return project_root() / "include" / "fonts" / "ListeningSansSC-Regular.otf"


def setup_fonts() -> list[str]:
    """Register the vendored CJK font (once) and return the font family list charts use."""
    global _families
    with _lock:
        if _families is not None:
            return _families
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib import font_manager

        path = font_path()
        if not path.exists():
            raise FileNotFoundError(f"{path}: the vendored CJK font is missing (see include/fonts/README.md)")
        known = {f.name for f in font_manager.fontManager.ttflist}
        if FONT_FAMILY not in known:
            font_manager.fontManager.addfont(str(path))
        known = {f.name for f in font_manager.fontManager.ttflist}
        _families = [FONT_FAMILY] + [f for f in FALLBACK_FAMILIES if f in known]
        return _families


def _fmt_day(d: date) -> str:
    return f"{d.month}/{d.day}"


def brand_chart(title: str, days: list[date], mentions: list[int], net: list[float | None],
                highlight: date | None = None, width_px: int = 640, scale: float = 2.0) -> bytes:
    """Volume bars (mentions per day) with net sentiment as a line on a second axis; PNG bytes.

    ``scale`` renders at that multiple of ``width_px`` (sharp on high-density screens); the HTML
    shows it at ``width_px``.
    """
    families = setup_fonts()
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    dpi = 100 * scale
    with rc_context({"font.family": families, "axes.unicode_minus": True, "font.size": 9}):
        fig = Figure(figsize=(width_px / 100, 2.6), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(days)))
        colors = [BAR_DAY if d == highlight else BAR for d in days]
        ax.bar(xs, mentions, color=colors, width=0.7, label="提及量 mentions", zorder=2)
        ax.set_ylabel("提及量 mentions")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.grid(axis="y", color="#e5e7eb", zorder=0)
        ax.set_xticks(xs)
        ax.set_xticklabels([_fmt_day(d) for d in days])
        if len(days) > 10:  # every other day, counted back from the last one; the highlighted day always
            for i, lbl in enumerate(ax.get_xticklabels()):
                lbl.set_visible((len(days) - 1 - i) % 2 == 0 or days[i] == highlight)
        for side in ("top",):
            ax.spines[side].set_visible(False)
        ax2 = ax.twinx()
        pts = [(x, v) for x, v in zip(xs, net, strict=True) if v is not None]
        if pts:
            ax2.plot([p[0] for p in pts], [p[1] for p in pts], color=LINE, marker="o", markersize=3.5,
                     linewidth=1.6, label="净情感 net sentiment", zorder=3)
        ax2.axhline(0, color=LINE, linewidth=0.6, linestyle=":", alpha=0.6)
        ax2.set_ylim(-1.05, 1.05)
        ax2.set_ylabel("净情感 net sentiment")
        ax2.spines["top"].set_visible(False)
        ax.set_title(title, loc="left", fontsize=10, pad=18)
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
        ax.legend(handles, labels, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
                  ncols=2, borderaxespad=0.2)  # above the plot, beside the title: never over a bar
        fig.tight_layout(pad=0.6)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def text_image(text: str, size: int = 40) -> Any:
    """Render ``text`` alone in the charts' fonts; returns an RGBA numpy array (for tests and checks)."""
    families = setup_fonts()
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context({"font.family": families}):
        fig = Figure(figsize=(len(text) * size / 72 + 0.4, size / 72 + 0.4), dpi=72)
        canvas = FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, text, fontsize=size, ha="center", va="center")
        canvas.draw()
        import numpy as np

        return np.asarray(canvas.buffer_rgba()).copy()
