"""The extractive generator's terms: what a question and a passage's sentence are compared by.

Character bigrams of Chinese and whole words otherwise, lowercased, without question words
(什么, 哪些, how, what), which rarely occur in an answer. One job: what counts as a term;
the extractive generator (``extractive``) weighs and scores sentences by them.
"""

from __future__ import annotations

import re

from ingest.clean import fold

_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of Chinese characters, or a word of other letters and digits (no underscore, so
# ``batch_size`` is two words): mixed runs such as ``LLaMA13B基于`` are split apart.
_TERM_RUN = re.compile(rf"[{_CJK_CHARS}]+|[^\W_{_CJK_CHARS}]+")
_CJK = re.compile(rf"[{_CJK_CHARS}]")

# Question words, matched on folded (simplified) text; they rarely occur in the answer.
_QUESTION_WORDS = re.compile(
    r"是什么样|是什么|有什么|为什么|什么样|什么|有哪些|是哪|哪些|哪个|哪家|哪种|哪几|哪里|"
    r"怎么样|怎么|怎样|如何|多少|是否|吗|呢"
)
# English function words, dropped from questions for the same reason.
_ENGLISH_FUNCTION_WORDS = (
    "a an the of to in on at for by with from and or but as is are was were be been being "
    "do does did doing have has had what which who whom whose when where why how many much "
    "this that these those it its there their they them can could should would will may "
    "might must about into than then so if not no any some such i you we me my our your "
    "he she his her"
)
_STOPWORDS = frozenset(_ENGLISH_FUNCTION_WORDS.split())


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
        if len(run) == 1 or not _CJK.match(run):
            terms.add(run)
        else:
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
    return terms
