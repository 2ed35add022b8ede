"""Remove web-clipping noise from note text, and fold text for matching.

Notes are often pages saved from the web, so besides the article they carry page
furniture: navigation and login/share buttons, image placeholders, tip/red-packet
widgets, site footers and lists of recommended articles. ``clean_text`` works line by
line, because furniture arrives as whole short lines while real content is kept with
its line structure (headings, list items, table rows, blank lines between paragraphs)
for the splitter.

Each line is judged on its *key*: the line folded (NFKC, lowercase, Traditional ->
Simplified), so one simplified rule set also covers full-width and Traditional pages.
Three kinds of rule, from narrow to broad:

- a short standalone line made only of furniture labels (``登录``, ``点赞 12 收藏``) or
  matching a furniture pattern (``image-20231010150630814``, ``X home page X logo``);
  length-gated, so a sentence that merely mentions 分享 or 推荐 is never matched;
- a long line carrying several distinct ad/copyright-boilerplate cues at once;
- zones: after a header such as ``随机推荐`` / ``相关文章`` / ``Recommend Projects`` or a
  tip widget trigger (``添加红包``), list items, their indented descriptions and short
  title lines are dropped until a line of real prose (long, with sentence punctuation)
  resumes the article, or the text ends.

Code blocks clipped with their gutter leave a counting run of lines "1", "2", "3"; such
a run is dropped, a lone number (a table cell) is not.

Pinyin debris (``發(fā)展`` -> ``發展``) is a tone-marked pinyin syllable in brackets
right after a character; only whole valid syllables with a tone mark are removed, so
real parentheses such as ``(Self-Attention)`` or ``(2048-成千上万)`` survive.

``fold`` and ``match_key`` give the forms used for keyword search and for checking that
a passage contains an evidence string.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_DETONE = str.maketrans(_TONED, "aaaaeeeeiiiioooouuuuüüüü")
# Some sites print a converted character followed by its pinyin in brackets; a mangled
# page can turn the opening bracket into "?". The lookbehind allows a Latin letter too,
# because the debris also follows letters (``F(xiàn)alcon``) when the site slips.
_PINYIN_DEBRIS = re.compile(rf"(?<=[{_CJK}A-Za-z])[(（?]([a-zü{_TONED}]{{1,6}})[)）]")
_SYLLABLE = re.compile(r"(?:[zcs]h|[bpmfdtnlgkhjqxrzcsyw])?[aeiouü]{1,3}(?:ng|n|r)?")

_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")

# A line longer than this is prose, not a button or widget label.
_FURNITURE_MAX = 60
# Inside a zone, only a line at least this long and with sentence punctuation ends it.
_PROSE_MIN = 40
_SENTENCE_PUNCT = re.compile(r"[,.;:!?，。；：！？、]")
_BULLET = re.compile(r"[•·▪●◦‣∙*+\-]\s|\d{1,3}[.、)]\s*\S|\(\d{1,3}\)")
_DECORATION = " :：>›»<‹«|·•*#【】[]"
_TRAILING_COUNT = re.compile(r"\s*\d+(?:\.\d+)?[万kw]?$")
_LABEL_SPLIT = re.compile(r"[\s|/·•]+")


def _words(*groups: str) -> frozenset[str]:
    return frozenset(" ".join(groups).split())


# Buttons, navigation and widget labels that only ever stand alone on a line. Keys are
# folded, so simplified forms here also match Traditional pages.
_LABELS = _words(
    # account and navigation
    "登录 注册 登录/注册 立即登录 退出登录 首页 返回顶部 回到顶部 上一篇 下一篇 上一页 下一页 "
    "加载中 加载更多 查看更多 阅读更多 阅读全文 展开全文 展开 收起 打开app "
    # social actions and their counters
    "分享 分享到 转发 点赞 赞 收藏 评论 举报 关注 已关注 取消关注 复制 复制链接 扫一扫 "
    "赞赏 打赏 打赏作者 "
    # tip / red-packet / payment widgets (CSDN and similar)
    "添加红包 发出的红包 扫码支付 使用余额支付 余额充值 实付 获取中 点击重新获取 抵扣说明 "
    "login logout register share like likes follow subscribe comment comments reply home menu "
    "contributors",
) | {"sign in", "sign up", "log in", "log out", "read more", "back to top"}
# Share targets are furniture only next to a real label ("分享到 微信 微博"); alone, a
# line "微信" may be a heading.
_WEAK_LABELS = _words("微信 微博 qq qq空间 朋友圈 豆瓣 知乎 wechat weibo twitter facebook")
_FURNITURE_PATTERNS = re.compile(
    "|".join(
        [
            r"image-\d{8,}(?:\.\w+)?",  # Typora's default pasted-image names
            r"img_\d+|\S+\.(?:png|jpe?g|gif|webp|svg)",  # bare image file names
            r".{0,4}(?:插入|写)图片描述.{0,2}|图片|image|\[图片\]",  # image alt text
            r".{0,40}home ?page.{0,40}logo",  # GitHub mirror site header
            r"[\w.-]+ avatar",  # avatar image alt text
            r"[\w.-]+'s (?:introduction|people|contributors)",  # GitHub mirror section titles
            r"(?:\[[^\]]{1,15}\]\s*)+",  # link labels whose targets were lost
            r"(?![\s|:=*_-]+$)\W+",  # punctuation only (markdown rules and table rows stay)
            r"(?:原文标题|原文链接|本文链接|文章出处|版权声明|转载请注明|本文首发于).*",
            # invitations to a reader group
            r".{0,20}(?:加入|进|加|扫码).{0,15}(?:交流|读者|技术|粉丝|微信|qq|学习|讨论)群.{0,10}",
            # payment widget text with an amount (most of it is caught by the zone below)
            r"(?:当前)?余额[\d.]+.{0,4}充值.{0,2}|(?:需支付|扫码支付|实付)[:：]?\s*[¥￥]?[\d.]+",
            r"(?:[¥￥]\d+(?:\.\d+)?\s*)+",
            r"成就一亿技术人!?",  # CSDN slogan
        ]
    )
)
# Ads and copyright footers come as long lines; one cue is normal prose, several at once
# are boilerplate.
_BOILERPLATE_CUES = (
    "私信", "博主", "侵权", "版权归", "本站", "法律责任", "商业用途", "毕业设计",
    "源码", "购买", "资源来自", "转载", "注明出处", "公众号", "留言", "抄袭", "免责",
)  # fmt: skip
_BOILERPLATE_MIN_CUES = 4

# Headers that open a list of links to other pages; "X的相关文章" names this page first.
_ZONE_HEADER = re.compile(
    r"(?:[^,。，！？!?；;]{1,60}的\s?)?"
    r"(?:随机推荐|相关推荐|推荐阅读|热门推荐|精彩推荐|为你推荐|往期推荐|猜你喜欢|"
    r"相关文章|热门文章|最新文章|推荐文章|相关阅读|延伸阅读|往期回顾|"
    r"recommend(?:ed)?(?: projects| topics| orgs?| articles| posts| reading)|"
    r"related (?:posts|articles)|you (?:may|might) also like|more (?:articles|posts))"
    # tip and comment widgets: what follows is the widget, then comments
    r"|添加红包|发红包|打赏作者|发表评论|写评论|全部评论|最新评论|热门评论|暂无评论"
)
# Inside a zone these words mark widget text whatever the line's length.
_ZONE_VOCAB = re.compile(r"红包|余额|充值|支付|打赏|钱包|粉丝|点赞|收藏|评论|登录")


@cache
def _t2s() -> Any:
    # Built once: loading the OpenCC dictionaries is the slow part of folding.
    from opencc import OpenCC

    return OpenCC("t2s")


def _drop_debris(match: re.Match[str]) -> str:
    syllable = match.group(1)
    toned = sum(ch in _TONED for ch in syllable)
    if toned == 1 and _SYLLABLE.fullmatch(syllable.translate(_DETONE)):
        return ""
    return match.group(0)


def remove_pinyin_debris(text: str) -> str:
    """``發(fā)展`` -> ``發展``: drop a bracketed tone-marked pinyin syllable after a character."""
    return _PINYIN_DEBRIS.sub(_drop_debris, text)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified only: the one-script form given to the embedding model.

    Case and width are kept, because the embedding model's tokenizer is cased.
    """
    return str(_t2s().convert(text))


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs made one space), clipped to ``limit``
    characters with "…": a title of a document or a conversation."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fold(text: str) -> str:
    """The form for matching: NFKC, lowercase, Traditional -> Simplified, no pinyin debris."""
    text = remove_pinyin_debris(text)
    text = unicodedata.normalize("NFKC", text).lower()
    return str(_t2s().convert(text))


def match_key(text: str) -> str:
    """``fold(text)`` without any whitespace: decides whether a passage contains a string."""
    return _WHITESPACE.sub("", fold(text))


def _is_furniture(key: str) -> bool:
    if len(key) > _FURNITURE_MAX:
        return sum(cue in key for cue in _BOILERPLATE_CUES) >= _BOILERPLATE_MIN_CUES
    bare = _TRAILING_COUNT.sub("", key.strip(_DECORATION)).strip(_DECORATION)
    # "点赞 12 收藏 分享": every token a label or a counter, at least one label.
    tokens = [t for t in _LABEL_SPLIT.split(bare) if t and not t.isdigit()]
    if bare in _LABELS or (
        any(t in _LABELS for t in tokens) and all(t in _LABELS or t in _WEAK_LABELS for t in tokens)
    ):
        return True
    return bool(_FURNITURE_PATTERNS.fullmatch(key) or _FURNITURE_PATTERNS.fullmatch(bare))


def _is_zone_header(key: str) -> bool:
    return len(key) <= _FURNITURE_MAX and bool(_ZONE_HEADER.fullmatch(key.strip(_DECORATION)))


def _indent(raw: str) -> int:
    return len(raw) - len(raw.lstrip(" \t\u00a0\u3000"))


def _gutter(lines: list[str]) -> set[int]:
    """Indices of a code block's line numbers, clipped as lines "1", "2", ..., "n" (n >= 2).

    A lone number may be a table cell, so only a counting run is dropped.
    """
    found: set[int] = set()
    i = 0
    while i < len(lines):
        n = 0
        while i + n < len(lines) and lines[i + n] == str(n + 1):
            n += 1
        if n >= 2:
            found.update(range(i, i + n))
        i += max(n, 1)
    return found


def normalise_text(text: str) -> str:
    """Text with its line breaks, spaces and invisible characters normalised and nothing
    removed: what a document is indexed from when cleaning would leave too little."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text.replace("\u2028", "\n").replace("\u2029", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def clean_text(text: str) -> str:
    """Text without page furniture and pinyin debris, with its line structure kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text.replace("\u2028", "\n").replace("\u2029", "\n"))
    raw_lines = remove_pinyin_debris(text).split("\n")
    lines = [_SPACES.sub(" ", raw).strip() for raw in raw_lines]
    keys = fold("\n".join(lines)).split("\n")
    if len(keys) != len(lines):  # defensive: folding never adds or removes newlines
        keys = [fold(line) for line in lines]

    gutter = _gutter(lines)
    kept: list[str] = []
    in_zone = False
    in_item = False  # inside a zone, the last line was a list item or its description
    for i, (raw, line, key) in enumerate(zip(raw_lines, lines, keys, strict=True)):
        if not line:
            kept.append("")
            continue
        if i in gutter:
            continue
        if _is_zone_header(key):
            in_zone, in_item = True, False
            continue
        if in_zone:
            if _BULLET.match(line):
                in_item = True
                continue
            if in_item and _indent(raw) >= 2:
                continue
            in_item = False
            is_prose = len(key) >= _PROSE_MIN and bool(_SENTENCE_PUNCT.search(key))
            if not line.startswith("#") and (not is_prose or _ZONE_VOCAB.search(key)):
                continue
            in_zone = False
        if not _is_furniture(key):
            kept.append(line)
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
