"""Deterministic generator of the recorded demo corpus (``python -m listening.demo.generate``).

Writes, under ``--out`` (default ``include/demo``)::

    weibo/mblogs.jsonl.gz     one m.weibo.cn mblog per line (private ``_longtext`` key = full HTML)
    weibo/comments.jsonl.gz   one hotflow comment per line, in hot order per post (private ``_status_id``)
    feeds/tech.xml            RSS 2.0 tech-news feed
    feeds/forum.xml           Atom 1.0 forum feed
    truth.jsonl.gz            ground truth, one line per generated item
    manifest.json             corpus statistics

The same seed gives byte-identical files (gzip with mtime 0, no set iteration, no ``hash()``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

import zhconv

from listening.demo import DEFAULT_SEED, SPIKE_DAY, TZ, WINDOW_DAYS, WINDOW_START, default_data_dir

START = datetime(WINDOW_START.year, WINDOW_START.month, WINDOW_START.day, tzinfo=TZ)
T0 = int(START.timestamp())
T_END = T0 + WINDOW_DAYS * 86400  # exclusive
SPIKE_IDX = (SPIKE_DAY - WINDOW_START).days

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# posts per local hour: quiet 02:00-07:00, peaks at lunch and 20:00-23:00
DIURNAL = [4, 2.5, 1, 0.6, 0.5, 0.6, 1, 2.5, 4, 5, 5.5, 6, 7, 6, 5, 5, 5, 5.5, 6, 7, 8, 9, 8, 6]
NEWS_HOURS = [0.3, 0.1, 0.05, 0.05, 0.05, 0.1, 0.5, 2, 4, 5, 5, 4, 3, 3, 4, 4, 4, 3.5, 3, 2, 2, 1.5, 1, 0.6]

# --------------------------------------------------------------------------------------------------
# the world
# --------------------------------------------------------------------------------------------------
BRAND_ZH = {"aurora": "极光", "xingchen": "星辰", "lanshan": "蓝山"}
MODELS = {
    "aurora": [("极光X5", 2999), ("极光X5 Pro", 3999), ("极光Note 3", 1799)],
    "xingchen": [("星辰S3", 3299)],
    "lanshan": [("蓝山M2", 2499)],
}
MODEL_WEIGHTS = {"aurora": [5, 3, 2], "xingchen": [1], "lanshan": [1]}
BRAND_ALIASES = {
    "aurora": ["极光手机", "极光", "Aurora"],
    "xingchen": ["星辰手机", "星辰"],
    "lanshan": ["蓝山手机", "蓝山"],
}
COLORS = {
    "aurora": ["极光绿", "曜石黑", "冰川蓝", "晨曦金"],
    "xingchen": ["星空紫", "月光白", "深空灰"],
    "lanshan": ["远山蓝", "岩灰", "雾白"],
}
OLD_PHONES = ["用了四年的老手机", "极光X3", "星辰S2", "蓝山M1", "上一台旗舰", "老婆淘汰下来的旧手机"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "长沙", "郑州",
          "天津", "苏州", "青岛", "厦门", "昆明", "合肥", "沈阳", "哈尔滨"]
PROVINCES = ["广东", "北京", "上海", "浙江", "江苏", "四川", "湖北", "山东", "河南", "湖南", "福建", "陕西",
             "重庆", "天津", "安徽", "辽宁", "河北", "云南", "广西", "江西", "黑龙江", "吉林", "山西", "贵州"]
TRAD_REGIONS = {"zh-tw": ["台湾"], "zh-hk": ["香港", "澳门"]}
CLIENTS = ["极光X5", "极光X5 Pro", "极光Note 3", "星辰S3", "蓝山M2", "微博网页版", "HTML5版", "微博 weibo.com",
           "超话", "", "", ""]

# --------------------------------------------------------------------------------------------------
# phrase pools (Simplified Chinese; a tenth of the authors write Traditional via zhconv)
# --------------------------------------------------------------------------------------------------
ASPECTS = ["battery", "camera", "screen", "price", "system", "service", "delivery", "unboxing", "performance",
           "design"]
ASPECT_LABEL = {"battery": "续航", "camera": "拍照", "screen": "屏幕", "price": "价格", "system": "系统",
                "service": "售后", "delivery": "物流", "unboxing": "开箱", "performance": "性能", "design": "外观"}


def _pool(text: str) -> list[str]:
    return [s.strip() for s in text.strip().split("\n") if s.strip()]


S = {
    ("battery", "pos"): _pool("""
续航是真的顶，重度刷视频一天下来还剩{pct}%
电池比我想象中耐用多了，出差两天没带充电宝也没慌
充电{mins}分钟就充到八成，快充太香了
打了一下午游戏电量才掉了{pct}%，这续航可以
晚上不关机，早上起来只掉了3%的电，待机很省
续航终于不用焦虑了，告别充电宝
亮屏时间轻松{h}小时以上，续航党狂喜
充一次电能用一天半，比上一台强太多
"""),
    ("battery", "neu"): _pool("""
续航中规中矩，正常用一天一充
电池5000mAh，快充67W，参数上不算突出
有人测过{m}的续航吗？想了解一下亮屏时间
用了{d}天电池健康度还是100%，再观察观察
充电速度和上一代差不多
续航表现跟宣传的基本一致
"""),
    ("battery", "neg"): _pool("""
续航拉胯，上午满电出门，下午三点就只剩{pct}%了
充电的时候机身很烫，有点担心
电池掉电太快了，待机一晚上掉了{pct}%
玩半小时游戏就烫手，电量哗哗地掉
快充用了一个月就变慢了，不知道是不是电池的问题
续航和宣传的差太远了，说好的两天一充呢
一天要充三次电，出门必须带充电宝
"""),
    ("camera", "pos"): _pool("""
拍照真的绝了，夜景模式随手一拍就很出片
主摄解析力很强，放大看细节也清楚
人像模式虚化很自然，给我妈拍的照片她超喜欢
长焦拍演唱会居然能看清舞台上的人脸
视频防抖做得不错，骑车拍也很稳
逆光拍人脸也不黑，算法调得很好
"""),
    ("camera", "neu"): _pool("""
拍照风格偏暖，看个人喜好吧
白天拍照和上一代区别不大，夜景有提升
前置3200万像素，自拍够用
求问{m}拍照怎么关掉美颜？
今天用{m}拍了几张晚霞，大家看看怎么样
"""),
    ("camera", "neg"): _pool("""
拍照偏色严重，室内拍出来一片黄
夜景噪点太多了，宣传图怕不是单反拍的
相机启动太慢，抓拍总是错过
涂抹感很重，拍人脸跟磨了皮一样
拍视频对焦一直在跳，根本没法用
"""),
    ("screen", "pos"): _pool("""
屏幕观感很棒，120Hz刷起来丝滑
大太阳底下屏幕也看得很清楚，亮度给力
护眼模式开着，晚上刷手机眼睛不累
屏幕色彩很正，看剧很舒服
"""),
    ("screen", "neu"): _pool("""
屏幕是6.7英寸的曲面屏，习惯就好
贴膜的时候发现曲面边缘不太好贴
屏幕默认是FHD+分辨率，2K需要手动开
"""),
    ("screen", "neg"): _pool("""
屏幕出现绿线了，才买了{d}天
低亮度下屏幕闪烁，看久了眼睛疼
屏幕触控偶尔失灵，打字老是打错
曲面屏误触太多，玩游戏很难受
"""),
    ("price", "pos"): _pool("""
{price}元能买到这配置，性价比没得说
双十一叠加优惠到手才{price_low}，太值了
价格很厚道，给爸妈也买了一台
这个价位基本没有对手
"""),
    ("price", "neu"): _pool("""
{m}现在官网售价{price}元，双十一会不会降价？
等等党再等等，听说下个月还要降
首发价{price}，和上一代持平
有没有人知道{m}国补之后多少钱？
"""),
    ("price", "neg"): _pool("""
刚买一周就降了{drop}块，早买早享受是吧
{price}的价格给这配置，有点飘了
保价政策形同虚设，降价了申请保价被拒
这价格不如加点钱买上一代旗舰
"""),
    ("system", "pos"): _pool("""
系统更新之后流畅了不少，动画很顺滑
系统广告很少，这点必须表扬
昨晚推送的更新修复了不少bug，好评
新系统的AI助手挺好用，帮我整理了一堆照片
"""),
    ("system", "neu"): _pool("""
今天推送了新版本系统，大概{gb}GB，还没敢升
系统更新日志写了优化续航，有人升级了吗？
新版本加了AI助手功能，还在摸索怎么用
"""),
    ("system", "neg"): _pool("""
更新完系统以后老是卡顿，还发热
系统广告太多了，开个App都有弹窗
升级之后蓝牙老是断连，能不能赶紧修复
后台杀得太狠，消息老是收不到
"""),
    ("service", "pos"): _pool("""
客服态度很好，耐心帮我解决了问题
去售后换屏，半小时就弄好了，服务很专业
在线客服秒回，点个赞
售后小哥很负责，还帮我清理了充电口
"""),
    ("service", "neu"): _pool("""
请问{b}的售后网点周末营业吗？
预约了明天去售后检测一下
客服说要寄回检测，大概{d}个工作日
"""),
    ("service", "neg"): _pool("""
客服一直踢皮球，问题拖了{d}天还没解决
售后说是人为损坏不给保修，太离谱了
打客服电话排队四十分钟，接通就挂了
售后态度恶劣，再也不买{b}了
"""),
    ("delivery", "pos"): _pool("""
物流超快，昨晚下单今天上午就到了
顺丰送的，包装很严实
双十一的单居然第二天就到了，惊喜
"""),
    ("delivery", "neu"): _pool("""
双十一订单还在等发货，预计{d}号到
快递显示已到{city}，明天应该能到
"""),
    ("delivery", "neg"): _pool("""
下单一周了还没发货，客服只会说在排队
快递盒子都压扁了，还好手机没事
物流太慢了，说好的次日达呢
"""),
    ("unboxing", "pos"): _pool("""
开箱！{color}配色真的太好看了，手感也好
终于到手了，拆开的那一刻就爱了
包装很有质感，配件也齐全，还送了壳和膜
"""),
    ("unboxing", "neu"): _pool("""
开箱，盒子里有充电器、数据线、保护壳和取卡针
今天到手，先充个电，明天再写体验
{color}配色，256G版本
"""),
    ("unboxing", "neg"): _pool("""
开箱发现屏幕上有划痕，说好的全新呢
拆开发现没有充电器，还要另外买
到手就有坏点，正在申请换货
"""),
    ("performance", "pos"): _pool("""
玩大型手游高画质一小时都很稳，帧率基本不掉
日常用起来非常流畅，开几十个App都不卡
"""),
    ("performance", "neu"): _pool("""
跑分一百八十万左右，日常用够了
内存12G+256G，后台能留十几个应用
"""),
    ("performance", "neg"): _pool("""
打游戏掉帧严重，团战直接卡成PPT
开个相机都要卡两秒，这是旗舰该有的体验吗
"""),
    ("design", "pos"): _pool("""
手感很好，握持很舒服，{color}太美了
机身很薄，拿在手里轻飘飘的
"""),
    ("design", "neu"): _pool("""
机身有点重，大概210克
背面是磨砂玻璃，不沾指纹
"""),
    ("design", "neg"): _pool("""
后盖太容易沾指纹了
摄像头模组凸起太多，放桌上晃来晃去
"""),
}

OPENERS = _pool("""
入手{m}已经{d}天了，说说感受：
用了一个月{m}，
刚换了{m}，
{m}使用体验：
说一下我的{m}，
家人们，{m}
关于{m}，
{m}真实体验，不吹不黑：
我的{m}，
汇报一下{m}的情况，
从{old}换到{m}，
{m}到手第{d}天，
身边好几个朋友都在用{m}，
今天去{city}的门店摸了{m}，
{m}，
""")
OPENERS_NO_MODEL = _pool("""
今天下班路上刷手机，
双十一快到了，
周末在家无聊，
说个事，
""")

CLOSERS = {
    "pos": _pool("""
推荐入手！
总体很满意
这次买对了
五星好评
值得
爱了爱了
真香
"""),
    "neu": _pool("""
先这样，后续再更新
大家怎么看？
有懂的朋友吗？
仅供参考
"""),
    "neg": _pool("""
太失望了
后悔买了
避雷！
劝大家慎重
心累
有一样情况的吗？
无语
差评
"""),
}
EMOTICONS = {
    "pos": ["[赞]", "[good]", "[心]", "[哈哈]", "[笑cry]", "[doge]", "[鼓掌]", "[给力]"],
    "neu": ["[doge]", "[思考]", "[费解]", "[吃瓜]", "[微笑]", "[二哈]"],
    "neg": ["[怒]", "[泪]", "[允悲]", "[抓狂]", "[衰]", "[生病]", "[摊手]", "[裂开]"],
}
EMOJI = {"pos": ["👍", "😍", "🔥", "✨", "🥰"], "neu": ["🤔", "📱", "👀"], "neg": ["😤", "😭", "💢", "🙄", "😓"]}
EMOTICON_FILES = {
    "[doge]": "others/d_doge-be7f768d78.png", "[允悲]": "default/d_yunbei-a14a649db8.png",
    "[赞]": "others/h_zan-44ddc70637.png", "[good]": "others/h_good-0c51afc69c.png",
    "[心]": "others/l_xin-43af9086c0.png", "[哈哈]": "default/d_haha-0b8f2bd8b4.png",
    "[笑cry]": "default/d_xiaoku-f2bd11b506.png", "[鼓掌]": "default/d_guzhang-cd4f7d1f13.png",
    "[给力]": "others/f_geili-4a8f6b9f2a.png", "[思考]": "default/d_sikao-75c8e3b1f1.png",
    "[费解]": "default/d_feijie-3e9e8c5a1d.png", "[吃瓜]": "default/d_chigua-e3cb1e4b91.png",
    "[微笑]": "default/d_hehe-0be8eb8c1e.png", "[二哈]": "others/d_erha-0d2bea3a7e.png",
    "[怒]": "default/d_nu-48b3e8b7e3.png", "[泪]": "default/d_lei-e2b9cb5a1b.png",
    "[抓狂]": "default/d_zhuakuang-9d4e0b2e6a.png", "[衰]": "default/d_shuai-a5b1b8c6f2.png",
    "[生病]": "default/d_shengbing-b9d6c4a3e1.png", "[摊手]": "others/d_tanshou-f3b7a9e4c2.png",
    "[裂开]": "others/d_liekai-5e0f2c7b9a.png", "[拜拜]": "default/d_baibai-1b5c7f8e9d.png",
}

COMPARE = {
    "pos": _pool("""
{m}和{m2}都用过，说实话两台都不错，看预算选就行
{m}和{m2}拍照都挺能打的，这个价位卷疯了
家里{m}和{m2}各一台，都挺好用，没什么好纠结的
"""),
    "neu": _pool("""
{m}和{m2}怎么选？预算{price}左右，主要看拍照
{m} vs {m2}，同价位你们选哪个？
对比了一下{m}和{m2}的参数，差别不大
{m}续航更好，{m2}拍照更强，各有千秋
最后在{m}和{m2}之间选了{m}，{m2}的系统广告实在受不了
"""),
    "neg": _pool("""
{m}和{m2}都踩雷了，一个发热一个掉帧，心累
{m}和{m2}今年都涨价了，真不想买了
{m}和{m2}的售后一个比一个差
"""),
}

CRISIS = {
    "neg": _pool("""
我的{m}今天充电的时候烫得根本拿不住，拔下来一看后盖都鼓起来了！电池鼓包！！
刚看到好多人说{m}电池鼓包，赶紧检查了一下我的，果然后盖有缝了
{m}电池鼓包不是个例吧？已经好多人了，@极光手机官方 出来说句话
充着电手机突然特别烫，还有股焦味，吓死我了，{m}到底怎么回事
用了不到三个月的{m}，电池鼓到屏幕都顶起来了，这是安全问题！
家里两台{m}，一台已经鼓包了，另一台不敢充电了
极光能不能给个说法？电池鼓包这么大的事装死？
送修说要等两周，备用机都没有，电池鼓包又不是我的错
看到测评视频里{m}充电温度飙到五十多度，太吓人了
以后再也不买极光了，拿命在用手机吗
劝大家先别给{m}整夜充电了，安全第一
我也中招了，{m}后盖翘起来了，屏幕都有缝
放在床头充电，半夜被烫醒，{m}后壳鼓得像个馒头
朋友的{m}也鼓包了，这批次是不是有问题
买{m}是我今年最后悔的决定，电池鼓包客服还推三阻四
"""),
    "neu": _pool("""
听说{m}电池有问题？有没有懂的说说
坐等极光官方回应，看看怎么处理
{m}电池鼓包的事现在什么进展了？
刚查了一下我的{m}，暂时没发现鼓包，先观察
"""),
    "pos": _pool("""
我的{m}用了半年一切正常，别被带节奏了
极光客服处理得挺快的，已经给我换了新电池
官方给免费检测换电池，这个态度还可以
"""),
}
CRISIS_KOL = _pool("""
最近后台收到了几百条私信，都是关于{m}电池鼓包、充电过热的。我们自己买了三台测了一下，满负荷快充时电池温度最高到了52℃，明显超出正常范围。建议大家暂停用原装快充过夜充电，也希望@极光手机官方 尽快给出检测结果和处理方案，不要让消费者拿安全冒险。
【{m}电池鼓包事件梳理】从今天上午开始，陆续有用户反映{m}充电发烫、后盖鼓起，目前已经有上百例。我们联系了几位用户，鼓包机器集中在九月批次。官方到现在还没有任何回应，这种涉及人身安全的问题，拖一分钟都是在赌。
手机电池鼓包不是小事，轻则屏幕顶起，重则起火。{m}这次的问题如果是批次性的，应该立刻召回，而不是让用户自己去排队送修。@极光手机官方
实测{m}：边玩游戏边快充二十分钟，机身背部温度54℃，电池区域明显发烫。已经把测试视频发给极光，等一个解释。
""")
STATEMENT = (
    "【关于{m}部分用户反馈电池发热问题的说明】今天我们注意到部分用户反馈{m}在充电时出现发热、电池鼓包等情况，"
    "我们高度重视，已第一时间成立专项小组进行排查。即日起，{m}用户可前往全国任一极光服务中心免费检测电池，"
    "如确认存在异常将免费更换新电池并赠送一年延保。给大家带来的困扰我们深表歉意，排查结果将第一时间公布。"
    "如有疑问请联系@极光客服 。"
)
STATEMENT2 = (
    "【{m}电池检测进展公告】截至目前，我们已为{n}位用户完成免费检测，确认异常的电池集中在2026年9月的一个生产批次，"
    "涉及用户将收到短信通知，可预约上门取送。感谢大家的耐心与监督。"
)

STORM_COPY = ("【极光X5 Pro双十一狂欢】到手价3999元起，24期免息，下单即送原装67W快充！"
              "性能、影像、续航全面升级，手慢无👉")
STORM_TOPIC = "极光X5Pro双十一"
XC_COPY = "星辰S3新品首发，星空紫配色超美，首发享12期免息，预约抢购👉"
XC_TOPIC = "星辰S3首发"

IRRELEVANT = {
    "aurora": _pool("""
终于在漠河看到北极光了！！这辈子值了
冰岛极光之旅第三天，今晚KP指数5，蹲到凌晨两点终于看到了极光
去特罗姆瑟看极光的攻略整理好了，需要的自取
看极光一定要选无月的晴夜，还要远离城市光污染
昨晚新闻说内蒙古也能看到极光？有人拍到了吗
极光之旅 | 芬兰玻璃屋躺着看极光是什么体验
这张极光照片是用手机拍的，你敢信？
黄刀镇的极光真的会跳舞，绿色紫色交替
第一次看到Aurora Borealis，绿色的极光在头顶流动，美哭了
太阳风暴来了，这几天高纬度地区有机会看极光
漠河北极村零下三十度，为了看极光冻成狗
极光绿的毛衣也太好看了吧，冬天就穿它
带爸妈去看极光是今年最正确的决定
在北极圈追了三晚极光，最后一晚终于爆发了
"""),
    "xingchen": _pool("""
我们的征途是星辰大海，今天也要元气满满
今晚山顶的星辰好美，爬了三个小时露营值了
满天星辰，城市里已经很久没见过这样的夜空了，晚安
星辰大海，未来可期，明天继续加油
读《星辰变》第三遍了，还是熬夜看到两点
夜空中最亮的星辰，是你，生日快乐呀
星辰同学生日快乐！认识你十年了，友谊长存
愿你眼里有星辰，心中有山海，从此以梦为马
"""),
    "lanshan": _pool("""
蓝山咖啡的酸度刚刚好，周末的早晨
速溶蓝山咖啡和现磨的差别真大
蓝山县今天召开农业产业发展大会
湖南永州蓝山县的风景也太好看了
蓝山县特产推荐：蓝山米粉你吃过吗
同事从牙买加带回来的蓝山咖啡豆，舍不得喝
楼下新开的咖啡店，蓝山拿铁还不错
"""),
}
IRR_TOPICS = {"aurora": ["看极光", "漠河", "旅行", "极光之旅", "摄影"], "xingchen": ["晚安", "星空"],
              "lanshan": ["咖啡", "蓝山县"]}

SPAM = _pool("""
加V信 {wx} 低价出{m} 全新未拆封 假一赔十
代购 QQ群 {qq} {m}内部价 比官网便宜{drop}
{m}批发 渠道货 加微{wx} 量大从优
兼职日结，动动手指月入过万，加V：{wx}（{b}手机抽奖中）
免费领{m}！！转发+关注+评论 私信我领取
出{m} 99新 官换机 有意私 V{wx}
{m}解锁 刷机 改串号 专业技术 联系QQ{qq}
{m}全新 国行 工厂直销 价格美丽 加V：{wx}
""")

OWNED_POSTS = {
    "极光手机官方": _pool("""
{m}新配色{color}今日开售，你pick哪一款？
感谢大家对极光的支持，{m}累计销量突破百万台！
{m}系统更新正式推送：优化续航与相机算法，新增AI助手
转发本条微博并关注@极光手机官方 ，抽3位送{m}一台！
极光影像大赛投稿开启，用{m}记录生活中的光
周末愉快！分享一组用{m}拍摄的城市夜景
"""),
    "极光客服": _pool("""
温馨提示：双十一期间订单量较大，发货可能有延迟，请大家耐心等待
极光服务中心本周末正常营业，可在线预约到店
{m}用户如遇问题，可私信@极光客服 ，我们会第一时间处理
"""),
    "星辰手机": _pool("""
{m}{color}今日开售，首发享12期免息
{m}影像样张分享：夜景也能很清晰
双十一星辰手机全系优惠，{m}直降{drop}元
"""),
    "蓝山科技": _pool("""
{m}系统更新公告：修复部分机型信号问题
双十一{m}直降{drop}元，到手价{price_low}元
{m}远山蓝配色限量发售
"""),
}
LANSHAN_STORY = _pool("""
{m}更新系统之后信号变得特别差，地铁里直接没网
{m}升级新版本以后4G老是掉成3G，有人一样吗
蓝山能不能赶紧修一下信号的bug，{m}都快成砖了
{m}更新完打电话对方听不见，退回去又不行
""")

REPOST_COMMENTS = {
    "pos": ["说得太对了", "同款，确实好用", "真香", "好评", "+1", "赞同[赞]", "码住，准备入"],
    "neu": ["mark", "马一下", "转给需要的人", "先收藏", "围观", "[doge]", "蹲一个后续", "求证"],
    "neg": ["同样遇到了", "避雷", "太坑了", "我的也是", "一起维权", "扩散！", "已经退货了", "真的无语"],
}
CRISIS_REPOST = ["+1 我的也鼓包了", "吓人", "扩散！", "一起维权", "召回！", "我的也是", "转发微博", "还敢充电吗",
                 "极光出来说话", "这是安全问题"]
STATEMENT_REPOST = ["就这？", "免费检测就完了？召回呢", "态度还行，看后续行动", "早干嘛去了", "说了等于没说[怒]",
                    "批次问题就召回啊", "扩散，有问题的赶紧去检测"]

COMMENTS = {
    ("brand", "pos"): ["同款，很好用", "颜值确实高", "已下单[doge]", "我也觉得不错", "羡慕，已经在路上了",
                       "用了两个月，真的满意", "拍照确实好看", "好评+1"],
    ("brand", "neu"): ["多少钱入的？", "求链接", "什么配色？", "蹲一个后续", "有对比吗", "256的还是512的？",
                       "哪里买的", "[doge]", "准备入，观望中"],
    ("brand", "neg"): ["我也遇到了", "同样的问题", "退了吧", "真的难用", "我的也是这样，无语", "避雷了",
                       "售后也不管", "心累[允悲]"],
    ("crisis", "neg"): ["我的也鼓包了", "坐等官方回应", "已退货", "别买了", "太吓人了", "客服电话根本打不通",
                        "这是安全问题啊", "召回！", "我家那台也发烫", "不敢充电了[泪]"],
    ("crisis", "neu"): ["真的假的？", "什么批次的？", "求个后续", "官方怎么说", "有检测结果吗"],
    ("crisis", "pos"): ["我的用着挺好的啊", "已经免费换了电池，速度挺快", "别带节奏，理性看待"],
    ("irrelevant", "pos"): ["好美！", "求攻略", "羡慕", "我也想去", "太好看了", "收藏了"],
    ("irrelevant", "neu"): ["哪里拍的？", "这是什么时候", "[doge]", "路过"],
}
CS_REPLIES = ["您好，非常抱歉给您带来不好的体验，已私信您，请留意查收～",
              "亲，请私信提供一下订单号，我们会尽快为您处理",
              "您好，关于电池问题我们已开通专属绿色通道，可前往就近服务中心免费检测更换",
              "抱歉让您久等了，已为您登记加急处理，工作人员会在24小时内联系您",
              "感谢反馈，已转交技术同事跟进，有进展第一时间告诉您"]

# names -------------------------------------------------------------------------------------------
NAME_PRE = ["爱吃", "不想", "快乐的", "安静的", "小小", "喜欢", "努力的", "迷路的", "会飞的", "熬夜的", "佛系",
            "认真的", "元气", "睡不醒的", "今天也要", "一只", "孤独的", "阿", "老", "大大的", "吃不胖的", "温柔的"]
NAME_NOUN = ["猫", "橘子", "西瓜", "兔子", "程序员", "打工人", "咸鱼", "柠檬", "火锅", "奶茶", "月亮", "风",
             "少年", "小熊", "土豆", "包子", "阿狸", "豆豆", "汤圆", "饺子", "小鹿", "企鹅", "云朵", "星星",
             "科技宅", "数码控", "摄影师", "背包客", "小白", "老王"]
NAME_SUF = ["", "", "", "酱", "君", "_", "呀", "123", "2026", "大王", "同学", "本人", "小号", "77", "_v", "哒",
            "吖", "88"]
EN_NAMES = ["Kevin", "Amy", "Leo", "Coco", "Jason", "Nina", "Tony", "Lily", "Sam", "Echo", "Ivy", "Max"]
DESCRIPTIONS = ["数码爱好者", "热爱生活", "摄影/旅行/美食", "一只普通的打工人", "", "", "做一个温柔的人",
                "95后 | 程序员", "这个人很懒，什么都没有写", "努力赚钱", "喜欢拍照", "快乐星球居民", "在读研究生",
                "二胎宝妈", "跑步 读书 咖啡"]
KOLS = [("科技老炮儿", 3_260_000, 0, "知名数码博主"), ("数码测评君", 8_900_000, 0, "知名科技博主 微博原创视频博主"),
        ("手机圈扒皮王", 1_540_000, 0, "数码博主"), ("极客阿杰", 2_100_000, 0, "科技领域优质创作者"),
        ("消费维权观察", 12_800_000, 3, "消费维权媒体官方微博"),
        ("科技头条君", 25_300_000, 3, "科技资讯媒体官方微博"),
        ("手机情报局", 1_120_000, 0, "数码博主"), ("电子产品吐槽大会", 4_450_000, 0, "搞笑幽默博主")]
MEDIA = [("每日科技速递", 860_000, 3), ("极客新闻社", 420_000, 3), ("手机新闻网", 95_000, 5),
         ("数码前线", 230_000, 3), ("消费者之声", 640_000, 7), ("财经科技观察", 180_000, 3),
         ("城市晚报数码", 310_000, 3), ("机友论坛官方", 52_000, 5)]
OWNED = [("极光手机官方", 3_200_000, "极光手机官方微博", "aurora"), ("极光客服", 186_000, "极光手机官方客服微博", "aurora"),
         ("星辰手机", 2_480_000, "星辰手机官方微博", "xingchen"), ("蓝山科技", 905_000, "蓝山科技官方微博", "lanshan")]
MARKETING_PRE = ["数码", "好物", "省钱", "科技", "手机", "优惠", "潮流", "生活"]
MARKETING_SUF = ["推荐官", "小能手", "优选", "种草机", "情报站", "分享君", "日报", "研究所", "好物馆"]

B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out or "0"


def mid_to_bid(mid: str) -> str:
    """Weibo's mid → bid (base62 of 7-digit groups, 4 chars each except the leading group)."""
    parts = []
    s = mid
    while s:
        chunk, s = s[-7:], s[:-7]
        enc = b62(int(chunk))
        parts.append(enc.rjust(4, "0") if s else enc)
    return "".join(reversed(parts))


def weibo_time(ts: int) -> str:
    d = datetime.fromtimestamp(ts, TZ)
    return f"{WEEKDAYS[d.weekday()]} {MONTHS[d.month - 1]} {d.day:02d} {d:%H:%M:%S} +0800 {d.year}"


def rfc822(ts: int) -> str:
    d = datetime.fromtimestamp(ts, TZ)
    return f"{WEEKDAYS[d.weekday()]}, {d.day:02d} {MONTHS[d.month - 1]} {d.year} {d:%H:%M:%S} +0800"


def iso8601(ts: int) -> str:
    return datetime.fromtimestamp(ts, TZ).isoformat()


def fmt_wan(n: int) -> str:
    if n >= 100_000_000:
        v, unit = n / 100_000_000, "亿"
    else:
        v, unit = n / 10_000, "万"
    s = f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{s}{unit}"


def _h(*parts: object) -> str:
    return hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class User:
    id: int
    name: str
    followers: int
    verified: bool
    vtype: int
    desc: str
    reason: str
    gender: str
    region: str
    trad: str | None
    kind: str
    follow_count: int
    statuses: int
    str_followers: bool
    activity: float = 1.0

    def to_json(self) -> dict:
        fc: int | str = self.followers
        if self.str_followers and self.followers >= 10_000:
            fc = fmt_wan(self.followers)
        d = {
            "id": self.id,
            "screen_name": self.name,
            "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.180/{_h('avatar', self.id)[:16]}.jpg",
            "profile_url": f"https://m.weibo.cn/u/{self.id}?uid={self.id}&luicode=10000011",
            "statuses_count": self.statuses,
            "verified": self.verified,
            "verified_type": self.vtype,
        }
        if self.verified:
            d["verified_reason"] = self.reason
        d.update({
            "description": self.desc,
            "gender": self.gender,
            "mbtype": 0,
            "urank": 5 + int(_h("urank", self.id)[:2], 16) % 40,
            "mbrank": 0,
            "follow_me": False,
            "following": False,
            "follow_count": self.follow_count,
            "followers_count": fc,
        })
        return d


@dataclass(eq=False)
class Post:
    ts: int
    user: User
    segs: list[tuple]
    brands: list[str]
    polarity: str
    kind: str
    story: str | None = None
    retweet_of: Post | None = None
    mid: str = ""
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    pic_num: int = 0
    client: str = ""
    in_corpus_reposts: int = 0
    comment_ctx: str = "brand"

    @property
    def script(self) -> str:
        return "hant" if self.user.trad else "hans"


@dataclass(eq=False)
class Comment:
    post: Post
    ts: int
    user: User
    segs: list[tuple]
    polarity: str
    likes: int
    cid: str = ""
    owned: bool = False


# --------------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------------
def render_seg(seg: tuple, conv: str | None) -> tuple[str, str]:
    """→ (html, plain) for one text segment, converting Chinese text to ``conv`` if given."""
    kind = seg[0]
    if kind == "text":
        t = zhconv.convert(seg[1], conv) if conv else seg[1]
        return html.escape(t, quote=False), t
    if kind == "at":
        n = seg[1]
        return f"<a href='/n/{n}'>@{n}</a>", f"@{n}"
    if kind == "topic":
        t = zhconv.convert(seg[1], conv) if conv else seg[1]
        q = quote(f"#{t}#", safe="")
        return (f'<a  href="https://m.s.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D{q}'
                f'&extparam={q}&luicode=10000011" data-hide=""><span class="surl-text">#{t}#</span></a>',
                f"#{t}#")
    if kind == "emo":
        code = seg[1]
        f = EMOTICON_FILES.get(code, "default/d_hehe-0be8eb8c1e.png")
        return (f'<span class="url-icon"><img alt={code} src="https://h5.sinaimg.cn/m/emoticon/icon/{f}" '
                f'style="width:1em; height:1em;" /></span>', code)
    if kind == "link":
        key = seg[1]
        code = "A6" + b62(int(_h("turl", key)[:12], 16))[:6]
        cid = "100808" + _h("page", key)[:26]
        return (f"<a data-url=\"http://t.cn/{code}\" href='https://m.weibo.cn/p/index?containerid={cid}"
                f"&extparam=&luicode=10000011' data-hide=\"\"><span class='url-icon'><img style='width: 1rem;"
                f"height: 1rem' src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png'>"
                f"</span><span class='surl-text'>网页链接</span></a>", "网页链接")
    if kind == "br":
        return "<br />", "\n"
    raise ValueError(seg)


def render(segs: list[tuple], conv: str | None) -> tuple[str, str]:
    hs, ps = [], []
    for seg in segs:
        h, p = render_seg(seg, conv)
        hs.append(h)
        ps.append(p)
    return "".join(hs), "".join(ps)


def render_truncated(segs: list[tuple], conv: str | None, mid: str, limit: int = 140) -> str:
    """The ``text`` of an isLongText mblog: about ``limit`` characters, then ``...全文``."""
    out, n = [], 0
    for seg in segs:
        h, p = render_seg(seg, conv)
        if n + len(p) <= limit:
            out.append(h)
            n += len(p)
            continue
        if seg[0] == "text":
            t = zhconv.convert(seg[1], conv) if conv else seg[1]
            out.append(html.escape(t[: limit - n], quote=False))
        break
    return "".join(out) + f'...<a href="/status/{mid}">全文</a>'


def plain_len(segs: list[tuple]) -> int:
    return len(render(segs, None)[1])


# --------------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------------
class World:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.used_ids: set[int] = set()
        self.used_names: set[str] = set()
        self.users: list[User] = []
        self.by_name: dict[str, User] = {}
        self.posts: list[Post] = []
        self.comments: list[Comment] = []
        self.link_n = 0

    # ---- users -----------------------------------------------------------------------------------
    def _uid(self) -> int:
        while True:
            u = self.rng.randrange(1_000_000_000, 8_000_000_000)
            if u not in self.used_ids:
                self.used_ids.add(u)
                return u

    def _name(self) -> str:
        r = self.rng
        while True:
            x = r.random()
            if x < 0.12:
                n = f"用户{r.randrange(1_000_000_000, 8_000_000_000)}"
            elif x < 0.2:
                n = f"{r.choice(EN_NAMES)}_{r.choice(['Lee', 'Wang', 'Chen', 'Zhang', 'Liu', 'Z', 'W'])}{r.randrange(10, 99)}"
            else:
                n = r.choice(NAME_PRE) + r.choice(NAME_NOUN) + r.choice(NAME_SUF)
            if n not in self.used_names:
                self.used_names.add(n)
                return n

    def _add_user(self, name: str, followers: int, vtype: int, kind: str, desc: str = "", reason: str = "",
                  trad: str | None = None, activity: float = 1.0) -> User:
        r = self.rng
        self.used_names.add(name)
        region = r.choice(TRAD_REGIONS[trad]) if trad else r.choice(PROVINCES)
        u = User(
            id=self._uid(), name=name, followers=followers, verified=vtype >= 0, vtype=vtype, desc=desc,
            reason=reason, gender=r.choice("mf"), region=region, trad=trad, kind=kind,
            follow_count=r.randrange(20, 1500), statuses=r.randrange(10, 40_000),
            str_followers=r.random() < 0.7, activity=activity,
        )
        self.users.append(u)
        self.by_name[name] = u
        return u

    def make_users(self) -> None:
        r = self.rng
        for name, f, reason, _brand in OWNED:
            self._add_user(name, f, 2, "owned", desc=reason, reason=reason)
        for name, f, vt, reason in KOLS:
            self._add_user(name, f, vt, "kol", desc=reason, reason=reason, activity=3.0)
        for name, f, vt in MEDIA:
            self._add_user(name, f, vt, "media", desc=f"{name}官方微博", reason=f"{name}官方微博", activity=2.0)
        for _ in range(40):
            while True:
                n = r.choice(MARKETING_PRE) + r.choice(MARKETING_SUF) + r.choice(["", "", "君", "酱", "2026"])
                if n not in self.used_names:
                    break
            self._add_user(n, int(math.exp(r.gauss(9.0, 1.0))), r.choice([-1, -1, 0]), "marketing",
                           desc="分享好物 每日优惠", reason="数码博主")
        for _ in range(40):
            n = f"用户{r.randrange(5_000_000_000, 8_000_000_000)}" if r.random() < 0.6 else self._name()
            if n in self.used_names:
                n = self._name()
            self._add_user(n, r.randrange(0, 60), -1, "spam", desc="")
        while len(self.users) < 1500:
            followers = int(math.exp(r.gauss(5.0, 1.7)))
            trad = None
            if r.random() < 0.1:
                trad = "zh-tw" if r.random() < 0.6 else "zh-hk"
            vtype = -1
            if followers > 50_000 and r.random() < 0.6:
                vtype = 0
            elif r.random() < 0.02:
                vtype = r.choice([0, 0, 1, 2, 4, 5, 6, 7])
            activity = r.paretovariate(1.6)
            reason = {0: "数码博主", 1: "政务官方微博", 2: "企业官方微博", 4: "校园官方微博", 5: "网站官方微博",
                      6: "应用官方微博", 7: "机构官方微博"}.get(vtype, "")
            self._add_user(self._name(), followers, vtype, "normal", desc=r.choice(DESCRIPTIONS),
                           reason=reason, trad=trad, activity=min(activity, 20.0))
        self.normal = [u for u in self.users if u.kind == "normal"]
        self.normal_cw = []
        acc = 0.0
        for u in self.normal:
            acc += u.activity
            self.normal_cw.append(acc)
        self.kols = [u for u in self.users if u.kind == "kol"]
        self.media = [u for u in self.users if u.kind == "media"]
        self.marketing = [u for u in self.users if u.kind == "marketing"]
        self.spammers = [u for u in self.users if u.kind == "spam"]

    def author(self) -> User:
        return self.rng.choices(self.normal, cum_weights=self.normal_cw)[0]

    # ---- helpers ---------------------------------------------------------------------------------
    def ts_in_day(self, day: int, weights: list[float] = DIURNAL) -> int:
        r = self.rng
        hour = r.choices(range(24), weights=weights)[0]
        return T0 + day * 86400 + hour * 3600 + r.randrange(3600)

    def model(self, brand: str) -> tuple[str, int]:
        return self.rng.choices(MODELS[brand], weights=MODEL_WEIGHTS[brand])[0]

    def values(self, brand: str, model: tuple[str, int] | None = None, other: str | None = None) -> dict:
        r = self.rng
        m, price = model or self.model(brand)
        vals = {
            "m": m, "b": BRAND_ZH[brand], "price": price, "price_low": price - r.choice([200, 300, 400, 500]),
            "drop": r.choice([100, 200, 300, 500]), "pct": r.randrange(15, 70), "h": r.randrange(6, 12),
            "mins": r.randrange(18, 40), "d": r.randrange(2, 30), "gb": r.choice(["1.2", "2.6", "3.1", "0.8"]),
            "color": r.choice(COLORS[brand]), "city": r.choice(CITIES), "old": r.choice(OLD_PHONES),
            "wx": r.choice(["abc", "vx", "mm", "hh", "dm"]) + str(r.randrange(1000, 99999)),
            "qq": r.randrange(100_000_000, 999_999_999), "n": r.randrange(2, 9) * 1000, "k": r.randrange(3, 20),
        }
        if other:
            vals["m2"], _ = self.model(other)
            vals["b2"] = BRAND_ZH[other]
        return vals

    def decorate(self, segs: list[tuple], polarity: str, *, topic_p: float = 0.25, emo_p: float = 0.45,
                 at_p: float = 0.1, link_p: float = 0.06, topics: list[str] | None = None,
                 at_names: list[str] | None = None) -> list[tuple]:
        r = self.rng
        if topics and r.random() < topic_p:
            t = ("topic", r.choice(topics))
            segs = [t, *segs] if r.random() < 0.4 else [*segs, t]
        if r.random() < emo_p:
            if r.random() < 0.7:
                segs.append(("emo", r.choice(EMOTICONS[polarity])))
                if r.random() < 0.25:
                    segs.append(("emo", r.choice(EMOTICONS[polarity])))
            else:
                segs.append(("text", r.choice(EMOJI[polarity]) * r.choice([1, 1, 2, 3])))
        if r.random() < at_p:
            name = r.choice(at_names) if at_names and r.random() < 0.7 else self.author().name
            segs.append(("text", " "))
            segs.append(("at", name))
            segs.append(("text", " "))
        if r.random() < link_p:
            segs.append(("text", " "))
            segs.append(self.link())
        return segs

    def link(self) -> tuple:
        self.link_n += 1
        return ("link", f"{self.seed}-{self.link_n}")

    def client(self, brand: str | None, user: User) -> str:
        r = self.rng
        if user.kind in ("owned", "media"):
            return r.choice(["微博 weibo.com", "微博网页版", ""])
        if brand and r.random() < 0.4:
            return self.model(brand)[0]
        return r.choice(CLIENTS)

    def add(self, post: Post) -> Post:
        if not post.client:
            post.client = self.client(post.brands[0] if post.brands else None, post.user)
        if post.kind not in ("repost",) and self.rng.random() < 0.35:
            post.pic_num = self.rng.choice([1, 1, 1, 2, 3, 4, 6, 9])
        self.posts.append(post)
        return post

    # ---- text builders ---------------------------------------------------------------------------
    def brand_text(self, brand: str, polarity: str, day: int, aspects_w: dict[str, float]) -> list[tuple]:
        r = self.rng
        model = self.model(brand)
        v = self.values(brand, model)
        if r.random() < 0.07:
            return self.long_review(brand, polarity, v)
        n = r.choices([1, 2, 3], weights=[5, 4, 1.5])[0]
        aspects = []
        keys = list(aspects_w)
        wts = [aspects_w[k] for k in keys]
        while len(aspects) < n:
            a = r.choices(keys, weights=wts)[0]
            if a not in aspects:
                aspects.append(a)
        sentences = []
        for i, a in enumerate(aspects):
            pol = polarity if i == 0 or r.random() < 0.7 else "neu"
            sentences.append(r.choice(S[(a, pol)]).format(**v))
        body = sentences[0]
        for s_ in sentences[1:]:
            body += ("" if body[-1] in "？！。～" else "，") + s_
        mention_forms = [model[0]]
        opener = ""
        if r.random() < 0.85 or not any(f in body for f in mention_forms):
            opener = r.choice(OPENERS).format(**v)
            if model[0] not in opener:
                opener = model[0] + "，" + opener
        elif r.random() < 0.3:
            opener = r.choice(OPENERS_NO_MODEL) + model[0] + "，"
        text = opener + body
        if brand == "aurora" and r.random() < 0.08:
            text = text.replace("极光", "Aurora ", 1)
        elif r.random() < 0.1:
            alias = r.choice(BRAND_ALIASES[brand][:2])
            text = text.replace(model[0], f"{alias}的{model[0][len(BRAND_ZH[brand]):]}", 1)
        if r.random() < 0.6:
            text += ("" if text[-1] in "？！。～" else r.choice(["，", "。", "！", " "])) + r.choice(CLOSERS[polarity])
        elif text[-1] not in "？！。～":
            text += r.choice(["", "。", "！", "～"])
        segs: list[tuple] = [("text", text)]
        topics = [model[0].replace(" ", ""), f"{BRAND_ZH[brand]}手机", "数码", "手机推荐", f"{model[0].replace(' ', '')}体验"]
        if day >= 7:
            topics.append("双十一攻略")
        at_names = {"aurora": ["极光手机官方", "极光客服"], "xingchen": ["星辰手机"], "lanshan": ["蓝山科技"]}[brand]
        return self.decorate(segs, polarity, topics=topics, at_names=at_names,
                             at_p=0.18 if polarity == "neg" else 0.08)

    def long_review(self, brand: str, polarity: str, v: dict) -> list[tuple]:
        r = self.rng
        aspects = r.sample(["battery", "camera", "screen", "system", "performance", "design", "price"], 5)
        segs: list[tuple] = [("text", f"【{v['m']}深度体验报告】用了{v['d']}天，写点真实感受，不吹不黑。")]
        for a in aspects:
            pol = polarity if r.random() < 0.6 else "neu"
            segs.append(("br",))
            sent = r.choice(S[(a, pol)]).format(**v)
            segs.append(("text", f"{ASPECT_LABEL[a]}：{sent}{'' if sent[-1] in '？！。' else '。'}"))
        summary = {"pos": "总结：整体体验超出预期，这个价位闭眼入。", "neu": "总结：没有明显短板，也没有特别惊艳，按需购买。",
                   "neg": "总结：问题有点多，建议再等等或者看看别家。"}[polarity]
        segs += [("br",), ("text", summary)]
        while plain_len(segs) > 290 and len(segs) > 5:
            del segs[-4:-2]
        if r.random() < 0.5:
            segs.append(("topic", v["m"].replace(" ", "")))
        return segs

    def compare_text(self, a: str, b: str, polarity: str) -> list[tuple]:
        r = self.rng
        v = self.values(a, other=b)
        text = r.choice(COMPARE[polarity]).format(**v)
        if r.random() < 0.4:
            text += r.choice(CLOSERS[polarity])
        return self.decorate([("text", text)], polarity, topics=["手机推荐", "数码"])

    # ---- corpus ----------------------------------------------------------------------------------
    def build_weibo(self) -> None:
        r = self.rng
        base = {"aurora": 62, "xingchen": 26, "lanshan": 22}
        pol_w = {"aurora": [42, 33, 25], "xingchen": [40, 35, 25], "lanshan": [35, 40, 25]}
        for day in range(WINDOW_DAYS):
            date_ = WINDOW_START + timedelta(days=day)
            mult = 1.15 if date_.weekday() >= 5 else 1.0
            if day == 10:  # 11-11
                mult = 1.4
            aw = {"battery": 3, "camera": 3, "screen": 2, "price": 2, "system": 2, "service": 1.5,
                  "delivery": 1, "unboxing": 1.5, "performance": 1.5, "design": 1.5}
            if 7 <= day <= 10:
                aw["price"] = 4
            if day >= 10:
                aw["delivery"], aw["unboxing"] = 3, 3.5
            for brand, n in base.items():
                count = int(round(n * mult * r.uniform(0.9, 1.1)))
                bw = dict(aw)
                pw = pol_w[brand]
                if brand == "aurora" and day >= SPIKE_IDX:
                    bw["battery"] = 6
                    pw = [30, 33, 37]
                for _ in range(count):
                    pol = r.choices(["pos", "neu", "neg"], weights=pw)[0]
                    u = self.author()
                    self.add(Post(self.ts_in_day(day), u, self.brand_text(brand, pol, day, bw), [brand], pol,
                                  "original"))
            for _ in range(int(round(7 * mult))):
                a, b = r.sample(["aurora", "aurora", "xingchen", "lanshan"], 2)
                if a == b:
                    b = "xingchen"
                pol = r.choices(["pos", "neu", "neg"], weights=[25, 55, 20])[0]
                self.add(Post(self.ts_in_day(day), self.author(), self.compare_text(a, b, pol), [a, b], pol,
                              "original"))
            # keyword hits that are not about the brands
            for brand, n in (("aurora", 9), ("xingchen", 6), ("lanshan", 5)):
                for _ in range(n + r.randrange(-2, 3)):
                    pol = r.choices(["pos", "neu"], weights=[70, 30])[0]
                    segs = self.decorate([("text", r.choice(IRRELEVANT[brand]))], pol,
                                         topics=IRR_TOPICS[brand], topic_p=0.35, link_p=0.03)
                    self.add(Post(self.ts_in_day(day), self.author(), segs, [], pol, "irrelevant",
                                  comment_ctx="irrelevant"))
            # spam
            for _ in range(r.randrange(6, 11)):
                brand = r.choices(["aurora", "xingchen", "lanshan"], weights=[6, 2, 2])[0]
                text = r.choice(SPAM).format(**self.values(brand))
                segs: list[tuple] = [("text", text)]
                if r.random() < 0.4:
                    segs += [("text", " "), ("topic", r.choice([f"{BRAND_ZH[brand]}手机", "数码", "双十一攻略"]))]
                if r.random() < 0.3:
                    segs += [("text", " "), self.link()]
                self.add(Post(self.ts_in_day(day, [1] * 24), r.choice(self.spammers), segs, [brand], "neu",
                              "spam", client=r.choice(["HTML5版", "微博网页版", ""])))
            # owned accounts
            for name, posts in OWNED_POSTS.items():
                p = 0.75 if name == "极光手机官方" else 0.4
                if r.random() < p:
                    brand = {"极光手机官方": "aurora", "极光客服": "aurora", "星辰手机": "xingchen",
                             "蓝山科技": "lanshan"}[name]
                    text = r.choice(posts).format(**self.values(brand))
                    segs = self.decorate([("text", text)], "pos", topics=[f"{BRAND_ZH[brand]}手机"], topic_p=0.5,
                                         emo_p=0.3, at_p=0, link_p=0.3)
                    pol = "pos" if "抽" in text or "感谢" in text or "开售" in text or "直降" in text else "neu"
                    self.add(Post(self.ts_in_day(day, NEWS_HOURS), self.by_name[name], segs, [brand], pol, "owned"))
        self.build_stories()

    def build_stories(self) -> None:
        r = self.rng
        # -- lanshan: system update breaks the signal (11-03/04) -------------------------------------
        for i in range(26):
            day = 2 if i < 17 else 3
            v = self.values("lanshan")
            segs = self.decorate([("text", r.choice(LANSHAN_STORY).format(**v))], "neg",
                                 topics=["蓝山M2", "蓝山M2信号"], topic_p=0.4, at_names=["蓝山科技"], at_p=0.3)
            self.add(Post(self.ts_in_day(day), self.author(), segs, ["lanshan"], "neg", "original",
                          story="lanshan_m2_signal"))
        # -- aurora double-11 campaign: owned original + ~30 near-duplicate marketing copies (11-05) --
        t = T0 + 4 * 86400 + 19 * 3600 + 2 * 60
        off = self.add(Post(t, self.by_name["极光手机官方"],
                            [("text", STORM_COPY), self.link(), ("text", " "), ("topic", STORM_TOPIC)],
                            ["aurora"], "pos", "owned", story="aurora_double11"))
        off.comment_ctx = "brand"
        for i, u in enumerate(r.sample(self.marketing, 30)):
            ts = t + 120 + int(r.expovariate(1 / 2400)) + i * 20
            self.add(Post(ts, u, self.storm_variant(STORM_COPY, STORM_TOPIC), ["aurora"], "pos", "near_dup",
                          story="aurora_double11"))
        # -- xingchen launch copies (11-06) ---------------------------------------------------------
        t = T0 + 5 * 86400 + 20 * 3600 + 31 * 60
        self.add(Post(t, self.by_name["星辰手机"], [("text", XC_COPY), self.link(), ("text", " "),
                                                     ("topic", XC_TOPIC)], ["xingchen"], "pos", "owned",
                      story="xingchen_s3_launch"))
        for i, u in enumerate(r.sample([m for m in self.marketing], 12)):
            ts = t + 300 + int(r.expovariate(1 / 3600)) + i * 30
            self.add(Post(ts, u, self.storm_variant(XC_COPY, XC_TOPIC), ["xingchen"], "pos", "near_dup",
                          story="xingchen_s3_launch"))
        # -- aurora battery crisis: spike on 11-10, tail after --------------------------------------
        # nothing before 08:00 on the spike day; it builds up through the afternoon and evening
        spike_hours = [0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 7, 9, 10, 10, 10, 11, 11, 11, 12, 13, 14, 14, 12, 8]
        crisis_topics = ["极光X5电池鼓包", "极光X5电池鼓包", "极光手机回应电池问题", "手机安全"]
        plan = [(SPIKE_IDX, 275), (SPIKE_IDX + 1, 110), (SPIKE_IDX + 2, 55), (SPIKE_IDX + 3, 28), (SPIKE_IDX + 4, 16)]
        self.crisis_kol_posts: list[Post] = []
        for day, n in plan:
            for _ in range(n):
                pol = r.choices(["neg", "neu", "pos"], weights=[84, 10, 6])[0]
                v = self.values("aurora", model=MODELS["aurora"][0] if r.random() < 0.75 else None)
                text = r.choice(CRISIS[pol]).format(**v)
                segs = self.decorate([("text", text)], pol, topics=crisis_topics, topic_p=0.55,
                                     at_names=["极光手机官方", "极光客服"], at_p=0.25)
                if "极光" not in render(segs, None)[1]:  # in-context posts join the hashtag
                    segs.insert(0, ("topic", "极光X5电池鼓包"))
                ts = self.ts_in_day(day, spike_hours if day == SPIKE_IDX else DIURNAL)
                self.add(Post(ts, self.author(), segs, ["aurora"], pol, "original", story="aurora_battery_crisis",
                              comment_ctx="crisis"))
            if day == SPIKE_IDX:
                kol_times = [10 * 3600 + 17 * 60, 11 * 3600 + 42 * 60, 13 * 3600 + 5 * 60, 15 * 3600 + 30 * 60,
                             17 * 3600 + 12 * 60, 19 * 3600 + 48 * 60]
                for j, kt in enumerate(kol_times):
                    u = self.kols[j % len(self.kols)]
                    v = self.values("aurora", model=MODELS["aurora"][0])
                    segs: list[tuple] = [("topic", "极光X5电池鼓包"), ("text", CRISIS_KOL[j % len(CRISIS_KOL)].format(**v))]
                    segs = self.at_split(segs)
                    if r.random() < 0.5:
                        segs.append(("emo", r.choice(EMOTICONS["neg"])))
                    p = self.add(Post(T0 + day * 86400 + kt + r.randrange(60), u, segs, ["aurora"], "neg",
                                      "original", story="aurora_battery_crisis", comment_ctx="crisis"))
                    self.crisis_kol_posts.append(p)
                # the media picks it up
                for m_ in self.media[:4]:
                    text = f"【{r.choice(['多名用户反映', '网友集中反映'])}极光X5充电发热、电池鼓包】今天，不少网友在社交平台反映所购极光X5手机出现充电发热、后盖鼓起等情况。记者联系极光客服，对方表示已收到反馈，正在核实。"
                    p = self.add(Post(T0 + day * 86400 + r.randrange(14, 20) * 3600 + r.randrange(3600), m_,
                                      [("text", text), self.link()], ["aurora"], "neg", "original",
                                      story="aurora_battery_crisis", comment_ctx="crisis"))
                    self.crisis_kol_posts.append(p)
                v = self.values("aurora", model=MODELS["aurora"][0])
                self.statement = self.add(Post(T0 + day * 86400 + 21 * 3600 + 34 * 60, self.by_name["极光手机官方"],
                                               self.at_split([("text", STATEMENT.format(**v))]), ["aurora"], "neu",
                                               "owned", story="aurora_battery_crisis", comment_ctx="crisis"))
            if day == SPIKE_IDX + 2:
                v = self.values("aurora", model=MODELS["aurora"][0])
                v["n"] = 12_860
                self.add(Post(T0 + day * 86400 + 18 * 3600 + 3 * 60, self.by_name["极光手机官方"],
                              [("text", STATEMENT2.format(**v))], ["aurora"], "neu", "owned",
                              story="aurora_battery_crisis", comment_ctx="crisis"))
        # a few "thank god I bought a competitor" posts (two brands)
        for _ in range(14):
            day = SPIKE_IDX + r.choice([0, 0, 1, 1, 2])
            other = r.choice(["xingchen", "lanshan"])
            m2 = MODELS[other][0][0]
            text = r.choice([f"还好当初没买极光X5，选了{m2}，看到电池鼓包的新闻后背发凉",
                             f"极光这次电池鼓包，{m2}要偷着乐了吧",
                             f"本来想买极光X5的，现在还是换{m2}吧，安全第一"])
            ts = self.ts_in_day(day, spike_hours if day == SPIKE_IDX else DIURNAL)
            self.add(Post(ts, self.author(), self.decorate([("text", text)], "neg"),
                          ["aurora", other], "neg", "original", story="aurora_battery_crisis", comment_ctx="crisis"))

    def at_split(self, segs: list[tuple]) -> list[tuple]:
        """Turn ``@NAME `` written inside text segments into ``at`` segments."""
        out: list[tuple] = []
        for seg in segs:
            if seg[0] != "text" or "@" not in seg[1]:
                out.append(seg)
                continue
            rest = seg[1]
            while "@" in rest:
                before, _, after = rest.partition("@")
                name_end = min([i for i in (after.find(" "), after.find("，"), after.find("。")) if i >= 0] or [len(after)])
                if before:
                    out.append(("text", before))
                out.append(("at", after[:name_end]))
                rest = after[name_end:]
            if rest:
                out.append(("text", rest))
        return out

    def storm_variant(self, copy: str, topic: str) -> list[tuple]:
        r = self.rng
        text = copy
        swaps = [("到手价", "券后价"), ("手慢无", "先到先得"), ("狂欢", "盛典"), ("全面升级", "全新升级"),
                 ("预约抢购", "立即预约"), ("超美", "绝美"), ("！", "!!"), ("，", ","), ("👉", r.choice(["🔥", "⚡", "❗", "→"]))]
        for a, b in swaps:
            if a in text and r.random() < 0.3:
                text = text.replace(a, b, 1)
        segs: list[tuple] = []
        if r.random() < 0.25:
            segs.append(("text", r.choice(["转给需要的朋友：", "冲！", "姐妹们看过来～", "好价速上车："])))
        segs.append(("text", text))
        segs.append(self.link())
        segs.append(("text", " "))
        segs.append(("topic", topic))
        if r.random() < 0.3:
            segs.append(("emo", r.choice(["[心]", "[赞]", "[good]"])))
        if r.random() < 0.2:
            segs += [("text", " "), ("at", "极光手机官方" if "极光" in copy else "星辰手机")]
        return segs

    # ---- reposts ---------------------------------------------------------------------------------
    def build_reposts(self) -> None:
        r = self.rng
        originals = sorted((p for p in self.posts if p.kind in ("original", "owned", "irrelevant")),
                           key=lambda p: p.ts)
        weights = [math.log10(p.user.followers + 10) ** 2.5 * (3 if p.story == "aurora_battery_crisis" else 1)
                   for p in originals]
        normal_idx = [i for i, p in enumerate(originals) if p.story != "aurora_battery_crisis"]
        picks: list[tuple[Post, str | None]] = []
        for i in r.choices(normal_idx, weights=[weights[i] for i in normal_idx], k=300):
            picks.append((originals[i], None))
        crisis = [p for p in originals if p.story == "aurora_battery_crisis"]
        cw = [math.log10(p.user.followers + 10) ** 3 * (8 if p in self.crisis_kol_posts else 1) for p in crisis]
        for p in r.choices(crisis, weights=cw, k=330):
            picks.append((p, None))
        for _ in range(45):
            picks.append((self.statement, "statement"))
        for orig, mode in picks:
            # reposts cluster in the hours after the original
            ts = orig.ts + int(r.expovariate(1 / (3 * 3600))) + 60
            spike_end = T0 + (SPIKE_IDX + 1) * 86400
            if orig.story == "aurora_battery_crisis" and orig.ts < spike_end <= ts:
                ts = orig.ts + 30 + r.randrange(max(1, spike_end - orig.ts - 30))  # the storm stays on its day
            if ts >= T_END:
                continue
            pol = orig.polarity
            if mode == "statement":
                pol = "neg" if r.random() < 0.8 else "neu"
                comment = r.choice(STATEMENT_REPOST)
            elif orig.kind == "irrelevant":
                comment = r.choice(["好美", "转发微博", "想去", "太美了"])
            elif orig.story == "aurora_battery_crisis" and pol == "neg":
                comment = r.choice(CRISIS_REPOST + ["转发微博"] * 2)
            else:
                comment = r.choice(REPOST_COMMENTS[pol] + ["转发微博"] * 3)
            segs: list[tuple] = []
            if comment == "转发微博" and r.random() < 0.6:
                segs = [("text", "转发微博")]
            else:
                if comment != "转发微博":
                    segs.append(("text", comment))
                if r.random() < 0.45:
                    via = self.author()
                    via_pool = REPOST_COMMENTS[pol if mode != "statement" else "neg"]
                    if orig.story == "aurora_battery_crisis" and pol == "neg":
                        via_pool = CRISIS_REPOST[:-4]
                    elif orig.kind == "irrelevant":
                        via_pool = ["好美", "想去", "收藏了"]
                    segs += [("text", "//"), ("at", via.name), ("text", ":" + r.choice(via_pool))]
                if not segs:
                    segs = [("text", "转发微博")]
                segs = self.at_split(segs) if any(s[0] == "text" and "@" in s[1] for s in segs) else segs
            if r.random() < 0.2 and segs[-1][0] == "text" and segs[0] != ("text", "转发微博"):
                segs.append(("emo", r.choice(EMOTICONS[pol])))
            kind = "irrelevant" if orig.kind == "irrelevant" else "repost"
            p = Post(ts, self.author(), segs, list(orig.brands), pol, kind, story=orig.story, retweet_of=orig,
                     comment_ctx=orig.comment_ctx)
            self.add(p)
            orig.in_corpus_reposts += 1

    # ---- ids, engagement, comments ---------------------------------------------------------------
    def assign_ids(self) -> None:
        self.posts.sort(key=lambda p: (p.ts, p.user.id))
        used: set[str] = set()
        for p in self.posts:
            while True:
                mid = str(5110000000000000 + (p.ts - T0) * 1_000_000 + self.rng.randrange(1_000_000))
                if mid not in used:
                    used.add(mid)
                    p.mid = mid
                    break
        self.used_mids = used

    def engagement(self) -> None:
        r = self.rng
        for p in self.posts:
            f = p.user.followers
            rate = math.exp(r.gauss(-6.0, 1.0))
            likes = int(f * rate) + r.randrange(0, 6)
            if p.kind == "spam":
                likes = r.randrange(0, 3)
            if p.story == "aurora_battery_crisis":
                likes = int(likes * 3) + r.randrange(0, 30)
            if p in getattr(self, "crisis_kol_posts", []):
                likes = max(likes, r.randrange(40_000, 300_000))
            reposts = int(likes * r.uniform(0.05, 0.4))
            comments = int(likes * r.uniform(0.1, 0.5)) + (r.randrange(0, 4) if p.kind != "spam" else 0)
            if p.kind == "repost":
                reposts, comments, likes = int(reposts * 0.1), int(comments * 0.3), int(likes * 0.3)
            p.likes, p.comments, p.reposts = likes, comments, reposts
        if self.crisis_kol_posts:
            top = self.crisis_kol_posts[1]
            top.likes, top.reposts, top.comments = 1_230_000, 86_400, 41_200
        for p in self.posts:
            p.reposts = max(p.reposts, p.in_corpus_reposts + (r.randrange(0, 5) if p.in_corpus_reposts else 0))

    def build_comments(self) -> None:
        r = self.rng
        cs = self.by_name["极光客服"]
        ranked = sorted((p for p in self.posts if p.kind in ("original", "owned", "near_dup", "irrelevant")
                         and p.comments >= 3), key=lambda p: (-p.comments, p.mid))
        stored_for: dict[str, int] = {}
        for i, p in enumerate(ranked[:520]):
            n = min(p.comments, 8 + int(p.comments ** 0.5), 60 if i < 40 else 25)
            stored_for[p.mid] = n
        # 极光客服 answers a share of the negative aurora posts
        cs_targets = [p for p in self.posts if p.kind == "original" and "aurora" in p.brands and p.polarity == "neg"
                      and p.user.kind == "normal" and r.random() < (0.45 if p.story else 0.3)]
        cs_mids = {p.mid for p in cs_targets}
        for p in self.posts:
            n = stored_for.get(p.mid, 0)
            has_cs = p.mid in cs_mids
            if not n and not has_cs:
                continue
            if has_cs:
                p.comments = max(p.comments, n + 1)
            ctx = p.comment_ctx
            for _ in range(n):
                if ctx == "irrelevant":
                    pol = r.choices(["pos", "neu"], weights=[6, 4])[0]
                elif p.kind in ("owned", "near_dup") and ctx != "crisis":
                    pol = r.choices(["pos", "neu", "neg"], weights=[5, 4, 1])[0]
                elif p.kind == "owned" and ctx == "crisis":
                    pol = r.choices(["neg", "neu", "pos"], weights=[7, 2, 1])[0]
                else:
                    same = {"pos": [6, 3, 1], "neu": [3, 5, 2], "neg": [1, 3, 6]}[p.polarity]
                    pol = r.choices(["pos", "neu", "neg"], weights=same)[0]
                pool = COMMENTS.get((ctx, pol)) or COMMENTS[("brand", pol)]
                text = r.choice(pool)
                segs: list[tuple] = [("text", text)]
                if r.random() < 0.25:
                    segs.append(("emo", r.choice(EMOTICONS[pol])))
                delay = int(r.expovariate(1 / 5400)) + 20
                ts = min(p.ts + delay, T_END - 1 - r.randrange(600))
                ts = max(ts, p.ts + 10)
                likes = int(math.exp(r.gauss(0.5, 1.6))) if p.comments < 1000 else int(math.exp(r.gauss(4, 2)))
                self.comments.append(Comment(p, ts, self.author(), segs, pol, likes))
            if has_cs:
                delay = int(math.exp(r.uniform(math.log(180), math.log(86400))))
                ts = min(p.ts + delay, T_END - 1)
                if ts > p.ts:
                    self.comments.append(Comment(p, ts, cs, [("text", r.choice(CS_REPLIES))], "neu",
                                                 r.randrange(0, 40), owned=True))
        used = self.used_mids
        self.comments.sort(key=lambda c: (c.ts, c.post.mid, c.user.id))
        for c in self.comments:
            while True:
                cid = str(5110000000000000 + (c.ts - T0) * 1_000_000 + r.randrange(1_000_000))
                if cid not in used:
                    used.add(cid)
                    c.cid = cid
                    break

    # ---- feeds -----------------------------------------------------------------------------------
    def build_rss(self) -> list[dict]:
        r = self.rng
        items: list[dict] = []
        authors = ["张伟", "李娜", "王磊", "刘洋", "陈静", "杨帆", "赵敏", "黄浩"]
        news = {
            "pos": [("{m}评测：续航与影像的全面进化", "我们对{m}进行了为期两周的深度测试，它在续航和夜景拍摄上的表现令人印象深刻。"),
                    ("{m}开售首日销量破{k}万台", "据{b}官方数据，{m}开售首日销量突破{k}万台，{color}配色最受欢迎。"),
                    ("{m}推送新版系统：流畅度与续航双提升", "{b}今日向{m}用户推送新版本系统，带来全新AI助手并优化了功耗。"),
                    ("{m}获年度最佳影像手机奖", "在今年的数码年度评选中，{m}凭借出色的夜景表现获得最佳影像手机奖。")],
            "neu": [("{m}与{m2}参数对比：同价位怎么选", "同样定位中高端，{m}和{m2}在影像、续航和屏幕上各有侧重。本文逐项对比。"),
                    ("{b}宣布{m}双十一降价{drop}元", "{b}今日宣布，双十一期间{m}全系降价{drop}元，叠加平台优惠后到手价{price_low}元。"),
                    ("{m}入网工信部，支持67W快充", "一款型号为{b}新机的手机日前通过工信部入网，外观与{m}相似。"),
                    ("{b}发布第三季度业绩：出货量同比增长{pct}%", "{b}公布第三季度业绩，智能手机出货量同比增长{pct}%。")],
            "neg": [("{m}被曝屏幕绿线问题，官方称将免费维修", "近期有{m}用户反映屏幕出现绿线，{b}客服表示符合条件的可免费维修。"),
                    ("{m}系统更新后多名用户反映卡顿", "{m}最新系统推送后，有用户在社交平台反映出现卡顿、发热等问题。"),
                    ("{b}售后遭用户投诉，维权帖增多", "投诉平台数据显示，近一个月关于{b}售后服务的投诉数量有所上升。")],
        }
        industry = [("第三季度国内智能手机出货量同比增长{pct}%", "市场研究机构数据显示，第三季度国内智能手机出货量同比增长{pct}%，高端市场竞争加剧。"),
                    ("折叠屏手机价格下探至五千元档", "随着供应链成熟，折叠屏手机价格持续下探，五千元档新品增多。"),
                    ("双十一手机销售战报：国产品牌占据前五", "双十一手机品类销售数据出炉，国产品牌表现亮眼。"),
                    ("芯片厂商发布新一代旗舰移动平台", "新平台采用3nm工艺，CPU性能提升约{pct}%，预计明年初商用。"),
                    ("6G标准制定进入关键阶段", "业内人士表示，6G标准的第一版有望在两年内冻结。")]
        irrelevant = [("科学家解释：为何今年极光频繁出现", "太阳活动进入高峰期，今年全球多地观测到极光，我国北方也有记录。", "aurora"),
                      ("北极光旅游升温，漠河酒店预订量翻倍", "随着冬季来临，看极光成为热门旅游项目，漠河、北极村酒店预订量大涨。", "aurora"),
                      ("“星辰大海”计划：商业航天公司完成第三次发射", "一家商业航天公司今日完成第三次入轨发射，将三颗卫星送入预定轨道。", "xingchen"),
                      ("蓝山咖啡豆价格上涨，牙买加产量下降", "受天气影响，牙买加蓝山咖啡豆今年减产，国内零售价格上涨。", "lanshan")]
        crisis = [("{m}被曝电池鼓包，多地用户反映充电发热", "11月10日起，多地{m}用户在社交平台反映手机充电时发热严重、后盖鼓起。", "neg"),
                  ("极光回应X5电池问题：已成立专项小组，免费检测", "极光手机官方微博发布说明，称已成立专项小组排查，并提供免费电池检测与更换。", "neu"),
                  ("{m}电池鼓包事件持续发酵，监管部门约谈", "据悉，当地市场监管部门已就{m}电池问题约谈极光相关负责人。", "neg"),
                  ("第三方实测：{m}快充温度偏高", "第三方实验室测试显示，{m}在边玩边充场景下电池温度最高超过50℃。", "neg"),
                  ("极光公布X5电池检测进展：问题集中在单一批次", "极光表示，异常电池集中在9月的一个生产批次，受影响用户将收到通知。", "neu")]
        n_id = 100_000
        for day in range(WINDOW_DAYS):
            for _ in range(r.randrange(16, 22)):
                x = r.random()
                brands: list[str]
                story = None
                if day >= SPIKE_IDX and day <= SPIKE_IDX + 3 and x < 0.3:
                    title, desc, pol = r.choice(crisis)
                    brands, story, kind = ["aurora"], "aurora_battery_crisis", "original"
                    v = self.values("aurora", model=MODELS["aurora"][0])
                elif x < 0.72:
                    brand = r.choices(["aurora", "xingchen", "lanshan"], weights=[5, 3, 2])[0]
                    pol = r.choices(["pos", "neu", "neg"], weights=[35, 45, 20])[0]
                    title, desc = r.choice(news[pol])
                    other = r.choice([b for b in ("aurora", "xingchen", "lanshan") if b != brand])
                    v = self.values(brand, other=other)
                    brands, kind = ([brand, other] if "{m2}" in title else [brand]), "original"
                elif x < 0.9:
                    title, desc = r.choice(industry)
                    v, brands, pol, kind = self.values("aurora"), [], "neu", "original"
                else:
                    title, desc, b = r.choice(irrelevant)
                    v, brands, pol, kind = self.values(b), [], "neu", "irrelevant"
                ts = self.ts_in_day(day, NEWS_HOURS)
                n_id += r.randrange(1, 40)
                d = datetime.fromtimestamp(ts, TZ)
                url = f"https://news.techdemo.example/article/{d:%Y%m%d}/{n_id}.html"
                extra = r.choice(["更多细节请关注后续报道。", "本文数据来自公开渠道。", "编辑：" + r.choice(authors),
                                  "你怎么看？欢迎留言讨论。"])
                items.append({"ts": ts, "title": title.format(**v), "link": url, "guid": url,
                              "desc": f"<p>{html.escape(desc.format(**v))}</p><p>{html.escape(extra)}</p>",
                              "author": r.choice(authors), "brands": brands, "polarity": pol, "kind": kind,
                              "story": story, "category": "手机" if brands else "科技"})
        items.sort(key=lambda i: (-i["ts"], i["guid"]))
        return items

    def build_atom(self) -> list[dict]:
        r = self.rng
        items: list[dict] = []
        heads = {"pos": ["【晒单】", "【好评】", "【经验】"], "neu": ["【求助】", "【讨论】", "【提问】"],
                 "neg": ["【吐槽】", "【避雷】", "【售后】"]}
        n_id = 2_800_000
        for day in range(WINDOW_DAYS):
            for _ in range(r.randrange(16, 22)):
                x = r.random()
                story = None
                if day >= SPIKE_IDX and day <= SPIKE_IDX + 3 and x < 0.35:
                    pol = r.choices(["neg", "neu", "pos"], weights=[80, 14, 6])[0]
                    v = self.values("aurora", model=MODELS["aurora"][0])
                    body = r.choice(CRISIS[pol]).format(**v)
                    title = (r.choice(heads[pol]) + r.choice([f"{v['m']}电池鼓包了，附图", f"{v['m']}充电发烫正常吗？",
                                                             f"{v['m']}电池问题汇总帖", f"{v['m']}送检经历"]))
                    brands, kind, story = ["aurora"], "original", "aurora_battery_crisis"
                    paras = [body, r.choice(S[("battery", pol)]).format(**v)]
                elif x < 0.8:
                    brand = r.choices(["aurora", "xingchen", "lanshan"], weights=[5, 3, 2])[0]
                    pol = r.choices(["pos", "neu", "neg"], weights=[33, 40, 27])[0]
                    if r.random() < 0.12:
                        other = r.choice([b for b in ("aurora", "xingchen", "lanshan") if b != brand])
                        v = self.values(brand, other=other)
                        title = f"【讨论】{v['m']}和{v['m2']}怎么选"
                        paras = [r.choice(COMPARE["neu"]).format(**v), r.choice(S[("camera", "neu")]).format(**v)]
                        brands, pol = [brand, other], "neu"
                    else:
                        v = self.values(brand)
                        a = r.choice(ASPECTS)
                        s1 = r.choice(S[(a, pol)]).format(**v)
                        title = r.choice(heads[pol]) + v["m"] + ASPECT_LABEL[a] + r.choice(["", "体验", "问题", "分享"])
                        a2 = r.choice(ASPECTS)
                        paras = [r.choice(OPENERS).format(**v) + s1 + "。",
                                 r.choice(S[(a2, pol if r.random() < 0.6 else "neu")]).format(**v) + "。",
                                 r.choice(CLOSERS[pol])]
                        brands = [brand]
                    kind = "original"
                else:
                    b = r.choice(["aurora", "aurora", "xingchen", "lanshan"])
                    txt = r.choice(IRRELEVANT[b])
                    title = {"aurora": "【摄影】追极光手记", "xingchen": "【闲聊】星辰大海", "lanshan": "【生活】蓝山咖啡"}[b]
                    title += r.choice(["", "（多图）", "，分享一下", "第" + str(r.randrange(2, 9)) + "弹"])
                    paras = [txt, r.choice(["随手记录，欢迎交流。", "就是想分享一下。", "下次再来更新。"])]
                    brands, pol, kind = [], "pos", "irrelevant"
                    v = {}
                if r.random() < 0.1:
                    paras = [zhconv.convert(p_, "zh-tw") for p_ in paras]
                    title = zhconv.convert(title, "zh-tw")
                ts = self.ts_in_day(day, DIURNAL)
                n_id += r.randrange(1, 300)
                updated = ts + (r.randrange(60, 7200) if r.random() < 0.3 else 0)
                updated = min(updated, T_END - 1)
                items.append({"ts": ts, "updated": updated, "title": title,
                              "id": f"tag:forum.demo.example,2026:thread-{n_id}",
                              "link": f"https://forum.demo.example/thread-{n_id}-1-1.html",
                              "author": self._name() if r.random() < 0.5 else r.choice(self.normal).name,
                              "content": "".join(f"<p>{html.escape(p_)}</p>" for p_ in paras),
                              "brands": brands, "polarity": pol, "kind": kind, "story": story})
        items.sort(key=lambda i: (-i["ts"], i["id"]))
        return items


# --------------------------------------------------------------------------------------------------
# serialisation
# --------------------------------------------------------------------------------------------------
def fmt_count(n: int, key: str) -> int | str:
    if n >= 1_000_000:
        return "100万+"
    if n >= 10_000 and int(_h("cnt", key)[:2], 16) < 150:
        return fmt_wan(n)
    return n


def mblog_json(p: Post) -> dict:
    conv = p.user.trad
    full_html, plain = render(p.segs, conv)
    is_long = len(plain) > 140
    text = render_truncated(p.segs, conv, p.mid) if is_long else full_html
    region = p.user.region
    pic_ids = [f"{_h('uid', p.user.id)[:8]}ly1h{_h('pic', p.mid, i)[:20]}" for i in range(p.pic_num)]
    mb: dict = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": weibo_time(p.ts),
        "id": p.mid,
        "mid": p.mid,
        "bid": mid_to_bid(p.mid),
        "can_edit": False,
        "show_additional_indication": 0,
        "text": text,
    }
    if is_long:
        mb["textLength"] = sum(2 if ord(c) > 127 else 1 for c in plain)
    mb.update({
        "source": p.client,
        "favorited": False,
        "pic_ids": pic_ids,
        "pic_num": p.pic_num,
        "is_paid": False,
        "mblog_vip_type": 0,
        "user": p.user.to_json(),
        "reposts_count": fmt_count(p.reposts, p.mid + "r"),
        "comments_count": fmt_count(p.comments, p.mid + "c"),
        "reprint_cmt_count": 0,
        "attitudes_count": fmt_count(p.likes, p.mid + "a"),
        "pending_approval_count": 0,
        "isLongText": is_long,
        "show_mlevel": 0,
        "region_name": f"发布于 {region}",
        "mblogtype": 0,
    })
    return mb


def comment_json(c: Comment, floor: int) -> dict:
    conv = c.user.trad
    h, _ = render(c.segs, conv)
    return {
        "created_at": weibo_time(c.ts),
        "id": c.cid,
        "rootid": c.cid,
        "rootidstr": c.cid,
        "floor_number": floor,
        "text": h,
        "disable_reply": 0,
        "source": f"来自{c.user.region}",
        "user": c.user.to_json(),
        "mid": c.cid,
        "like_count": c.likes,
        "total_number": 0,
        "liked": False,
        "isLikedByMblogAuthor": False,
    }


def write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        for line in lines:
            gz.write(line.encode("utf-8") + b"\n")
    path.write_bytes(buf.getvalue())


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def rss_xml(items: list[dict]) -> str:
    last = max(i["ts"] for i in items)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
           "<channel>",
           "<title>数码科技快讯</title>",
           "<link>https://news.techdemo.example/</link>",
           '<atom:link href="https://news.techdemo.example/rss/tech.xml" rel="self" type="application/rss+xml"/>',
           "<description>手机、数码与科技行业资讯（演示数据）</description>",
           "<language>zh-cn</language>",
           f"<lastBuildDate>{rfc822(last)}</lastBuildDate>",
           "<ttl>30</ttl>"]
    for it in items:
        out.append("<item>")
        out.append(f"<title>{xml_escape(it['title'])}</title>")
        out.append(f"<link>{xml_escape(it['link'])}</link>")
        out.append(f'<guid isPermaLink="true">{xml_escape(it["guid"])}</guid>')
        out.append(f"<pubDate>{rfc822(it['ts'])}</pubDate>")
        out.append(f"<dc:creator>{xml_escape(it['author'])}</dc:creator>")
        out.append(f"<author>news@techdemo.example ({xml_escape(it['author'])})</author>")
        out.append(f"<category>{xml_escape(it['category'])}</category>")
        out.append(f"<description>{xml_escape(it['desc'])}</description>")
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def atom_xml(items: list[dict]) -> str:
    last = max(i["updated"] for i in items)
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">',
           "<title>机友论坛 - 最新主题</title>",
           "<subtitle>手机讨论区（演示数据）</subtitle>",
           "<id>tag:forum.demo.example,2026:/threads</id>",
           '<link rel="alternate" href="https://forum.demo.example/forum-12-1.html"/>',
           '<link rel="self" href="https://forum.demo.example/atom/forum.xml"/>',
           f"<updated>{iso8601(last)}</updated>",
           "<generator>demo-forum</generator>"]
    for it in items:
        out.append("<entry>")
        out.append(f"<id>{xml_escape(it['id'])}</id>")
        out.append(f'<title type="text">{xml_escape(it["title"])}</title>')
        out.append(f'<link rel="alternate" type="text/html" href="{xml_escape(it["link"])}"/>')
        out.append(f"<published>{iso8601(it['ts'])}</published>")
        out.append(f"<updated>{iso8601(it['updated'])}</updated>")
        out.append(f"<author><name>{xml_escape(it['author'])}</name></author>")
        out.append(f'<content type="html">{xml_escape(it["content"])}</content>')
        out.append("</entry>")
    out += ["</feed>", ""]
    return "\n".join(out)


def truth_line(source: str, native_id: str, brands: list[str], polarity: str, kind: str, story: str | None,
               ts: int, script: str, **extra: object) -> str:
    d = {"source": source, "native_id": native_id, "brands": brands, "polarity": polarity, "kind": kind,
         "story": story, "created_at": iso8601(ts), "script": script}
    d.update(extra)
    return dumps(d)


def generate(out: Path, seed: int = DEFAULT_SEED) -> dict:
    """Build the whole demo world and write it under ``out``; returns the manifest."""
    out = Path(out)
    w = World(seed)
    w.make_users()
    w.build_weibo()
    w.build_reposts()
    w.assign_ids()
    w.engagement()
    w.build_comments()
    rss = w.build_rss()
    atom = w.build_atom()

    served: dict[str, dict] = {}
    mblog_lines, truth = [], []
    for p in w.posts:  # already in time order, originals before their reposts
        mb = mblog_json(p)
        full_html, plain = render(p.segs, p.user.trad)
        if p.retweet_of is not None:
            mb["retweeted_status"] = served[p.retweet_of.mid]
        served[p.mid] = mb
        rec = dict(mb)
        if mb["isLongText"]:
            rec["_longtext"] = full_html
        mblog_lines.append(dumps(rec))
        truth.append(truth_line("weibo", p.mid, p.brands, p.polarity, p.kind, p.story, p.ts, p.script,
                                author=p.user.name, retweet_of=p.retweet_of.mid if p.retweet_of else None))
    comment_lines = []
    by_post: dict[str, list[Comment]] = {}
    for c in w.comments:
        by_post.setdefault(c.post.mid, []).append(c)
    for p in w.posts:
        cl = by_post.get(p.mid)
        if not cl:
            continue
        floors = {c.cid: i + 1 for i, c in enumerate(sorted(cl, key=lambda c: (c.ts, c.cid)))}
        for c in sorted(cl, key=lambda c: (-c.likes, c.ts, c.cid)):
            cj = comment_json(c, floors[c.cid])
            cj["_status_id"] = p.mid
            comment_lines.append(dumps(cj))
            truth.append(truth_line("weibo_comment", c.cid, list(p.brands), c.polarity,
                                    "owned" if c.owned else ("irrelevant" if not p.brands else "original"),
                                    p.story, c.ts, "hant" if c.user.trad else "hans", status_id=p.mid,
                                    author=c.user.name))
    for it in reversed(rss):
        truth.append(truth_line("rss", it["guid"], it["brands"], it["polarity"], it["kind"], it["story"], it["ts"],
                                "hans"))
    for it in reversed(atom):
        script = "hant" if zhconv.convert(it["title"], "zh-cn") != it["title"] else "hans"
        truth.append(truth_line("atom", it["id"], it["brands"], it["polarity"], it["kind"], it["story"], it["ts"],
                                script))

    write_gz(out / "weibo" / "mblogs.jsonl.gz", mblog_lines)
    write_gz(out / "weibo" / "comments.jsonl.gz", comment_lines)
    write_gz(out / "truth.jsonl.gz", truth)
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    (out / "feeds" / "tech.xml").write_text(rss_xml(rss), encoding="utf-8")
    (out / "feeds" / "forum.xml").write_text(atom_xml(atom), encoding="utf-8")
    manifest = stats(w, rss, atom, seed)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def stats(w: World, rss: list[dict], atom: list[dict], seed: int) -> dict:
    def day(ts: int) -> str:
        return datetime.fromtimestamp(ts, TZ).date().isoformat()

    posts = w.posts
    per_day = Counter(day(p.ts) for p in posts)
    spike = [p for p in posts if day(p.ts) == SPIKE_DAY.isoformat() and "aurora" in p.brands and p.polarity == "neg"]
    brands = Counter(b for p in posts for b in p.brands)
    return {
        "seed": seed,
        "window": [WINDOW_START.isoformat(), (WINDOW_START + timedelta(days=WINDOW_DAYS - 1)).isoformat()],
        "timezone": "+08:00",
        "weibo": {
            "posts": len(posts),
            "relevant": sum(1 for p in posts if p.brands and p.kind not in ("spam", "irrelevant")),
            "kinds": dict(sorted(Counter(p.kind for p in posts).items())),
            "brands": dict(sorted(brands.items())),
            "polarity": dict(sorted(Counter(p.polarity for p in posts).items())),
            "traditional": sum(1 for p in posts if p.user.trad),
            "long_text": sum(1 for p in posts if len(render(p.segs, None)[1]) > 140),
            "per_day": dict(sorted(per_day.items())),
            "spike_day_negative_aurora": len(spike),
            "users": len(w.users),
            "comments": len(w.comments),
            "posts_with_comments": len({c.post.mid for c in w.comments}),
        },
        "rss": {"items": len(rss), "kinds": dict(sorted(Counter(i["kind"] for i in rss).items()))},
        "atom": {"items": len(atom), "kinds": dict(sorted(Counter(i["kind"] for i in atom).items()))},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listening.demo.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="output directory (default: include/demo)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    out = args.out or default_data_dir()
    manifest = generate(out, args.seed)
    w = manifest["weibo"]
    print(f"wrote {out}: weibo {w['posts']} posts ({w['relevant']} relevant), {w['comments']} comments, "
          f"rss {manifest['rss']['items']}, atom {manifest['atom']['items']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
