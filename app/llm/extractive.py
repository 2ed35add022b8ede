"""The generator without a language model: quote the passages' best sentences, cited.

For machines that cannot run a model, and as a baseline for the evaluation: whatever it
says is copied from the knowledge base, so it can be wrong only by picking the wrong
sentence, never by inventing one.

Notes are mostly lists under headings, so a passage is read line by line:

- a *label* is a line that only names what follows: it ends with ``:`` / ``：`` or is
  short and carries no sentence punctuation (``具体流程:``, ``Alpaca衍生模型``). A label is
  never quoted on its own; when it is about the question, the label with the lines that
  follow it (its list, up to the next heading) is a candidate answer, scored on the
  label (plus, for ``label:``, the heading above it: ``外挂知识库`` > ``具体流程:``);
- every other line is cut into sentences, and each sentence is scored by the question
  terms it shares, normalised by its length (cosine of the two term sets), so a long
  sentence does not win by size alone. Fragments, and questions the notes ask, are dropped.

Terms are character bigrams of Chinese and whole words otherwise, compared on
``ingest.clean.fold``-ed text so that a Traditional passage matches a Simplified question,
and weighted by how rare they are among the passages' sentences (a term in most of them
says little); question words (什么, 哪些, how, what) are not terms (``extract_terms``).
The answer is at most three pieces and ``MAX_ANSWER_CHARS`` long, the pieces of one
passage in its order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.lang import detect_lang, refusal
from app.llm.base import GenerationRequest
from app.llm.extract_terms import bigrams, question_terms
from app.llm.prompts import estimate_tokens, has_cjk
from ingest.clean import fold

MAX_SENTENCES = 3
# Sentences after the first must score at least this share of the best one, so that a
# strong answer is not padded with sentences that share a stray term with the question.
RELATIVE_CUTOFF = 0.5
MAX_ANSWER_CHARS = 400
# A label's list is cut after this many lines: past that it is rarely still the answer.
MAX_LIST_LINES = 8
# A line this short without sentence punctuation is a heading, not a statement.
LABEL_MAX_CHARS = 20
# A label introduces the answer only when this share of its terms are the question's:
# "Koala" for a question on Koala, not "吴恩达大模型系列课程" for one on 大模型.
LABEL_MIN_SHARE = 0.3
# A sentence shorter than this (URLs and list markers aside) is a fragment.
MIN_SENTENCE_CHARS = 6

# After Chinese end punctuation, or after . ! ? followed by space. Not at semicolons: in
# notes they mostly separate the items of one list ("TF-IDF ;word2vec;语言模型").
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.!?])\s+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MARKER = re.compile(
    r"^(?:(?P<bullet>[•·▪●◦‣∙]\s*|[*+\-]\s+)|(?P<number>\d{1,3}[.、)])\s*(?!\d)"
    r"|(?P<paren>[(（]\d{1,3}[)）])\s*|(?P<zh>[一二三四五六七八九十]{1,3}、)\s*)"
)
_ASKS = ("?", "？")
_SENTENCE_PUNCT = re.compile(r"[。！？!?；;，,:]")


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    passage: int  # 1-based, the citation number
    position: int  # order within the passage
    text: str
    lines: frozenset[int] = frozenset()  # the passage lines it quotes (for de-duplication)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    body: str  # the text after the list marker
    marker: str | None  # the kind of list marker ("bullet", "number", ...) or None
    label: bool
    colon: bool


class ExtractiveGenerator:
    """Answers with the best sentences (or a label's list) of ``request.passages``, cited."""

    writes_text = False  # it cannot write new text, so cannot translate an answer
    judges = False  # no model: answerability rests on the constraint and grounding checks

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

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        return None

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        chosen = best_sentences(request.question, request.passages)
        if not chosen:
            yield refusal(detect_lang(request.question))
            return
        # Several pieces of one passage read best in the passage's order, cited once.
        groups: dict[int, list[_Candidate]] = {}
        for candidate in chosen:
            groups.setdefault(candidate.passage, []).append(candidate)
        previous: _Candidate | None = None
        for number, group in groups.items():
            for candidate in sorted(group, key=lambda c: c.position):
                if previous is not None:
                    yield _joiner(previous, candidate)
                yield candidate.text
                previous = candidate
            assert previous is not None
            yield f"[{number}]" if has_cjk(previous.text) else f" [{number}]"


def _joiner(before: _Candidate, after: _Candidate) -> str:
    """A line break between lines (and around lists), else what the script wants."""
    same_line = before.passage == after.passage and before.lines == after.lines
    if not same_line or "\n" in before.text + after.text:
        return "\n"
    return "" if has_cjk(before.text) and has_cjk(after.text) else " "


def best_sentences(
    question: str,
    passages: Sequence[str],
    *,
    limit: int = MAX_SENTENCES,
    max_chars: int = MAX_ANSWER_CHARS,
) -> list[_Candidate]:
    """The answer's pieces, best first: matching labels' lists and the best sentences."""
    wanted = question_terms(question)
    if not wanted:
        return []
    units: list[_Unit] = []
    seen: set[str] = set()
    for number, passage in enumerate(passages, start=1):
        for unit in _units(passage, number):
            if unit.text not in seen:  # overlapping chunks repeat sentences
                seen.add(unit.text)
                units.append(unit)
    idf = _idf([u.terms for u in units])
    # A question term found in no unit weighs the most any term can (it only scales |q|).
    rarest = max(idf.values(), default=1.0)

    def weight(term: str) -> float:
        return idf.get(term, rarest)

    candidates = [
        _Candidate(score, u.passage, u.position, u.text, u.lines)
        for u in units
        if (score := _score(wanted, u, weight))
    ]
    if not candidates:
        return []
    # Ties go to the earlier passage (passages come ranked), then the earlier sentence.
    candidates.sort(key=lambda c: (-c.score, c.passage, c.position))
    best = _capped(candidates[0], max_chars)
    chosen = [best]
    used = len(best.text)
    for candidate in candidates[1:]:
        if len(chosen) >= limit or candidate.score < best.score * RELATIVE_CUTOFF:
            break
        if used + len(candidate.text) <= max_chars and not any(
            _overlap(candidate, c) for c in chosen
        ):
            chosen.append(candidate)
            used += len(candidate.text)
    return chosen


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence, or a label with the lines it introduces, before scoring."""

    passage: int
    position: int
    text: str
    lines: frozenset[int]
    terms: frozenset[str]  # for a list: the label's terms, with its heading's for ``label:``
    label_terms: frozenset[str] = frozenset()  # the label's own terms; empty for a sentence


def _units(passage: str, number: int) -> Iterator[_Unit]:
    lines = [_parse_line(raw) for raw in passage.splitlines()]
    heading: frozenset[str] = frozenset()  # the latest heading: the context of a ``label:``
    position = 0
    for index, line in enumerate(lines):
        if not line.text:
            continue
        position += 1
        if line.label:
            own = frozenset(bigrams(fold(line.text)))
            block = _list_after(lines, index)
            if block:
                text = "\n".join([line.text] + [lines[i].text for i in block])
                terms = own | heading if line.colon else own
                yield _Unit(number, position, text, frozenset([index, *block]), terms, own)
            if not line.colon and line.marker != "bullet":  # bullets are items, not sections
                heading = own
            continue
        for sentence in split_sentences(line.body):
            position += 1
            # A question in the notes (a FAQ heading, a table of contents) never answers.
            if len(_content(sentence)) >= MIN_SENTENCE_CHARS and not sentence.endswith(_ASKS):
                terms = frozenset(bigrams(fold(_URL.sub(" ", sentence))))
                yield _Unit(number, position, sentence, frozenset([index]), terms)


def _idf(documents: Sequence[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency over the units: a term in most of them says little."""
    counts: dict[str, int] = {}
    for terms in documents:
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    n = len(documents)
    return {term: math.log((n + 1) / (df + 1)) + 1 for term, df in counts.items()}


def _score(wanted: set[str], unit: _Unit, weight: Callable[[str], float]) -> float:
    """Cosine of the idf-weighted term sets; a label must also be about the question."""

    def mass(terms: Iterable[str]) -> float:
        return sum(weight(t) ** 2 for t in terms)

    shared = wanted & unit.terms
    if not shared:
        return 0.0
    if unit.label_terms and not any(
        len(wanted & terms) >= LABEL_MIN_SHARE * len(terms)
        for terms in (unit.label_terms, unit.terms)  # alone, or under its heading
    ):
        return 0.0
    return mass(shared) / math.sqrt(mass(wanted) * mass(unit.terms))


def _overlap(a: _Candidate, b: _Candidate) -> bool:
    """Whether one quotes what the other does: a label's list holds its lines' sentences."""
    if a.passage != b.passage or (len(a.lines) == 1 and len(b.lines) == 1):
        return False  # two sentences of one line are distinct (repeats are gone already)
    return bool(a.lines & b.lines)


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
    """The candidate cut to ``max_chars``: after its last whole line, else mid-text."""
    text = candidate.text
    if len(text) <= max_chars:
        return candidate
    cut = text.rfind("\n", 0, max_chars)
    if cut <= text.find("\n"):  # a label without one line of its list would say nothing
        cut = -1
    text = text[:cut] if cut > 0 else text[: max_chars - 1].rstrip() + "…"
    return _Candidate(candidate.score, candidate.passage, candidate.position, text, candidate.lines)


def _parse_line(raw: str) -> _Line:
    text = raw.strip()
    match = _MARKER.match(text)
    marker = match.lastgroup if match else None
    body = text[match.end() :] if match else text
    colon = body.endswith((":", "："))
    # "参数量:540B" is a statement (key: value), not a heading.
    short = len(body) <= LABEL_MAX_CHARS and not _SENTENCE_PUNCT.search(body.replace("：", ":"))
    label = bool(body) and not _URL.fullmatch(body) and (colon or short)
    return _Line(text, body, marker, label, colon)


def _content(text: str) -> str:
    """``text`` without URLs, list markers and spaces: what is left to read."""
    text = _URL.sub("", text).strip()
    match = _MARKER.match(text)
    return re.sub(r"\s+", "", text[match.end() :] if match else text)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; a line break always ends one."""
    return [s.strip() for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]
