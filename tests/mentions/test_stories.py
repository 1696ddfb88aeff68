"""Stories: SimHash near-duplicates grouped under stable story ids (issue 4.2, tier 3)."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from support.paths import ROOT, load_module

from listening.core.model import Mention, Window
from listening.lake import LocalLake
from listening.mentions import stories
from listening.mentions.match import process_mentions
from listening.mentions.stories import StoryIndex, assign_interval, nearest_earlier, simhash, story_core
from listening.pipeline.score import score

T0 = datetime(2026, 11, 5, 11, 0, tzinfo=UTC)
CAMPAIGN = "【极光X5 Pro双十一狂欢】到手价3999元起，24期免息，下单即送原装67W快充！性能、影像、续航全面升级，手慢无"


def _m(nid: str, text: str, minutes: int = 0, **kw) -> Mention:
    m = Mention(source="weibo", native_id=nid, url=f"https://m.weibo.cn/detail/{nid}", text=text,
                published_at=T0 + timedelta(minutes=minutes), **kw)
    m.clean_text = kw.get("clean_text") or text
    return m


def test_simhash_is_deterministic_across_processes():
    cores = [story_core(CAMPAIGN), "极光x5电池鼓包", "a", ""]
    here = simhash(cores).tolist()
    code = ("import sys; from listening.mentions.stories import simhash, story_core; "
            "print(simhash([story_core(sys.argv[1]), '极光x5电池鼓包', 'a', '']).tolist())")
    out = subprocess.run([sys.executable, "-c", code, CAMPAIGN], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert out.stdout.strip() == str(here)
    assert here[3] == 0 and here[0] != 0


def test_simhash_near_for_variants_far_for_unrelated():
    # one or two small variations each, as the campaign copies of the demo (measured: 7, 7, 2, 0, 7)
    variants = [CAMPAIGN, "冲！" + CAMPAIGN.replace("狂欢", "盛典"), CAMPAIGN.replace("到手价", "券后价") + "[赞]",
                CAMPAIGN + "[赞]", CAMPAIGN.replace("，", ","), "好价速上车：" + CAMPAIGN]
    fps = simhash([story_core(v) for v in variants]).tolist()
    assert max(stories.hamming(fps[0], f) for f in fps[1:]) <= stories.MAX_DISTANCE
    unrelated = simhash([story_core(t) for t in ("今天天气不错，出去走走", "这家酒店的早餐种类很多，服务也好")]).tolist()
    assert min(stories.hamming(fps[0], u) for u in unrelated) > 2 * stories.MAX_DISTANCE


def test_nearest_earlier_matches_brute_force():
    rng = np.random.default_rng(7)
    base = rng.integers(1, 2**63, 300, dtype=np.int64).astype(np.uint64)
    fps = [int(b) for b in base]
    for _ in range(400):  # planted near neighbours at distances 0..10
        f = fps[rng.integers(len(fps))]
        for bit in rng.choice(64, size=rng.integers(0, 11), replace=False):
            f ^= 1 << int(bit)
        fps.append(f)
    arr = np.array(fps, dtype=np.uint64)
    arr[5] = 0  # "no fingerprint" is never a candidate
    queries = np.arange(1, len(fps), 3)
    got, got_d = nearest_earlier(arr, queries, 7)
    for q, g, gd in zip(queries.tolist(), got.tolist(), got_d.tolist(), strict=True):
        cands = [(stories.hamming(int(arr[q]), int(arr[j])), j) for j in range(q) if arr[j] != 0]
        cands = [c for c in cands if c[0] <= 7]
        want = min(cands) if cands else (64, -1)
        assert (gd, g) == want if cands else g == -1


def test_assign_reposts_copies_near_duplicates_and_short_texts():
    idx = StoryIndex()
    orig = _m("1", CAMPAIGN)
    ms = [
        orig,
        _m("2", "转发微博", 1, retweet_of="1", quoted_text=CAMPAIGN, clean_text=CAMPAIGN),
        _m("3", "冲！" + CAMPAIGN.replace("狂欢", "盛典"), 2),                          # near copy
        _m("4", CAMPAIGN.replace("，", ",") + "!!", 3),                             # exact core
        _m("5", "极光X5 电池鼓包了，充电烫得拿不住，太吓人了", 4),                     # unrelated
        _m("6", "好用", 5), _m("7", "好用！", 6), _m("8", "好看", 7),                  # short: exact only
        _m("9", "", 8),                                                            # no text
    ]
    decided = {a.mention_id: a for a in idx.assign(ms)}
    sid = "weibo:1"
    assert [m.story_id for m in ms[:4]] == [sid] * 4
    assert decided["weibo:2"].how == "repost" and decided["weibo:3"].how == "near"
    assert decided["weibo:4"].how == "exact"
    assert ms[4].story_id == "weibo:5" and decided["weibo:5"].how == "new"
    assert ms[5].story_id == ms[6].story_id == "weibo:6" and ms[7].story_id == "weibo:8"
    assert ms[8].story_id == "weibo:9" and decided["weibo:9"].how == "empty"


def test_story_id_is_the_earliest_member_whatever_the_input_order():
    a = [_m("10", CAMPAIGN, 5), _m("11", "冲！" + CAMPAIGN, 1), _m("12", CAMPAIGN + "[心]", 9)]
    StoryIndex().assign(list(reversed(a)))
    assert {m.story_id for m in a} == {"weibo:11"}


def test_long_ids_are_hashed_to_fit_the_column():
    sid = stories.story_id_for("forum:" + "x" * 80)
    assert sid.startswith("sha1:") and len(sid) <= 64


def test_stories_are_stable_across_intervals_and_reruns(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    w1 = Window(T0, T0 + timedelta(hours=1))
    w2 = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    first = [_m("1", CAMPAIGN, 2), _m("2", "极光X5 电池鼓包了，充电烫得拿不住", 3)]
    assign_interval(first, lake, w1)
    second = [_m("3", "好价速上车：" + CAMPAIGN, 70),
              _m("4", "转发微博", 75, retweet_of="2", quoted_text="极光X5 电池鼓包了，充电烫得拿不住")]
    stats = assign_interval(second, lake, w2)
    assert second[0].story_id == "weibo:1" and second[1].story_id == "weibo:2"
    assert stats["indexed_before"] == 2 and stats["how"] == {"near": 1, "repost": 1}
    # re-running the second interval (Airflow clear) gives the same ids, even in another order
    again = [_m("4", "转发微博", 75, retweet_of="2", quoted_text="极光X5 电池鼓包了，充电烫得拿不住"),
             _m("3", "好价速上车：" + CAMPAIGN, 70)]
    assign_interval(again, lake, w2)
    assert {m.native_id: m.story_id for m in again} == {"3": "weibo:1", "4": "weibo:2"}
    assert lake.exists(stories.state_key(w2))


def test_index_outside_the_lookback_is_not_read(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    w1 = Window(T0, T0 + timedelta(hours=1))
    assign_interval([_m("1", CAMPAIGN, 1)], lake, w1)
    late = T0 + stories.LOOKBACK + timedelta(days=2)
    m = _m("2", CAMPAIGN, 0)
    m.published_at = late + timedelta(minutes=1)
    assign_interval([m], lake, Window(late, late + timedelta(hours=1)))
    assert m.story_id == "weibo:2"


def test_index_forgets_old_fingerprints():
    idx = StoryIndex()
    idx.assign([_m("1", CAMPAIGN, 0)])
    idx.forget_before((T0 + timedelta(days=1)).timestamp())
    m = _m("2", "冲！" + CAMPAIGN, 60 * 48)
    idx.assign([m])
    assert m.story_id == "weibo:2"


# ---- the demo corpus's truth ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_result():
    from listening.config import load_config

    ev = load_module(ROOT / "bench" / "eval_stories.py")
    config = load_config(ROOT / "include" / "brands.yaml")
    mentions = ev.demo_mentions(config)
    ev.assign_daily(mentions, config)
    return ev.evaluate(mentions), mentions


def test_demo_campaigns_are_one_story_each(demo_result):
    res, mentions = demo_result
    assert res["campaign_stories"] == {"campaign:aurora_double11": 1, "campaign:xingchen_s3_launch": 1}
    assert res["campaign_mentions"] == {"campaign:aurora_double11": 31, "campaign:xingchen_s3_launch": 16}
    assert res["missed_pairs"] == 0


def test_demo_repost_storm_is_one_story_with_many_mentions(demo_result):
    _res, mentions = demo_result
    by_story: dict[str, int] = {}
    for m in mentions:
        by_story[m.story_id] = by_story.get(m.story_id, 0) + 1
    statement = next(m for m in mentions if m.author_name == "极光手机官方" and "说明" in m.text
                     and not m.retweet_of)
    reposts = [m for m in mentions if m.retweet_of == statement.native_id]
    assert len(reposts) >= 30
    assert {m.story_id for m in reposts} == {statement.story_id} == {f"weibo:{statement.native_id}"}
    assert by_story[statement.story_id] >= len(reposts) + 1


def test_demo_distinct_posts_do_not_merge(demo_result):
    res, _ = demo_result
    # merged pairs whose texts are really unlike (bigram Jaccard < 0.5): measured 4 (3 distinct pairs)
    assert res["false_merge_pairs_unlike_text"] <= 10, res["unlike_examples"]
    assert res["stories"] < res["mentions"] and res["stories"] >= 0.6 * res["truth_groups"]


def test_score_step_assigns_stories_through_the_lake(config, tmp_path):
    from listening.lake import staged_key

    lake = LocalLake(tmp_path / "lake")
    w = Window(T0, T0 + timedelta(hours=1))
    ms, _ = process_mentions(config, [_m("1", CAMPAIGN, 1), _m("2", "冲！" + CAMPAIGN, 2)], w)
    key = staged_key(w, "transformed")
    lake.put_jsonl(key, (m.to_json() for m in ms))
    out = score(config, w, key, lake)
    assert out["stories"] == 1
    assert {d["story_id"] for d in lake.get_jsonl(out["key"])} == {"weibo:1"}


def test_random_unrelated_texts_rarely_merge():
    rng = random.Random(3)
    alphabet = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(20, 120))) for _ in range(3000)]
    ms = [_m(str(i), t, i) for i, t in enumerate(texts)]
    StoryIndex().assign(ms)
    assert len({m.story_id for m in ms}) == len(ms)
