import pytest
from hypothesis import given
from hypothesis import strategies as st

from listening.config.query import QuerySyntaxError, parse_query


@pytest.mark.parametrize(
    "query, text, expected",
    [
        ("极光", "极光X5 真不错", ["极光"]),
        ("(极光 OR aurora) NOT 北极光", "去漠河看北极光", None),
        ("(极光 OR aurora) NOT 北极光", "Aurora X5 到手", ["aurora"]),
        ("(极光 OR aurora) NOT 北极光", "極光手機的電池", ["极光"]),  # Traditional matches Simplified
        ('"星辰 S3"', "星辰s3 上手", ["星辰 S3"]),
        ("星辰 NOT 星辰大海", "我们的征途是星辰大海", None),
        ("ios", "刷了bios", None),  # ASCII terms match whole words
        ("ios", "ios 更新了", ["ios"]),
        ("电池 AND 发热", "电池有点发热", ["电池", "发热"]),
        ("电池 发热", "电池不错", None),  # adjacency is AND
        ("极光 NEAR/3 电池", "极光的电池", ["极光", "电池"]),
        ("极光 NEAR/3 电池", "极光手机今天我买了然后电池", None),
        ("NOT 广告 AND 极光", "极光新品", ["极光"]),
        ("极光 OR 星辰", "星辰和极光对比", ["极光", "星辰"]),
        ("ＡＵＲＯＲＡ", "aurora fans", ["ＡＵＲＯＲＡ"]),  # NFKC full-width
        ("星辰s", "星辰S3 到了", None),
        ("星辰s*", "星辰S3 到了", ["星辰s*"]),
        ("pro*", "极光X5 Pro版", ["pro*"]),
        ("pro*", "improve", None),  # the start still needs a boundary
    ],
)
def test_match(query, text, expected):
    assert parse_query(query).match(text) == expected


@pytest.mark.parametrize(
    "query, position",
    [
        ("(极光 OR aurora", 14),
        ("极光 OR", 6),
        ("极光 )", 4),
        ('"unterminated', 1),
        ("()", 2),
        ("", 1),
        ("极光 NEAR/x 电池", 4),
        ("(a OR b) NEAR/2 c", 1),
        ("a AND AND b", 7),
    ],
)
def test_syntax_errors_name_position(query, position):
    with pytest.raises(QuerySyntaxError) as ei:
        parse_query(query)
    assert ei.value.position == position, str(ei.value)
    assert f"position {position}" in str(ei.value)


def test_positive_terms():
    q = parse_query('(极光 OR "Aurora X5") NOT (北极光 OR 漠河)')
    assert q.positive_terms() == ["极光", "Aurora X5"]


WORDS = st.sampled_from(["极光", "星辰", "蓝山", "aurora", "电池", "发热", '"屏幕 很好"'])


@st.composite
def queries(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(WORDS)
    op = draw(st.sampled_from(["AND", "OR", "NOT", ""]))
    a, b = draw(queries(depth=depth + 1)), draw(queries(depth=depth + 1))
    q = f"{a} {op} {b}" if op != "" else f"{a} {b}"
    return f"({q})" if draw(st.booleans()) else q


@given(queries(), st.text(alphabet="极光星辰蓝山电池发热屏幕很好auroa ", max_size=30))
def test_valid_queries_parse_and_match_without_error(q, text):
    res = parse_query(q).match(text)
    assert res is None or isinstance(res, list)


@given(st.text(max_size=40))
def test_parser_never_crashes_unexpectedly(q):
    try:
        parse_query(q)
    except QuerySyntaxError as exc:
        assert 1 <= exc.position <= len(q) + 1


@given(queries(), st.text(alphabet="极光星辰蓝山电池发热 ", max_size=20))
def test_not_is_complement(q, text):
    pos = parse_query(q).match(text) is not None
    neg = parse_query(f"NOT ({q})").match(text) is not None
    assert pos != neg
