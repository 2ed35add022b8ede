"""Answer checks: citations, grounding, declines, the prompt budget (no model needed)."""

from __future__ import annotations

from typing import Any

from app.answer import (
    Answerer,
    check_citations,
    checkable_names,
    declines,
    grounding_score,
    supported_sentences,
)
from app.answer.prompt import build_prompt
from app.answer.support import added_to, claim_of
from app.llm.base import Message
from app.passages import Passage
from app.settings import Settings
from app.wiring import retriever_from, search_from
from ingest.embed import Embedder

PASSAGES = ["BookCorpus:包括超过 11,000 本电子书。", "LoRA 在冻结的权重旁加入低秩矩阵。"]


def test_bogus_markers_are_removed_and_wrong_ones_moved() -> None:
    text, cited = check_citations("LoRA 加入低秩矩阵[1]，BookCorpus 有 11,000 本[9]。", PASSAGES)
    assert text == "LoRA 加入低秩矩阵[2]，BookCorpus 有 11,000 本。"
    assert cited == [2]
    text, cited = check_citations("LoRA 加入低秩矩阵【2, 1】。", PASSAGES)
    assert cited == [2] and text == "LoRA 加入低秩矩阵[2]。"


def test_grounding_same_language_uses_bigrams() -> None:
    assert grounding_score("LoRA 在冻结的权重旁加入低秩矩阵[2]", PASSAGES) == 1.0
    invented = grounding_score("LoRA 由量子计算机训练，支持火星通信。", PASSAGES)
    assert invented is not None and invented < 0.5


def test_naming_the_source_does_not_count_against_the_claim() -> None:
    # RGB dev: a right one-line answer scored 0.45 with its "根据资料，" and was refused.
    passages = ["《搜救》是由甄子丹领衔主演并监制，罗志良编剧执导的灾难冒险电影。"]
    answer = "根据资料，电影《搜救》的主演是甄子丹。 [1]"
    score = grounding_score(answer, passages)
    assert score == grounding_score("电影《搜救》的主演是甄子丹。", passages)
    assert score is not None and score >= 0.5
    assert supported_sentences(answer, passages, threshold=0.5) == answer
    assert claim_of("1. 根據以上資料可知，A。According to the provided information, B.") == (
        "1.  A。  B."
    )
    # Naming the source is no claim: with every item after it unsupported, it is refused.
    listed = "根据以上资料可知：\n1. 它由量子计算机训练。\n2. 它支持火星通信。"
    assert supported_sentences(listed, PASSAGES, threshold=0.5) == ""
    # Only as an opening: the same words inside a claim are the claim's.
    assert claim_of("我们根据资料做了C") == "我们根据资料做了C"
    invented = grounding_score("根据资料，它由量子计算机训练，支持火星通信。", PASSAGES)
    assert invented is not None and invented < 0.5


def test_restating_the_question_is_not_a_claim() -> None:
    # Notes dev set (d002): the passage is a table row without the question's words; the
    # answer restating them was cut to its first sentence, which gives no figure.
    question = "TigerBot 是哪家公司开发的？最大的版本有多少参数？"
    row = ["TigerBot 2023-08 7/13/70B TigerBotStar 虎博科技"]
    answer = "TigerBot 是虎博科技开发的。最大的版本有70B参数。 [1]"
    assert added_to(question, "最大的版本有70B参数。") == {"70", "0b"}
    assert supported_sentences(answer, row, threshold=0.5) == "TigerBot 是虎博科技开发的。"
    assert supported_sentences(answer, row, threshold=0.5, question=question) == answer
    # What it adds is a second way to be supported, never a reason to fail: the debris
    # between the question's words ("是4") is in no passage (RGB dev).
    gdp = "2023年一季度中国GDP增长率是4.5%。"
    passage = ["2023年一季度中国GDP增长率是4.5%，较去年四季度提升1.6个百分点。"]
    assert added_to("2023一季度中国GDP增长率", gdp) == {"是4"}
    assert grounding_score(gdp, passage, "2023一季度中国GDP增长率") == 1.0
    # An invented addition stays unsupported either way.
    invented = "TigerBot 是量子计算研究院开发的。"
    assert (grounding_score(invented, row, question) or 0) < 0.5


def test_grounding_across_languages_uses_names_and_numbers() -> None:
    assert grounding_score("BookCorpus contains over 11,000 e-books [1].", PASSAGES) == 1.0
    assert grounding_score("It added FlashAttention and Multi-Query Attention.", PASSAGES) == 0.0
    assert grounding_score("Yes, it does.", PASSAGES) is None  # nothing checkable
    assert checkable_names("The model is Koala, 13B. Vicuna too.") == {"koala", "13b"}


def test_unsupported_sentences_are_pruned() -> None:
    answer = "LoRA 在冻结的权重旁加入低秩矩阵[2]。它由量子计算机训练，还支持火星通信[2]。"
    assert supported_sentences(answer, PASSAGES, threshold=0.5) == (
        "LoRA 在冻结的权重旁加入低秩矩阵[2]。"
    )
    assert (
        supported_sentences("它由量子计算机训练，还支持火星通信。", PASSAGES, threshold=0.5) == ""
    )
    english = "BookCorpus has over 11,000 e-books [1]. It was built by Tsinghua."
    assert supported_sentences(english, PASSAGES, threshold=0.5) == (
        "BookCorpus has over 11,000 e-books [1]."
    )


def test_declines_are_recognised() -> None:
    assert declines("知识库中没有找到相关内容。")
    assert declines("The knowledge base does not contain this.")
    assert not declines("Elo 评级系统，广泛应用于国际象棋[1]。")


def test_prompt_fits_the_context_window(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.context_window = 900  # tokens = characters for the scripted generator
    search = search_from(notes_settings, retriever_from(notes_settings, embedder=embedder), None)
    answerer = Answerer(settings=notes_settings, search=search, generator=scripted)
    long = [
        Passage(f"d{i}.txt", "大模型" * 200, 0, 600, None, "", [f"c{i}"], i) for i in range(1, 4)
    ]
    messages, kept = answerer.prompt("问题？", "zh", [Message("user", "早先的问题")], long)
    total = sum(len(m.content) for m in messages)
    budget = 900 - notes_settings.llm.max_new_tokens
    assert total <= budget and len(kept) >= 1
    assert kept[-1].text == "大模型" * 200 or len(kept[-1].text) < 600  # cut, never overflowed
    assert messages[1].content == "早先的问题"  # history is given to the model


def test_a_long_history_leaves_room_for_the_passages(scripted: Any) -> None:
    scripted.context_window = 2000  # tokens = characters for the scripted generator
    history = [
        Message("user", "早先的问题"),
        Message("assistant", "答" * 5000),  # alone more than the window
        Message("user", "第二个问题"),
        Message("assistant", "好的"),
    ]
    passage = Passage("a.txt", "BookCorpus:包括超过 11,000 本电子书", 0, 10, None, "", ["c"], 1)
    messages, kept = build_prompt(
        "问题？", "zh", history, [passage], generator=scripted, max_new_tokens=384
    )
    assert kept == [passage] and "BookCorpus" in messages[-1].content
    assert sum(len(m.content) for m in messages) <= 2000 - 384
    # The newest turns are kept, from a user turn on; the one too long is left out.
    assert [m.content for m in messages[1:-1]] == ["第二个问题", "好的"]


BOOKCORPUS = Passage("a.txt", "BookCorpus:包括超过 11,000 本电子书", 0, 10, None, "", ["c"], 1)


def test_cross_language_prompt_carries_the_translation(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    answerer = _answerer(notes_settings, embedder, scripted)
    messages, _ = answerer.prompt(
        "How many e-books?", "en", [], [BOOKCORPUS], hint="BookCorpus包含多少本电子书？"
    )
    assert "BookCorpus包含多少本电子书？" in messages[-1].content
    assert "answer in English" in messages[0].content


def test_question_comes_before_and_after_the_passages(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    answerer = _answerer(notes_settings, embedder, scripted)
    messages, _ = answerer.prompt("BookCorpus 有多少本书？", "zh", [], [BOOKCORPUS])
    user = messages[-1].content
    assert user.startswith("问题：BookCorpus 有多少本书？\n\n资料：\n[1] a.txt")
    assert user.endswith("\n问题：BookCorpus 有多少本书？")


# Scripted replies for the three kinds of call a cross-language question makes: the
# query translation, the draft in the passages' language, the translation of the draft.
ASKED = "How many e-books does BookCorpus contain?"
ASKED_ZH = "BookCorpus包含多少本电子书？"
DRAFT = "BookCorpus 包括超过 11,000 本电子书[1]。"


def _cross_language(scripted: Any, *, draft: str, translation: str) -> Any:
    def reply(request: Any) -> str:
        system, user = request.messages[0].content, request.messages[-1].content
        if "Translate this search question" in user:
            return ASKED_ZH
        if "Translate the user's text" in system:
            return translation
        return draft

    scripted.reply = reply
    return scripted


def _answerer(settings: Settings, embedder: Embedder, generator: Any, **answer: Any) -> Answerer:
    retrieval = settings.retrieval.model_copy(update={"translate_query": True})
    update = {"retrieval": retrieval, "answer": settings.answer.model_copy(update=answer)}
    settings = settings.model_copy(update=update)
    search = search_from(settings, retriever_from(settings, embedder=embedder), lambda: generator)
    return Answerer(settings=settings, search=search, generator=generator)


def test_cross_language_answer_is_drafted_in_the_passages_language_then_translated(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    english = "BookCorpus contains over 11,000 e-books [1]."
    llm = _cross_language(scripted, draft=DRAFT, translation=english)
    answerer = _answerer(notes_settings, embedder, llm)
    events = list(answerer.stream(ASKED))
    final = events[-1]
    assert "".join(e for e in events if isinstance(e, str)) == english  # only this streams
    assert not final.refused and final.answer == english
    assert [s.n for s in final.sources] == [1] and "BookCorpus" in final.sources[0].text
    draft_request, translation_request = llm.requests[1:]
    assert draft_request.messages[0].content.startswith("你是一个知识库问答助手")
    assert f"问题：{ASKED_ZH}" in draft_request.messages[-1].content
    assert ASKED not in draft_request.messages[-1].content
    assert translation_request.messages[-1].content == DRAFT
    assert final.timings["first_token"] >= final.timings["draft"]


def test_translation_that_loses_the_markers_cites_what_the_draft_cited(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    llm = _cross_language(scripted, draft=DRAFT, translation="Over 11,000 e-books [7].")
    final = _answerer(notes_settings, embedder, llm).ask(ASKED)
    assert final.answer == "Over 11,000 e-books. [1]"
    assert [s.n for s in final.sources] == [1]


def test_unsupported_draft_is_refused_in_the_question_language_without_translating(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    invented = "它由量子计算机训练，还支持火星之间的通信[1]。"
    llm = _cross_language(scripted, draft=invented, translation="unused")
    final = _answerer(notes_settings, embedder, llm).ask(ASKED)
    assert final.refused and final.answer.startswith("Sorry")
    assert len(llm.requests) == 2  # query translation and draft; nothing to translate


def test_direct_cross_language_answers_in_one_call(
    notes_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    english = "BookCorpus contains over 11,000 e-books [1]."
    llm = _cross_language(scripted, draft=english, translation="unused")
    final = _answerer(notes_settings, embedder, llm, cross_language="direct").ask(ASKED)
    assert final.answer == english and len(llm.requests) == 2
    prompt = llm.requests[1].messages
    assert "answer in English" in prompt[0].content and ASKED_ZH in prompt[-1].content


def test_pruning_keeps_the_answer_s_shape() -> None:
    """A list item whose sentences all go leaves no stray marker ("1.2.3." was left), the
    items kept are numbered again, and lines and paragraphs stay lines and paragraphs."""
    answer = (
        "微调的方法有：\n"
        "1. **量子微调**：由量子计算机训练。\n"
        "2. **LoRA**：在冻结的权重旁加入低秩矩阵[2]。\n"
        "3. 它还支持火星通信。\n"
        "4. BookCorpus 包括超过 11,000 本电子书[1]。\n"
        "\n"
        "- 量子计算机训练了它。\n"
        "- LoRA 加入低秩矩阵[2]。"
    )
    assert supported_sentences(answer, PASSAGES, threshold=0.5) == (
        "1. **LoRA**：在冻结的权重旁加入低秩矩阵[2]。\n"
        "2. BookCorpus 包括超过 11,000 本电子书[1]。\n"
        "\n"
        "- LoRA 加入低秩矩阵[2]。"
    )
