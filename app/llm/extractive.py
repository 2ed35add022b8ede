"""The generator without a language model: quote the passages' best sentences, cited.

For machines that cannot run a model, and as a baseline for the evaluation: whatever it
says is copied from the knowledge base, so it can be wrong only by picking the wrong
sentence, never by inventing one.

Notes are mostly lists under headings, so a passage is read line by line:

- a *label* is a line that only names what follows: it ends with ``:`` / ``：`` or is
  short and carries no sentence punctuation (``具体流程:``, ``Alpaca衍生模型``). A label is
  never quoted on its own; when it matches the question, the label with the lines that
  follow it (its list) is the answer;
- every other line is cut into sentences, and each sentence is scored by the question
  terms it shares, normalised by its length (cosine of the two term sets), so a long
  sentence does not win by size alone. Fragments too short to say anything are dropped.

Terms are compared on ``ingest.clean.fold``-ed text, so a Traditional passage matches a
Simplified question; question words (什么, 哪些, how, what) are not terms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.llm.base import GenerationRequest
from app.llm.prompts import estimate_tokens, has_cjk
from ingest.clean import fold

REFUSAL_ZH = "抱歉，知识库中没有找到能回答这个问题的内容。"
REFUSAL_EN = "Sorry, I cannot answer this from the knowledge base."

MAX_SENTENCES = 3
# Sentences after the first must score at least this share of the best one, so that a
# strong answer is not padded with sentences that share a stray term with the question.
RELATIVE_CUTOFF = 0.5
MAX_ANSWER_CHARS = 400
# A label's list is cut after this many lines: past that it is rarely still the answer.
MAX_LIST_LINES = 8
# A line this short without sentence punctuation is a heading, not a statement.
LABEL_MAX_CHARS = 20
# A sentence shorter than this (URLs and list markers aside) is a fragment.
MIN_SENTENCE_CHARS = 6

# After Chinese end punctuation, or after . ! ? followed by space.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.!?])\s+")
_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of Chinese characters, or a word of other letters and digits (no underscore, so
# ``batch_size`` is two words): mixed runs such as ``LLaMA13B基于`` are split apart.
_TERM_RUN = re.compile(rf"[{_CJK_CHARS}]+|[^\W_{_CJK_CHARS}]+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MARKER = re.compile(
    r"^(?:(?P<bullet>[•·▪●◦‣∙*+\-])\s*|(?P<number>\d{1,3}[.、)])\s*(?!\d)"
    r"|(?P<paren>[(（]\d{1,3}[)）])\s*|(?P<zh>[一二三四五六七八九十]{1,3}、)\s*)"
)
_SENTENCE_PUNCT = re.compile(r"[。！？!?；;，,]")
# Question words, matched on folded (simplified) text; they rarely occur in the answer.
_QUESTION_WORDS = re.compile(
    r"是什么样|是什么|有什么|为什么|什么样|什么|有哪些|是哪|哪些|哪个|哪家|哪种|哪几|哪里|"
    r"怎么样|怎么|怎样|如何|多少|是否|吗|呢"
)
_STOPWORDS = frozenset(
    "a an the of to in on at for by with from and or but as is are was were be been being "
    "do does did doing have has had what which who whom whose when where why how many much "
    "this that these those it its there their they them can could should would will may "
    "might must about into than then so if not no any some such i you we me my our your "
    "he she his her".split()
)


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    passage: int  # 1-based, the citation number
    position: int  # order of appearance, the tie-breaker (passages come ranked)
    text: str
    lines: frozenset[int] = frozenset()  # the passage lines it quotes (for de-duplication)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    marker: str | None  # the kind of list marker ("bullet", "number", ...) or None
    label: bool
    colon: bool


class ExtractiveGenerator:
    """Answers with the best sentences (or a label's list) of ``request.passages``, cited."""

    def __init__(self, *, context_window: int = 4096) -> None:
        self._context_window = context_window

    @property
    def name(self) -> str:
        return "extractive"

    @property
    def context_window(self) -> int:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        chosen = best_sentences(request.question, request.passages)
        if not chosen:
            yield REFUSAL_ZH if has_cjk(request.question) else REFUSAL_EN
            return
        # Several sentences of one passage read best in the passage's order, cited once.
        groups: dict[int, list[_Candidate]] = {}
        for candidate in chosen:
            groups.setdefault(candidate.passage, []).append(candidate)
        previous = ""
        for number, group in groups.items():
            for candidate in sorted(group, key=lambda c: c.position):
                if previous:
                    yield _joiner(previous, candidate.text)
                yield candidate.text
                previous = candidate.text
            yield f"[{number}]" if has_cjk(previous) else f" [{number}]"


def _joiner(before: str, after: str) -> str:
    if "\n" in before or "\n" in after:
        return "\n"
    return "" if has_cjk(before) and has_cjk(after) else " "


def best_sentences(
    question: str,
    passages: Sequence[str],
    *,
    limit: int = MAX_SENTENCES,
    max_chars: int = MAX_ANSWER_CHARS,
) -> list[_Candidate]:
    """The answer's pieces, best first: a matching label's list, or the best sentences."""
    wanted = question_terms(question)
    if not wanted:
        return []
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    position = 0
    for number, passage in enumerate(passages, start=1):
        for candidate in _passage_candidates(wanted, passage, number, position):
            position = candidate.position
            if candidate.text in seen:  # overlapping chunks repeat sentences
                continue
            seen.add(candidate.text)
            candidates.append(candidate)
        position += 1_000  # positions stay unique across passages
    candidates.sort(key=lambda c: (-c.score, c.position))
    if not candidates:
        return []
    best = candidates[0]
    if best.lines and len(best.lines) > 1:  # a label with its list is a whole answer
        return [_capped(best, max_chars)]
    chosen = [_capped(best, max_chars)]
    used = len(chosen[0].text)
    covered = {(best.passage, line) for line in best.lines}
    for candidate in candidates[1:]:
        if len(chosen) >= limit or candidate.score < best.score * RELATIVE_CUTOFF:
            break
        quoted = {(candidate.passage, line) for line in candidate.lines}
        if quoted & covered or used + len(candidate.text) > max_chars:
            continue
        chosen.append(candidate)
        used += len(candidate.text)
        covered |= quoted
    return chosen


def _passage_candidates(
    wanted: set[str], passage: str, number: int, position: int
) -> Iterator[_Candidate]:
    lines = [_parse_line(raw) for raw in passage.splitlines()]
    heading = ""  # the latest heading, the context of a ``label:`` under it
    for index, line in enumerate(lines):
        if not line.text:
            continue
        if line.label:
            terms = bigrams(fold(line.text))
            if terms & wanted:
                if line.colon:
                    terms |= bigrams(fold(heading))
                block = _list_after(lines, index)
                if block:
                    position += 1
                    text = "\n".join([line.text] + [lines[i].text for i in block])
                    quoted = frozenset([index, *block])
                    yield _Candidate(_cosine(wanted, terms), number, position, text, quoted)
            if not line.colon:
                heading = line.text
            continue
        for sentence in split_sentences(line.text):
            position += 1
            if len(_content(sentence)) < MIN_SENTENCE_CHARS:
                continue
            score = _cosine(wanted, bigrams(fold(_URL.sub(" ", sentence))))
            if score:
                yield _Candidate(score, number, position, sentence, frozenset([index]))


def _list_after(lines: Sequence[_Line], index: int) -> list[int]:
    """Indices of the lines a label introduces: up to the next heading or sibling label."""
    label = lines[index]
    block: list[int] = []
    for i in range(index + 1, len(lines)):
        line = lines[i]
        if not line.text or not _content(line.text):  # blank, or only a URL
            continue
        sibling = line.marker is not None and line.marker == label.marker
        if sibling or (line.label and line.marker is None):
            break
        block.append(i)
        if len(block) >= MAX_LIST_LINES:
            break
    return block


def _capped(candidate: _Candidate, max_chars: int) -> _Candidate:
    """The candidate cut to ``max_chars``: at a line break if it has any, else mid-text."""
    text = candidate.text
    if len(text) <= max_chars:
        return candidate
    cut = text.rfind("\n", 0, max_chars)
    text = text[:cut] if cut > 0 else text[: max_chars - 1].rstrip() + "…"
    return _Candidate(candidate.score, candidate.passage, candidate.position, text, candidate.lines)


def _parse_line(raw: str) -> _Line:
    text = raw.strip()
    match = _MARKER.match(text)
    marker = match.lastgroup if match else None
    body = text[match.end() :] if match else text
    colon = body.endswith((":", "："))
    short = len(body) <= LABEL_MAX_CHARS and not _SENTENCE_PUNCT.search(body)
    label = bool(body) and not _URL.fullmatch(body) and (colon or short)
    return _Line(text, marker, label, colon)


def _content(text: str) -> str:
    """``text`` without URLs, list markers and spaces: what is left to read."""
    text = _URL.sub("", text).strip()
    match = _MARKER.match(text)
    return re.sub(r"\s+", "", text[match.end() :] if match else text)


def _cosine(wanted: set[str], terms: set[str]) -> float:
    shared = len(wanted & terms)
    return shared / math.sqrt(len(wanted) * len(terms)) if shared else 0.0


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; a line break always ends one."""
    return [
        s.strip() for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()
    ]


def question_terms(question: str) -> set[str]:
    """The question's terms (``bigrams`` of the folded text) less the question words."""
    text = _QUESTION_WORDS.sub(" ", fold(question))
    return {t for t in bigrams(text) if t not in _STOPWORDS}


def bigrams(text: str) -> set[str]:
    """Terms of ``text``: character bigrams of each Chinese run, other words whole, lowercased.

    A one-character Chinese run counts as itself so that short questions still match.
    Terms never span spaces, punctuation or a change of script, which would only add
    noise; Latin words stay whole because their letter pairs match almost anything.
    Callers fold the text first when they compare across scripts.
    """
    terms: set[str] = set()
    for run in _TERM_RUN.findall(text.lower()):
        if len(run) == 1 or not ("\u3400" <= run[0] <= "\u9fff" or "\uf900" <= run[0]):
            terms.add(run)
        else:
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
    return terms
