"""Translation with the generator: questions for retrieval, answers for the asker.

English questions over Chinese notes are where every available embedding model is
weakest; retrieving with both the question and its translation, fused, closes most of
that gap. Translation failures never fail a search: the original question is used.
An answer drafted in the notes' language is translated back into the question's
(``app.answer``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict, abc
from collections.abc import Callable, Iterator
from threading import Lock

from app.lang import checkable_names, declines, detect_lang, name_spans
from app.llm.base import GenerationRequest, Generator, Message
from ingest.clean import fold
from ingest.errors import NotesQAError

log = logging.getLogger(__name__)

_TARGET = {"zh": "Simplified Chinese", "en": "English"}
_MAX_CACHE = 1024


class QueryTranslator:
    """Questions into the passages' language; ``generator`` gives the model when the first
    translation is needed (``notesqa search`` in the passages' language never loads it)."""

    def __init__(self, generator: Callable[[], Generator], *, max_new_tokens: int = 96) -> None:
        self._generator = generator
        self._max_new_tokens = max_new_tokens
        self._cache: OrderedDict[tuple[str, str], str | None] = OrderedDict()
        self._lock = Lock()

    def translate(self, text: str, target: str) -> str | None:
        """``text`` in ``target`` (None when the model gave no usable translation)."""
        key = (text, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        # The instruction travels with the question in the user turn: with it only in
        # the system prompt, the default 1.5B model answered some questions instead
        # ("Who developed GLM-130B?" -> "GLM-130B是由阿里云开发的。"). Names travel as
        # placeholders: asked to keep them, it still wrote "Alpaca" as "阿波罗".
        masked, names = mask_names(text)
        messages = [
            Message("system", "You are a translator."),
            Message(
                "user",
                f"Translate this search question into {_TARGET[target]}. Do not answer it; "
                "reply with the translated question only. Keep the placeholders such as "
                f"<1> and <2> as they are.\n\n{masked}",
            ),
        ]
        request = GenerationRequest(messages, max_new_tokens=self._max_new_tokens)
        try:
            out = "".join(self._generator().stream(request))
        except NotesQAError as exc:
            log.warning("query translation failed, searching with the original: %s", exc)
            return None
        line = _first_line(out)
        result = unmask_names(line, names) if line else None
        if not result or not plausible_translation(text, result):
            log.info("unusable translation of %r: %r", text, out)
            result = None
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > _MAX_CACHE:
                self._cache.popitem(last=False)
        return result


def mask_names(text: str) -> tuple[str, list[str]]:
    """``text`` with its names (``name_spans``) replaced by <1>, <2>, ... and the names."""
    out: list[str] = []
    names: list[str] = []
    last = 0
    for start, end, word in name_spans(text):
        names.append(word)
        out += [text[last:start], f"<{len(names)}>"]
        last = end
    out.append(text[last:])
    return "".join(out), names


def unmask_names(text: str, names: list[str]) -> str:
    """The placeholders of ``text`` replaced by ``names``.

    A name the model wrote out instead of its placeholder counts as kept; one it dropped
    ("What is prompt tuning (<1>)?" -> "什么是提示调优？") is put back before the question
    mark, since retrieval needs it more than the wording around it.
    """
    missing = []
    for n, name in enumerate(names, 1):
        placeholder = f"<{n}>"
        if placeholder in text:
            text = text.replace(placeholder, name)
        elif fold(name) not in fold(text):
            missing.append(name)
    if not missing:
        return text
    text = text.rstrip()
    mark = text[-1] if text.endswith(("?", "？")) else ""
    return f"{text[: len(text) - len(mark)]} ({', '.join(missing)}){mark}"


def plausible_translation(question: str, translated: str) -> bool:
    """Whether ``translated`` can stand for ``question``: still a question, same names.

    A small model sometimes answers instead of translating, or declines, or renders a
    name in its own way ("Baichuan-7B" -> "贝川7B"; names are masked for that reason, see
    ``translate``); searching with such a text misleads more than it helps, so the
    original question is used alone.
    """
    if question.rstrip().endswith(("?", "？")) and not translated.rstrip().endswith(("?", "？")):
        return False
    # A reply saying it cannot answer is no translation (the extractive backend gives its
    # fixed refusal to any request), unless the question itself says "not mentioned".
    if declines(translated) and not declines(question):
        return False
    folded = fold(translated)
    return all(name in folded for name in checkable_names(question))


def translate_answer(
    generator: Generator,
    text: str,
    target: str,
    *,
    max_new_tokens: int | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[str]:
    """``text`` (an answer with [n] markers) in ``target``, a line at a time.

    Given a whole answer, the default 1.5B model translated what it took for the text
    and dropped the rest: of a draft listing "1. Transformers … 7. FastMoE" under a
    Chinese heading, only the closing sentence came back (a held-out English question,
    2026-12-07). So each line is translated on its own, its list marker or heading sign
    kept as written, and a line with nothing to translate (a name, a number, Markdown
    furniture, code between ``` fences) is passed on untouched. The system prompt is the
    same for every line, so llama.cpp reuses it from its cache.
    """
    lines = text.split("\n")
    in_code = False
    for i, line in enumerate(lines):
        end = "\n" if i < len(lines) - 1 else ""
        lead = _LEAD.match(line)
        head = lead.group(0) if lead else ""
        body = line[len(head) :]
        fence = line.lstrip().startswith("```")
        in_code ^= fence
        if fence or in_code or not _needs_translation(body, target):
            yield line + end  # code is never translated
            continue
        if cancel is not None and cancel.is_set():
            return
        messages = [
            Message(
                "system",
                f"Translate the user's text into {_TARGET[target]}. Keep the citation "
                "markers such as [1] and [2] after the sentences they follow, and keep "
                "names, model names and numbers as they are. Reply with the translation "
                "only.",
            ),
            Message("user", body),
        ]
        request = GenerationRequest(messages, max_new_tokens=max_new_tokens, cancel=cancel)
        written = False
        pieces = _one_line(generator.stream(request))
        try:
            for piece in pieces:
                yield piece if written else head + piece
                written = True
        finally:
            pieces.close()  # closed mid-line (the client hung up): stop the model now
        yield end if written else head + body + end  # nothing came back: the draft's line


def _one_line(stream: Iterator[str]) -> abc.Generator[str, None, None]:  # abc: not the LLM
    """The first line of a translation as it streams, without a "Translation:" label;
    the model is stopped at the end of that line (it sometimes goes on to explain)."""
    text, sent = "", 0
    try:
        for piece in stream:
            text += piece
            if not sent and len(text.lstrip()) < _LABEL_CHARS and "\n" not in text.lstrip():
                continue  # not yet enough to tell a label from the translation
            if not sent:
                text = _LABEL.sub("", text.lstrip())
            cut = text.find("\n")
            if cut >= 0:
                if text[sent:cut].strip():
                    yield text[sent:cut].rstrip()
                return
            if text[sent:]:
                yield text[sent:]
                sent = len(text)
        rest = (text if sent else _LABEL.sub("", text.strip()))[sent:].rstrip()
        if rest.strip():
            yield rest
    finally:
        close = getattr(stream, "close", None)  # a backend's generator: stop it now
        if close is not None:
            close()


_LABEL = re.compile(r"^(?:translation|翻译)\s*[:：]\s*", re.I)
_LABEL_CHARS = 16


# A line's list marker, heading signs or quote mark: kept, only what follows is translated.
_LEAD = re.compile(r"\s*(?:[-*+•]|\d{1,3}[.)、]|#{1,6}|>)?\s*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _needs_translation(line: str, target: str) -> bool:
    """Whether ``line`` holds words of the other language: any Chinese for an English
    answer; for a Chinese one, an English phrase (three words or more, so that "1.
    Transformers" or "GLM-130B" stays as written)."""
    if target == "en":
        return bool(_CJK.search(line))
    return detect_lang(line) == "en" and len(_LATIN_WORD.findall(line)) >= 3


def _first_line(text: str) -> str:
    text = _LABEL.sub("", text.strip())
    return text.strip().splitlines()[0].strip().strip('"“”') if text.strip() else ""
