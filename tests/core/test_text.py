from listening.core.text import content_key, match_form, normalise, strip_html


def test_strip_weibo_html():
    html = ("<a href='/n/小明'>@小明</a> 极光X5 电池不错"
            '<span class="url-icon"><img alt=[doge] src="https://h5.sinaimg.cn/d_doge.png" /></span><br />'
            "看这里 <a href='https://m.weibo.cn/p/index'><span class='surl-text'>网页链接</span></a> &amp; 更多")
    assert strip_html(html) == "@小明 极光X5 电池不错[doge]\n看这里 网页链接 & 更多"


def test_normalise_fields_and_clean_text():
    n = normalise("@小明 #極光X5# 電池太差了[怒] https://t.cn/abc 😡😡 [doge]")
    assert n.mentions == ("小明",)
    assert n.hashtags == ("極光X5",)
    assert n.urls == ("https://t.cn/abc",)
    assert "[怒]" not in n.clean and "怒" in n.clean
    assert "doge" not in n.clean
    assert n.emoji == ("😡", "😡")
    assert n.clean == "极光X5 电池太差了怒"
    assert n.match == "@小明 #极光x5# 电池太差了"
    assert n.display.startswith("@小明 #極光X5#")  # display keeps the original script


def test_no_text_outcome():
    n = normalise("@someone https://t.cn/x 😀 [doge]")
    assert n.is_empty and n.clean == ""


def test_match_form():
    assert match_form("ＡＵＲＯＲＡ  極光\u3000手機") == "aurora 极光 手机"


def test_content_key_ignores_punctuation_and_spacing():
    a = content_key(match_form("极光X5 真香！！"))
    b = content_key(match_form("极光x5真香!"))
    assert a == b
    assert a != content_key(match_form("极光X5 真差"))
