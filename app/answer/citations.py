"""Citation markers and quotes: which passages an answer cites, and the sentence of each
that supports it.

A small model often cites [2] for what it read in [1], or [6] when there are five
passages; the markers are fixed before any check reads them (``check_citations``), and
each cited passage is returned with the sentence that best supports the answer
(``sources_of``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.answer.types import Source
from app.lang import bigrams
from app.passages import Passage
from ingest.documents import document_id

MARKER = re.compile(r"[\[【](\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)[\]】]")


def check_citations(answer: str, passages: Sequence[str]) -> tuple[str, list[int]]:
    """Fix the answer's [n] markers; the passages cited, in order of first use.

    A marker that points at no passage is removed. A marker whose passage shares much
    less with the sentence before it than another passage does is moved to that one: a
    small model often cites [2] for what it read in [1].
    """
    support = [bigrams(p) for p in passages]
    cited: list[int] = []
    last = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal last
        claim = bigrams(answer[last : match.start()])
        last = match.end()
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        overlap = [len(claim & grams) for grams in support]
        best = max(range(len(support)), key=overlap.__getitem__, default=-1) + 1
        out: list[int] = []
        for n in numbers:
            if not 1 <= n <= len(passages):
                continue
            if best and overlap[n - 1] * 2 < overlap[best - 1]:
                n = best
            if n not in out:
                out.append(n)
        for n in out:
            if n not in cited:
                cited.append(n)
        return "".join(f"[{n}]" for n in out)

    text = MARKER.sub(fix, answer)
    text = re.sub(r"[ \t]+([。，,.!?！？])", r"\1", text)  # a removed marker left a space
    return text.strip(), cited


def sources_of(cited: Sequence[int], passages: Sequence[Passage], answer: str) -> list[Source]:
    """The cited passages (numbered from 1), each with the sentence that best supports the
    answer as its quote."""
    wanted = bigrams(MARKER.sub(" ", answer))
    return [_source(n, passages[n - 1], wanted) for n in cited]


def _source(n: int, p: Passage, wanted: set[str]) -> Source:
    start, end = _best_sentence(p.text, wanted)
    return Source(
        n,
        p.source,
        p.page,
        p.heading,
        p.chunk_ids[0],
        p.start,
        p.end,
        p.text,
        start,
        end,
        list(p.chunk_ids),
        p.origin,
        document_id(p.source),
    )


_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")


def _best_sentence(text: str, wanted: set[str]) -> tuple[int, int]:
    """The span of ``text``'s sentence that shares the most of ``wanted`` (the answer's
    bigrams); (0, 0) when none shares any."""
    best, span = 0, (0, 0)
    for m in _SENTENCE.finditer(text):
        score = len(wanted & bigrams(m.group()))
        if score > best:
            best, span = score, (m.start(), m.end())
    return span
