"""The benchmarks run (tiny sizes) and print what they promise; their corpus generator is sound."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.paths import ROOT, load_module


def test_generated_corpus_is_deterministic_and_shaped_as_promised():
    bp = load_module(ROOT / "bench" / "bench_pipeline.py")
    a = list(bp.generate(3000, seed=5))
    b = list(bp.generate(3000, seed=5))
    assert [(m.native_id, m.text) for m in a] == [(m.native_id, m.text) for m in b]
    assert all(1 <= len(m.text) <= 300 for m in a)
    assert sum(len(m.text) >= 10 for m in a) / len(a) > 0.85  # reposts may be short ("转发微博")
    reposts = [m for m in a if m.retweet_of]
    assert 0.07 < len(reposts) / len(a) < 0.13 and all(m.quoted_text for m in reposts)
    ids = {m.native_id for m in a}
    assert all(m.retweet_of in ids for m in reposts)
    assert [m.published_at for m in a] == sorted(m.published_at for m in a)


@pytest.mark.slow
def test_bench_pipeline_quick_run(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_pipeline.py"), "--n", "1500", "--naive-n", "20",
                          "--no-pg"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for needle in ("normalise + match", "dedupe + stories", "score: SnowNLP vs fast scorer", "validate", "load (",
                   "END TO END", "peak RSS", "RESULT SQLite", "a subset"):
        assert needle in text, text


@pytest.mark.slow
def test_bench_t2s_quick_run(tmp_path):
    data = tmp_path / "reviews.csv"
    rows = ["label,review"] + [f"1,這個東西很實用，質量還不錯{i}" for i in range(30)] + \
        [f"0,电池太差了，发热严重，很失望{i}" for i in range(30)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_t2s.py"), "--n", "60", "--dataset", str(data)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("zhconv", "opencc", "snownlp.zh2hans", "(none)", "pol flips"):
        assert name in out.stdout
