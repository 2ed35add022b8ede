"""Example questions for the page's empty screen, drawn from a knowledge base's headings:
what its documents are about, in the words they use, spread over its documents."""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.lang import corpus_lang, detect_lang

# Headings that say nothing about the content: tables of contents, boilerplate.
_EMPTY = re.compile(
    r"^(?:目录|目次|参考(?:文献|资料)?|附录|前言|引言|简介|总结|结论|致谢|"
    r"contents?|table of contents|references?|appendix|introduction|summary|conclusions?|"
    r"acknowledg(?:e)?ments?|table \d+|sheet\d*|page \d+)$",
    re.IGNORECASE,
)
# "1. ", "二、", "第三章 ", "(2)": the numbering of a section is not part of its name.
_NUMBERING = re.compile(
    r"^(?:\(?\d{1,3}(?:\.\d{1,3})*[.、)）]?|[一二三四五六七八九十]{1,3}[、.]|第.{1,4}[章节部分])\s*"
)
_HAS_WORD = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]{3}")
_LIMITS = {"zh": (4, 24), "en": (8, 60)}


def example_questions(headings: Iterable[tuple[str, str]], *, n: int = 4) -> list[str]:
    """Up to ``n`` questions from (source, breadcrumb) pairs in document order: a section
    heading of each document in turn (below its title when it has sections), each once."""
    by_source: dict[str, list[str]] = {}
    for source, breadcrumb in headings:
        parts = [p.strip() for p in breadcrumb.split(" > ") if p.strip()]
        # The deepest heading names the section; a lone top one is the document's title.
        name = _NUMBERING.sub("", parts[-1]).strip() if parts else ""
        if _usable(name) and name not in by_source.setdefault(source, []):
            by_source[source].append(name)
    # Asked in the language the headings are mostly in ("Chinchilla" in Chinese notes).
    lang = corpus_lang(name for names in by_source.values() for name in names)
    picked: list[str] = []
    seen: set[str] = set()
    queues = [names[1:] + names[:1] for names in by_source.values()]
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                name = queue.pop(0)
                if name.casefold() not in seen:
                    seen.add(name.casefold())
                    picked.append(name)
    return [question_about(name, lang) for name in picked]


def question_about(heading: str, lang: str) -> str:
    if heading.endswith(("?", "？")):
        return heading
    if lang == "zh":
        return f"「{heading}」讲了什么？"
    return f"What do the documents say about “{heading}”?"


def _usable(name: str) -> bool:
    low, high = _LIMITS[detect_lang(name)]
    core = name.strip(" :：#*-")
    return low <= len(core) <= high and bool(_HAS_WORD.search(core)) and not _EMPTY.match(core)
