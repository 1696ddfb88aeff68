"""`listening score`: JSON Lines in, scored JSON Lines out; bad lines reported and skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from snownlp import SnowNLP

LISTENING = str(Path(sys.executable).with_name("listening"))


def run(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LISTENING, "score", *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_scores_equal_snownlp_and_keep_fields():
    texts = ["这个手机真好用，拍照清晰", "太差了，电池一天三充", "今天天气不错", "極光手機", "a", "😀👍", "x" * 3000]
    stdin = "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    res = run(stdin)
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["id"] for o in out] == list(range(len(texts)))
    for o, t in zip(out, texts, strict=True):
        assert o["text"] == t
        assert o["sentiment"] == SnowNLP(t).sentiments  # exactly SnowNLP's float
        assert o["label"] in {"negative", "neutral", "positive"}
        assert o["model_version"].startswith("snownlp-")


def test_bad_lines_are_reported_and_skipped():
    stdin = "\n".join([
        json.dumps({"text": "很好"}, ensure_ascii=False),
        "{not json",
        json.dumps({"body": "no text field"}),
        json.dumps({"text": 42}),
        json.dumps(["text"]),
        "",
        json.dumps({"text": "很差"}, ensure_ascii=False),
        json.dumps({"text": ""}),
    ]) + "\n"
    res = run(stdin)
    assert res.returncode == 1
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["text"] for o in out] == ["很好", "很差", ""]
    assert out[2]["sentiment"] is None and out[2]["label"] == "none"  # "no text": an outcome, not a crash
    err = res.stderr
    assert "line 2: not valid JSON" in err
    assert 'line 3: no "text" field' in err
    assert "line 4:" in err and "not a string" in err
    assert "line 5:" in err
    assert "4 line(s) skipped" in err


def test_normalise_flag_scores_clean_text():
    t = "極光手機的電池太差了 https://t.cn/x @某人"
    res = run(json.dumps({"text": t}, ensure_ascii=False) + "\n", "--normalise")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["sentiment"] == SnowNLP("极光手机的电池太差了").sentiments
