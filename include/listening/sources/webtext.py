"""Web pages to text: the encoding, the main text, title, author and publish time, and the
clean-up of conversion artefacts.

**Encoding.**  Candidates are a byte-order mark, the charset of the Content-Type header,
the page's own <meta charset> / http-equiv / XML declaration, and what detection
(charset-normalizer) proposes, plus UTF-8, GB18030 and Big5-HKSCS.  Declared names are
widened to their supersets (GB2312/GBK → GB18030, Big5 → Big5-HKSCS).  Each candidate that
decodes without error is scored by how plausible its non-ASCII characters are (frequent
Chinese characters in either script, CJK punctuation, Latin letters inside words): a
wrong decoding of Chinese produces rare characters.  The first declared charset wins
unless another candidate is clearly more plausible: then the page's declaration was wrong,
and the note says so.

**Artefacts.**  Ruby annotations (<rt>/<rp>) are dropped before extraction;
pinyin in parentheses after a character, 創(chuàng)業(yè), is removed when it carries a
tone (mark or digit) or when the page has several of them (so 极光(Aurora) stays);
zero-width characters, U+FFFD and "锟斤拷" runs (text decoded wrongly before it was
published) are removed and counted; U+3000 and no-break spaces become spaces.
"""

from __future__ import annotations

import codecs
import html as htmllib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urldefrag, urljoin
from zoneinfo import ZoneInfo

from listening.core.model import utc
from listening.sources.http import charset_of

#: the 1500 most frequent Chinese characters (Simplified; from jieba's dictionary)
COMMON_HANS = "一是人了不在有大中国和为这上他个地年来我会以到时要出的生学说道民家子也成行下们于后就发自之对得主长可过天作分方用多你着部能市等业全里工公经本都而高政法面门动日进区事代那去心小同北定开产前其军还然起种所如现理机体表力好外与文当两实重新三么只山水关明从化平建又制南内西没此将员名手最东头者月间无安看见各城十相但已些正口通想度加第她合院物性战由位常点海意场武使次二向治因立数样身情入原问把路被并利石老教万知级量任江及应省资委务元美特期世湖回系比气汉总展电科金先声提品设或义王社很统处四首共马形己儿司太目基领队直计别女权话少流命至报米给打变果书清活几州华解议更称程今决张导术府才保交放管结师便走达族反再题色五京河接条规式县白它改风光运信受什组听布百济党指论强做取技黄神选记斯真却职号界件花类何眼兵传带空干农边据集联古广完质阳难增历史专官每住商即步认车台林必死游举线言皇土团收考求德叫近备研争非具李众连调感转笑革该持始英克士尔让拉思根格造较际亲单朝红型价校约器字段周亚深候则功属积快图火千准究往极育装许参半令吃观鱼精办像帝八复影告远群包整构料随划算象容示投势热值夫网望源息语股铁断派速怎需片爱律纪支早况病境证编越局推满且列觉服双未居除乐企引标确织初青志率项飞球节察龙响药站施均消客失轻存低甚般击曾防请离落显罗营足素视护副食创余照兴占巴虽洲村费易试星木黑左宝置跟央识维采六底宫房音环案批切斗富乡另倒若按查故突责严桥模仅胜杀围席态破承招杨负层须父供续状域似依银范修找九致密终血旅钱赛独细效玉冲获习医演毛尽脸弹楼艺航陆右协七攻镇检写苏宗章注阿抗弟坐验封紧劳户优财养适陈喜卫排射哥油刻留急降念云微伤例景拿绝阶座刘刚害印亿沙母酒助闻超审待压升送监策略限竟香配藏敌呢差仍兰温园树征善波哪词岛止预怕继皮执味份角草男普答益谁船惊核街夏宣掌田久著画辑奇尼剑吧谈背免孩礼材愿洋春架筑括晚乱乎讲尚良友临激刀夜室既敢邦挥昌板胡欧福港叶简苦担句岁荆贵娘守辖威宜衣帮块堂额错剧充欢够孙班呼阵销坚练脚退读测吴希宁换版异某顾曲楚典朱毒菜判救宋茶洪含顺啊鲜败货矿端兄归冷忙买险康评肉吗厂永哈沉散遗停笔假输牛洞松渐顶训录否述毕督控丰献姑忽爷互亮纳襄登咱钟伯臣雄季脑介鄂召饭暗扩祖齐短烈赶牌恩诉移诗础露届蒙静喝盘卖植授伊湾博痛减穿逐秘庭陵固禁票灵杂姓泽吸侧庆妈遇追甲馆补唐炮沿殿刺怪彩俄旧警索岸轮妇载靠附毫怀软骨探雷旁罪枪牙迎序慢盛雨墙恶谷顿危稳熟概酸操诸绿佛荣针托宽折野付午肯库厚缺罢耳屋嘴末谢巨培页瓦款犯困店智拥雪翻圣戏旗吉婚奖岩疑币圆歌廷健卡烧析讨跑烟误仙疗舞亡闭汽伸脱秋姐繁侵川莫麻秀借寻私岗卷跳丽横驻套兼您君丁束纸夺袁灯坏坦丝径购阴床瞧择墓宪峰遍鲁庙掉丹桃御舰避售怒课播拔奥延虚隐粮络遭摇潜庄混厅婆奴鼓赵访睡震予童徐韦殖抓拜吨扬址洛休纵逃染纷贸透汇灭蛋森仪塔距狐融郡缓聚盖拍迹忠释润粉涓孔岭搜紫虑促抵钢塞寺津液码虎坛珍硬梁奔累役偏迫锛凡损壁哭替税综伦冰盟挂韩竞乌尤弱铺妹秦尊竹珠迅脉泥鬼纯睛刑途隆潮幅杯握谋剂幸奉乘抱朋谓频崇壮骑紝恐享鸡虫绍铜呈泛械摆欲奶敬措爆暴签猛郭嘉障缩亦废搞胞埃曰撤暖寒订俗绩阻盐萨勒忘奏孝贴灰梅触玩默醒胸莲篇柱裁啦淡抢捕闹纺截讯朗誉雅忍梦伙勇峡徒丈尾迷唱泉泰佳残闪伍呀疾署剩贼冠倾豆申贫诺麦泪羊尖辈镜涉贡爹缘摩妻殊贝零映甘骂糖岳饮奋棉雕跃汗冒渡努赞启阁斤裂患伏池鹿洗劲晋倍圈媒箭沟锋胆凭挑抬闯隔弄曹汤苗迁叹唯振储贯彻桌祭符僧衡炸旋喊凤黎郎援肥磁忌赏辽祥董仁辛瑞询敏浪貌毁昨巧腿抽荷陷焦净腹弃乃湘亩滑狗冬宏皆番尸伟桂览恢龄绕趣晶坡魏摸伴墨浓绪舍蓝荡阅井鸿旦惯症鸟窗扎辞聘穷堰宇键荒递恨隶厉杜闲腰袭侍灾涨叔湿寨幕豪郑磨"
ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "gb_2312-80": "gb18030",
    "euc-cn": "gb18030", "hz-gb-2312": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs",
    "big5-hkscs": "big5hkscs", "cn-big5": "big5hkscs", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.I)
_CJK_PUNCT = set("，。、；：？！“”‘’（）《》〈〉【】「」『』…—·～％＋－／．：")


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    import zhconv

    return frozenset(COMMON_HANS + zhconv.convert(COMMON_HANS, "zh-tw") + zhconv.convert(COMMON_HANS, "zh-hk"))


def normalise_charset(name: str | None) -> str | None:
    if not name:
        return None
    n = name.strip().strip("\"'").lower()
    n = ALIASES.get(n, n)
    try:
        codec = codecs.lookup(n).name
    except LookupError:
        return None
    return ALIASES.get(codec, codec)


def meta_charset(body: bytes) -> str | None:
    head = body[:4096]
    m = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return m.group(1).decode("ascii", "replace") if m else None


def plausibility(text: str) -> float:
    """Share of the non-ASCII characters that look like real text (1.0 when all are ASCII)."""
    common = _common()
    total = good = 0
    for i, ch in enumerate(text):
        if ch < "\x80":
            continue
        total += 1
        if ch in common or ch in _CJK_PUNCT or ch in "\u3000\xa0\u2014\u2026\u2018\u2019\u201c\u201d\u00b7":
            good += 1
        elif ch.isalpha() and unicodedata.category(ch) in ("Ll", "Lu") and ord(ch) < 0x250:
            # a Latin letter with a diacritic counts when it sits inside an ASCII word
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if (prev.isascii() and prev.isalpha()) or (nxt.isascii() and nxt.isalpha()):
                good += 1
    return good / total if total else 1.0


@dataclass
class Decoded:
    text: str
    encoding: str
    declared: str | None = None
    where: str | None = None  # header / meta / bom / configured
    note: str = ""


def decode_html(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    if override:
        enc = normalise_charset(override) or "utf-8"
        return Decoded(body.decode(enc, errors="replace"), enc, override, "configured")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return Decoded(body.decode(enc, errors="replace"), enc.replace("-sig", ""), enc, "bom")
    declared: list[tuple[str, str, str]] = []  # (codec, as written, where)
    for raw, where in ((charset_of(content_type or ""), "header"), (meta_charset(body), "meta")):
        enc = normalise_charset(raw)
        if enc and all(enc != d[0] for d in declared):
            declared.append((enc, raw or "", where))
    if body.isascii():
        enc = declared[0][0] if declared else "utf-8"
        return Decoded(body.decode(enc, errors="replace"), enc, declared[0][1] if declared else None,
                       declared[0][2] if declared else None)
    candidates = [d[0] for d in declared] + ["utf-8"]
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:65536]).best()
        if best is not None and normalise_charset(best.encoding):
            candidates.append(normalise_charset(best.encoding) or "utf-8")
    except Exception:  # noqa: BLE001 - detection is only a hint
        pass
    candidates += ["gb18030", "big5hkscs"]
    scored: dict[str, tuple[float, str]] = {}
    for enc in candidates:
        if enc in scored:
            continue
        try:
            text = body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        scored[enc] = (plausibility(text) + (0.02 if enc == "utf-8" else 0.0), text)
    first = declared[0] if declared else None
    if not scored:
        enc = first[0] if first else "utf-8"
        return Decoded(body.decode(enc, errors="replace"), enc, first[1] if first else None,
                       first[2] if first else None, note=f"undecodable bytes replaced (as {enc})")
    best_enc = max(scored, key=lambda e: scored[e][0])
    for enc, raw, where in declared:
        if enc in scored and scored[enc][0] >= scored[best_enc][0] - 0.25:
            note = "" if (enc, raw, where) == first else f"the {first[2]} declares {first[1]}, which does not fit"
            return Decoded(scored[enc][1], enc, raw, where, note)
    note = (f"the {first[2]} declares {first[1]} but the content is {best_enc}" if first
            else f"no charset declared; detected {best_enc}")
    return Decoded(scored[best_enc][1], best_enc, first[1] if first else None, first[2] if first else None, note)


# ---- artefacts ---------------------------------------------------------------------------------------
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PLAIN = "aaaaeeeeiiiioooouuuuüüüünnnm"
_DETONE = str.maketrans(_TONED + _TONED.upper(), _PLAIN + _PLAIN.upper())
_SYLLABLE = re.compile(
    r"(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|iao|ian|uai|uan|van|üan|ai|ei|ao|ou|an|en|in|un|vn|ün|er|ia|ie|"
    r"iu|ua|uo|ue|ve|üe|ui|a|o|e|i|u|v|ü)|ng|hng|hm|m|n|ê"
)
_PINYIN_ANN = re.compile(
    r"(?P<han>[\u3400-\u9fff\uf900-\ufaff]+)[ \t]?[(（][ \t]*(?P<py>[a-zA-Zü" + _TONED + r"][a-zA-Zü" + _TONED
    + r"1-5 ']{0,30}?)[ \t]*[)）]"
)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_KUN = re.compile("(?:锟斤拷|烫烫烫|屯屯屯)+")
_RUBY = re.compile(r"<(rt|rp)\b[^>]*>.*?</\1\s*>", re.I | re.S)


def _syllables(py: str) -> int | None:
    """How many pinyin syllables py is (spaces, apostrophes or tone digits may separate them), or None."""
    s = py.translate(_DETONE).lower()
    parts = [p for p in re.split(r"[ '1-5]+", s) if p]
    n = 0
    for p in parts:
        # greedy-with-backtracking segmentation into syllables
        @cache
        def seg(i: int, p: str = p) -> int | None:
            if i == len(p):
                return 0
            best = None
            for j in range(min(len(p), i + 6), i, -1):
                if _SYLLABLE.fullmatch(p, i, j):
                    rest = seg(j)
                    if rest is not None:
                        best = rest + 1
                        break
            return best

        k = seg(0)
        if k is None:
            return None
        n += k
    return n or None


@dataclass
class Cleaned:
    text: str
    notes: list[str] = field(default_factory=list)


def strip_ruby(markup: str) -> str:
    return _RUBY.sub("", markup)


def clean_artefacts(text: str) -> Cleaned:
    notes: list[str] = []
    candidates = []
    for m in _PINYIN_ANN.finditer(text):
        n = _syllables(m.group("py"))
        if n is None or n > len(m.group("han")):
            continue
        toned = any(c in _TONED or c.isdigit() for c in m.group("py"))
        candidates.append((m, toned, n))
    if candidates:
        # untoned pinyin is only trusted one syllable per character, and when the page has several
        many = sum(1 for _m, toned, n in candidates if toned or n == 1) >= 2
        keep = {m.start() for m, toned, n in candidates if toned or (many and n == 1)}
        if keep:
            def repl(m: re.Match[str]) -> str:
                return m.group("han") if m.start() in keep else m.group(0)

            text = _PINYIN_ANN.sub(repl, text)
            notes.append(f"{len(keep)} pinyin annotation(s) removed")
    zw = len(_ZERO_WIDTH.findall(text))
    if zw:
        text = _ZERO_WIDTH.sub("", text)
    bad = text.count("\ufffd")
    kun = len(_KUN.findall(text))
    if bad or kun:
        text = _KUN.sub("", text.replace("\ufffd", ""))
        notes.append(f"{bad + kun} undecodable character run(s) removed")
    if "&" in text and re.search(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", text, re.I):
        text = htmllib.unescape(text)  # entities escaped twice by the site
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return Cleaned(text, notes)


# ---- publish time ------------------------------------------------------------------------------------
_DATE_PATTERNS = [
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
               r"(?:\s*(?:T|\s)?\s*(?P<h>\d{1,2})\s*[:：时]\s*(?P<mi>\d{2})(?:\s*[:：分]\s*(?P<s>\d{2}))?)?"
               r"(?P<tz>\s*(?:Z|[+-]\d{2}:?\d{2}))?"),
]
_LABELLED = re.compile(r"(?:发布时间|發佈時間|發布時間|发表于|發表於|发表时间|發表時間|时间|時間|日期|发布于|發布於|更新时间)"
                       r"\s*[:：]?\s*(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}[^\n<]{0,12})")


def parse_time(value: str, tz: ZoneInfo) -> datetime | None:
    """ISO 8601 and the usual Chinese forms (2026-11-05 10:30, 2026/11/5, 2026年11月5日 10:30) → UTC;
    a time without offset is local to tz."""
    if not value:
        return None
    v = value.strip()
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        return utc(dt if dt.tzinfo else dt.replace(tzinfo=tz))
    except ValueError:
        pass
    m = _DATE_PATTERNS[0].search(v)
    if not m:
        return None
    try:
        dt = datetime(int(m.group("y")), int(m.group("mo")), int(m.group("d")), int(m.group("h") or 0),
                      int(m.group("mi") or 0), int(m.group("s") or 0))
    except ValueError:
        return None
    off = (m.group("tz") or "").strip()
    if off:
        try:
            aware = datetime.fromisoformat(dt.isoformat() + (off if off != "Z" else "+00:00"))
            return utc(aware)
        except ValueError:
            pass
    return utc(dt.replace(tzinfo=tz))


# ---- extraction --------------------------------------------------------------------------------------
@dataclass
class Article:
    url: str
    title: str | None
    author: str | None
    published_at: datetime | None
    text: str
    encoding: str
    notes: list[str] = field(default_factory=list)


_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|tr|td|section|article|blockquote|pre|table|ul|ol)\s*>|<br\s*/?>", re.I)
_BYLINE = re.compile(r"^.{0,30}(?:发布时间|發佈時間|發布時間|来源|來源|作者|记者|記者|编辑|編輯|时间|時間)\s*[:：]"
                     r"|^.{0,10}(?:发表于|發表於)\s*\d{4}|^\s*\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_AUTHOR_TEXT = re.compile(r"(?:作者|作\s者|记者|記者|撰文|编辑|編輯)\s*[:：/／]\s*([^\s\u3000|｜，,。:：]{2,20})")
_TIME_META = ("article:published_time", "og:article:published_time", "datePublished", "pubdate", "publishdate",
              "PubDate", "publish_date", "publishtime", "dc.date", "DC.date.issued", "sailthru.date", "date")
_AUTHOR_META = ("author", "article:author", "dc.creator", "byl", "twitter:creator")
#: containers that hold exactly the post or article body when a page has them (forums: Discuz ``.t_f``)
_BODY_SELECTORS = ("[itemprop=articleBody]", ".t_f", ".post-content", ".post-body", ".entry-content",
                   ".article-content", "#article_content", ".article-body", ".content")
#: wider containers, used when the extractor finds nothing
_TEXT_SELECTORS = ("article", "main", "#content")


def _meta(tree: Any, names: tuple[str, ...]) -> str | None:
    for n in names:
        for attr in ("property", "name", "itemprop"):
            node = tree.css_first(f'meta[{attr}="{n}"]')
            if node is not None and (node.attributes.get("content") or "").strip():
                return node.attributes["content"].strip()
    return None


def _jsonld(tree: Any) -> dict[str, Any]:
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            doc = json.loads(node.text() or "")
        except ValueError:
            continue
        for d in doc if isinstance(doc, list) else [doc]:
            if isinstance(d, dict) and (d.get("datePublished") or d.get("author")):
                return d
    return {}


def _sel_text(tree: Any, selector: str | None) -> str | None:
    if not selector:
        return None
    node = tree.css_first(selector)
    if node is None:
        return None
    return (node.attributes.get("datetime") or node.attributes.get("content") or node.text(separator="")).strip()


def extract_article(body: bytes, url: str, tz: ZoneInfo, content_type: str | None = None,
                    encoding: str | None = None, selectors: dict[str, str] | None = None) -> Article:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    dec = decode_html(body, content_type, encoding)
    notes = [f"charset: {dec.note}"] if dec.note else []
    # ruby annotations out; a newline after each block so inline text stays together
    markup = _BLOCK_END.sub(lambda m: m.group(0) + "\n", strip_ruby(dec.text))
    tree = HTMLParser(markup)
    sel = selectors or {}
    ld = _jsonld(tree)
    canonical = None
    link = tree.css_first('link[rel="canonical"]')
    if link is not None and link.attributes.get("href"):
        canonical = urljoin(url, link.attributes["href"].strip())
    # title
    title = _sel_text(tree, sel.get("title")) or _meta(tree, ("og:title",))
    if not title:
        h1 = tree.css_first("h1")
        title = h1.text().strip() if h1 is not None and h1.text().strip() else None
    if not title and tree.css_first("title") is not None:
        title = tree.css_first("title").text().strip() or None
    # author
    author = _sel_text(tree, sel.get("author")) or _meta(tree, _AUTHOR_META)
    if not author and isinstance(ld.get("author"), dict):
        author = ld["author"].get("name")
    elif not author and isinstance(ld.get("author"), list) and ld["author"] and isinstance(ld["author"][0], dict):
        author = ld["author"][0].get("name")
    if not author:
        node = tree.css_first('[itemprop="author"], .author, .byline, .authi .xw1, a[rel="author"]')
        author = node.text().strip() if node is not None and node.text().strip() else None
    if not author:
        m = _AUTHOR_TEXT.search(tree.body.text(separator="") if tree.body is not None else "")
        author = m.group(1) if m else None
    if author:
        author = re.sub(r"^(作者|作者：|By|by)\s*[:：]?\s*", "", author).strip() or None
    # publish time
    published = None
    for raw in (_sel_text(tree, sel.get("published")), _meta(tree, _TIME_META), ld.get("datePublished")):
        published = parse_time(str(raw), tz) if raw else None
        if published:
            break
    if published is None:
        node = tree.css_first("time[datetime]")
        if node is not None:
            published = parse_time(node.attributes.get("datetime") or "", tz)
    body_node = tree.body
    visible = body_node.text(separator="") if body_node is not None else ""
    if published is None:
        m = _LABELLED.search(visible)
        if m:
            published = parse_time(m.group(1), tz)
    # main text
    text = _sel_text(tree, sel.get("text"))
    if not text:
        for css in _BODY_SELECTORS:
            nodes = tree.css(css)
            joined = "\n\n".join(n.text(separator="").strip() for n in nodes)
            if len(joined.strip()) >= 30:
                text = joined
                break
    if not text:
        try:
            import trafilatura

            doc = trafilatura.bare_extraction(markup, url=url, with_metadata=True, include_comments=False,
                                              include_tables=False)
        except Exception:  # noqa: BLE001 - extraction failing falls back to the page's containers
            doc = None
        if doc is not None:
            text = getattr(doc, "text", None) or ""
            title = title or getattr(doc, "title", None)
            author = author or getattr(doc, "author", None)
            if published is None and getattr(doc, "date", None):
                published = parse_time(str(doc.date), tz)
    if not text or len(text) < 20:
        for css in _TEXT_SELECTORS:
            node = tree.css_first(css)
            if node is not None and len(node.text().strip()) >= 20:
                text = node.text(separator="")
                break
    if not text:
        text = visible
    cleaned = clean_artefacts(text or "")
    notes += cleaned.notes
    if title:
        title = clean_artefacts(title).text or None
    lines = cleaned.text.split("\n")
    # the title and a byline ("发布时间：… 作者：…") at the top of the container are not the text
    while lines and len(lines) > 1 and (lines[0].strip() == (title or "\0") or not lines[0].strip()
                                        or (len(lines[0]) < 80 and _BYLINE.search(lines[0]))):
        lines.pop(0)
    cleaned.text = "\n".join(lines).strip()
    return Article(url=urldefrag(canonical or url)[0], title=title, author=author, published_at=published,
                   text=cleaned.text, encoding=dec.encoding, notes=notes)
