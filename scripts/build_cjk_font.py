"""Rebuild the vendored CJK font ``include/fonts/ListeningSansSC-Regular.otf``.

The report charts need a font with Chinese glyphs that the project ships itself (no system
font, no download at run time).  This script subsets Noto Sans CJK SC Regular (SIL Open
Font License 1.1) to what Chinese marketing text uses:

* every character of GB 2312 (6,763 hanzi plus its symbols),
* ASCII, Latin-1, general punctuation, CJK symbols and punctuation, full-width forms,
  arrows and the geometric shapes used in chart legends,

and renames the family to "Listening Sans SC": under the OFL a modified font (a subset is
one) must not keep the original's name if it is reserved, and "Noto" is a Google trademark.

Source font: Debian's ``fonts-noto-cjk`` (``/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc``,
face "Noto Sans CJK SC"), or ``--source`` with NotoSansCJKsc-Regular.otf / a .ttc.  Needs only
fontTools (a matplotlib dependency).  Run: ``.venv/bin/python scripts/build_cjk_font.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
OUT = ROOT / "include" / "fonts" / "ListeningSansSC-Regular.otf"
FAMILY = "Listening Sans SC"
PS_NAME = "ListeningSansSC-Regular"
EXTRA_RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x2000, 0x206F), (0x2190, 0x21FF), (0x2200, 0x22FF),
    (0x2460, 0x24FF), (0x2500, 0x25FF), (0x2600, 0x26FF), (0x3000, 0x303F), (0xFF00, 0xFFEF),
]


def gb2312_chars() -> set[str]:
    out: set[str] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def load_source(path: str) -> TTFont:
    if path.endswith((".ttc", ".otc")):
        for font in TTCollection(path).fonts:
            if font["name"].getDebugName(1) == "Noto Sans CJK SC":
                return font
        raise SystemExit(f"{path}: no 'Noto Sans CJK SC' face in this collection")
    return TTFont(path)


def rename(font: TTFont) -> None:
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            name.setName(FAMILY, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 4:
            name.setName(f"{FAMILY} Regular", 4, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 6:
            name.setName(PS_NAME, 6, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 3:
            name.setName(f"{PS_NAME};subset of Noto Sans CJK SC 2.004", 3, rec.platformID, rec.platEncID,
                         rec.langID)
        elif rec.nameID in (17,):
            name.setName("Regular", rec.nameID, rec.platformID, rec.platEncID, rec.langID)
    cff = font["CFF "].cff
    cff.fontNames = [PS_NAME]
    top = cff.topDictIndex[0]
    top.FullName = f"{FAMILY} Regular"
    top.FamilyName = FAMILY
    if hasattr(top, "FDArray"):
        for fd in top.FDArray:
            if hasattr(fd, "FontName"):
                fd.FontName = PS_NAME


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if not Path(args.source).exists():
        print(f"{args.source} not found: apt-get install fonts-noto-cjk, or pass --source", file=sys.stderr)
        return 1
    font = load_source(args.source)
    chars = gb2312_chars()
    for lo, hi in EXTRA_RANGES:
        chars.update(chr(c) for c in range(lo, hi + 1))
    opts = subset.Options()
    opts.layout_features = []  # matplotlib does not shape text: no GSUB/GPOS closure needed
    opts.drop_tables += ["VORG", "vhea", "vmtx", "BASE", "GSUB", "GPOS"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.desubroutinize = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    rename(font)
    font.recalcTimestamp = False  # keep the source's head.modified: the output is reproducible
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    font.save(args.out)
    print(f"wrote {args.out}: {Path(args.out).stat().st_size:,} bytes, {len(font.getGlyphOrder())} glyphs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
