from __future__ import annotations

from app.llm import make_generator
from app.llm.base import GenerationRequest, Generator, Message, complete
from app.llm.extractive import (
    REFUSAL_EN,
    REFUSAL_ZH,
    ExtractiveGenerator,
    best_sentences,
    bigrams,
    split_sentences,
)
from app.settings import LLMSettings

PASSAGES = [
    "BM25 是一种经典的关键词排序函数。它根据词频和逆文档频率打分。",
    "FAISS 是 Facebook 开源的向量检索库。它支持近似最近邻搜索。",
    "Reciprocal rank fusion merges rankings. It adds 1/(k+rank) for every list.",
]


def _request(question: str, passages: list[str] = PASSAGES) -> GenerationRequest:
    return GenerationRequest(
        messages=[Message("user", question)], question=question, passages=passages
    )


def test_made_by_the_factory_and_is_a_generator() -> None:
    generator = make_generator(LLMSettings(backend="extractive"))
    assert isinstance(generator, Generator)
    assert generator.name == "extractive"
    assert generator.context_window == 4096


def test_answers_with_the_best_sentence_and_its_citation() -> None:
    answer = complete(ExtractiveGenerator(), _request("FAISS 是什么向量检索库？"))
    assert answer.startswith("FAISS 是 Facebook 开源的向量检索库。[2]")
    assert "BM25" not in answer


def test_english_sentences_cited_with_a_space() -> None:
    answer = complete(ExtractiveGenerator(), _request("How does reciprocal rank fusion merge?"))
    assert answer.startswith("Reciprocal rank fusion merges rankings. [3]")


def test_streams_piece_by_piece() -> None:
    pieces = list(ExtractiveGenerator().stream(_request("FAISS 向量检索库")))
    assert len(pieces) >= 2
    assert "".join(pieces).count("[2]") >= 1


def test_at_most_three_sentences_best_first() -> None:
    passages = [f"检索方法第{i}种：向量检索。" for i in range(6)]
    chosen = best_sentences("向量检索", passages)
    assert 1 <= len(chosen) <= 3
    assert [c.passage for c in chosen] == [1, 2, 3]  # equal scores keep retrieval order


def test_weak_matches_do_not_pad_a_strong_answer() -> None:
    passages = ["向量检索库 FAISS 支持近似最近邻搜索。", "近似的库存数字很重要。"]
    question = "FAISS 支持近似最近邻搜索吗"
    assert len(bigrams(question) & bigrams(passages[1])) == 1  # a stray overlap: 近似
    chosen = best_sentences(question, passages)
    assert [c.passage for c in chosen] == [1]


def test_repeated_sentences_from_overlapping_chunks_appear_once() -> None:
    answer = complete(ExtractiveGenerator(), _request("FAISS 向量检索库", [PASSAGES[1]] * 2))
    assert answer.count("FAISS 是 Facebook 开源的向量检索库。") == 1


def test_refuses_in_chinese_when_nothing_overlaps() -> None:
    assert complete(ExtractiveGenerator(), _request("天气怎么样")) == REFUSAL_ZH


def test_refuses_in_english_for_an_english_question() -> None:
    assert complete(ExtractiveGenerator(), _request("xyz qqq", passages=[])) == REFUSAL_EN


def test_split_sentences_on_chinese_and_english_punctuation() -> None:
    assert split_sentences("第一句。第二句！Third one. Fourth?\n第五句") == [
        "第一句。",
        "第二句！",
        "Third one.",
        "Fourth?",
        "第五句",
    ]


def test_bigrams_lowercase_and_stay_inside_words() -> None:
    assert bigrams("Ab 向量") == {"ab", "向量"}
    assert bigrams("A 库") == {"a", "库"}
