"""Answerability: constraints, the model's verdict, and refusals that say why.

Real embedding model and FAISS over small corpora; the generator is scripted where the
real model would take minutes (its verdict is a probability the test sets), and the
extractive one where no model is needed. The real model's verdict is tested in
tests/app/llm/test_llama_cpp.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.answer import Answerer
from app.answer.answerability import VERDICT, verdict_request
from app.answer.grounding import check_answer
from app.llm.base import Message
from app.llm.extractive import ExtractiveGenerator
from app.names import constraints, missing_from
from app.passages import Passage
from app.settings import AnswerSettings, Settings
from app.wiring import retriever_from, search_from
from ingest.embed import Embedder

# Revenue news of two companies: a question about a third one has passages on its topic
# and none with its answer (the RGB benchmark's negative questions look like this).
REVENUE = {
    "netease.txt": "网易2022年财报：网易全年净收入为964.96亿元，同比增长10.2%。"
    "游戏及相关增值服务净收入为755.76亿元。",
    "alibaba.txt": "阿里巴巴2022财年营收为8530.62亿元，同比增长19%。阿里云全年收入首次突破千亿元。",
    "intel_chips.txt": "英特尔发布了第13代酷睿处理器，采用Intel 7制程工艺，"
    "最多有24个核心，面向台式电脑。",
}


def test_constraints_are_the_names_years_and_titles_a_passage_must_mention() -> None:
    assert constraints("2022年英特尔全年营收是多少？") == ["2022", "英特尔"]
    assert constraints("GPT-4 的参数量是多少？") == ["GPT-4"]
    assert constraints("《三体》动画是谁制作的？") == ["三体"]
    # An English question's plain words are not names; a name with its version is one.
    assert constraints("How many e-books does BookCorpus contain?") == ["BookCorpus"]
    assert constraints("Llama 2 was pre-trained on how many tokens?") == ["Llama 2"]
    # The numbers a question asks about are not names.
    assert constraints("batch size 都為1時，梯度累積設為32和設為1，哪個效果更好？") == []


def test_names_match_however_they_are_written_and_must_meet_in_one_passage() -> None:
    texts = ["GLM(130B)在 LAMBADA 上优于 GPT-3", "LLaMA2 发布了 7B、13B 和 70B"]
    assert missing_from(["GLM-130B", "lambada"], texts) == []
    assert missing_from(["Llama 2"], texts) == []
    assert missing_from(["GPT-4", "英特尔"], texts) == ["GPT-4", "英特尔"]
    # Each is in some passage, but no passage has both.
    assert missing_from(["GLM-130B", "Llama 2"], texts) == ["Llama 2"]


def test_the_verdict_is_asked_on_the_answer_prompt_plus_one_question() -> None:
    messages = [Message("system", "助手"), Message("user", "资料：……\n问题：X？")]
    request, options = verdict_request(messages)
    assert options == ("Yes", "No")
    assert request.messages[0] == messages[0]
    # Same prefix as the answer's prompt, so llama.cpp evaluates only the question.
    assert request.messages[-1].content.startswith(messages[-1].content)
    assert request.messages[-1].content.endswith(VERDICT[0])


@pytest.fixture(scope="module")
def revenue_settings(tmp_path_factory: pytest.TempPathFactory, index_of: Any) -> Settings:
    docs = tmp_path_factory.mktemp("revenue")
    for name, text in REVENUE.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings: Settings = index_of([docs], "revenue-index")
    return settings


def _answerer(settings: Settings, embedder: Embedder, generator: Any, **answer: Any) -> Answerer:
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update=answer)})
    search = search_from(settings, retriever_from(settings, embedder=embedder), None)
    return Answerer(settings=settings, search=search, generator=generator)


def test_a_question_about_another_company_is_refused_before_the_model_writes(
    revenue_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.reply = "2022年英特尔全年营收为964.96亿元[1]。"  # what a small model invents
    scripted.verdict = 0.99  # and it believes the passages answer
    final = _answerer(revenue_settings, embedder, scripted).ask("2022年腾讯全年营收是多少？")
    assert final.refused and final.refusal is not None
    assert final.refusal.stage == "answerability"
    assert final.refusal.scores["missing"] == ["腾讯"]
    assert "腾讯" in final.refusal.reason
    assert scripted.requests == []  # the model was never asked to write
    # The retrieval gate alone let it through: the passages are about revenue.
    assert final.checks["relevance"] >= revenue_settings.retrieval.relevance_threshold


def test_without_a_model_the_other_company_is_still_refused(
    revenue_settings: Settings, embedder: Embedder
) -> None:
    # The extractive backend cannot judge; the constraint check alone stops it from
    # copying NetEase's revenue as Intel's (no passage has 2022 and 英特尔 together).
    answerer = _answerer(revenue_settings, embedder, ExtractiveGenerator())
    final = answerer.ask("2022年英特尔全年营收是多少？")
    assert final.refused and final.refusal is not None
    assert final.refusal.stage == "answerability"
    assert final.refusal.scores["missing"] == ["英特尔"]
    right = answerer.ask("2022年网易全年净收入是多少？")
    assert not right.refused and "964.96" in right.answer
    assert right.checks["cited_missing"] == []


def test_an_answer_citing_a_passage_about_someone_else_is_refused_at_grounding() -> None:
    netease, chips = (
        Passage(name, REVENUE[name], 0, 0, None, "", [name], n)
        for n, name in enumerate(("netease.txt", "intel_chips.txt"), 1)
    )
    chips.text = "2022年" + chips.text  # both names occur in the passages given
    raw = "2022年全年净收入为964.96亿元[1]。"  # every bigram is in passage 1
    kwargs: dict[str, Any] = {
        "settings": AnswerSettings(),
        "model": "scripted",
        "lang": "zh",
        "timings": {},
        "query": "2022年英特尔全年营收是多少？",
    }
    final = check_answer(raw, [netease, chips], wanted=["2022", "英特尔"], **kwargs)
    assert final.refused and final.refusal is not None and final.flagged
    assert final.refusal.stage == "grounding"
    assert final.refusal.scores["missing"] == ["英特尔"]
    assert final.refusal.scores["grounding"] > 0.9  # the bigram check alone passed it
    assert not check_answer(raw, [netease, chips], wanted=["2022", "网易"], **kwargs).refused


def test_an_answer_without_the_time_or_figure_asked_for_is_refused_at_grounding() -> None:
    visit = Passage(
        "visit.txt",
        "马克龙将于近日访华，这是他任内第三次访华。法国总统的访华行程也没有记者跟随。",
        0, 0, None, "", ["visit.txt"], 1,
    )  # fmt: skip
    kwargs: dict[str, Any] = {
        "settings": AnswerSettings(),
        "model": "scripted",
        "lang": "zh",
        "timings": {},
        "query": "马克龙访华时间？",
    }
    # Every bigram is in the passage, and it says nothing of when.
    final = check_answer("马克龙的访华行程也没有记者跟随[1]。", [visit], **kwargs)
    assert final.refused and final.refusal is not None
    assert final.refusal.stage == "grounding"
    assert final.refusal.scores["asked"] == "time"
    assert final.refusal.scores["grounding"] > 0.9
    # The figure the passage gives, to a question that asks for one, passes.
    kwargs["query"] = "马克龙是第几次访华？"
    right = check_answer("这是他任内第三次访华[1]。", [visit], **kwargs)
    assert not right.refused and right.checks["asked"] == "figure"
    # grounding_action: flag keeps the answer and marks it.
    kwargs |= {"query": "马克龙访华时间？", "settings": AnswerSettings(grounding_action="flag")}
    flagged = check_answer("马克龙的访华行程也没有记者跟随[1]。", [visit], **kwargs)
    assert not flagged.refused and flagged.flagged


def test_a_low_verdict_refuses_and_a_high_one_answers(
    revenue_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    question = "2022年网易全年净收入是多少？"
    scripted.reply = "网易全年净收入为964.96亿元[1]。"
    answerer = _answerer(revenue_settings, embedder, scripted, answerability_threshold=0.6)
    scripted.verdict = 0.3
    low = answerer.ask(question)
    assert low.refused and low.refusal is not None and low.refusal.stage == "answerability"
    assert low.refusal.scores == {"p_answerable": 0.3, "threshold": 0.6}
    assert scripted.requests == [] and len(scripted.judged) == 1
    scripted.verdict = 0.9
    high = answerer.ask(question)
    assert not high.refused and high.checks["p_answerable"] == 0.9
    # The verdict was asked on the very prompt the answer was then written from.
    verdict, written = scripted.judged[-1], scripted.requests[-1]
    assert verdict.messages[:-1] == written.messages[:-1]
    assert verdict.messages[-1].content.startswith(written.messages[-1].content)


def test_no_verdict_means_no_refusal_by_it(
    revenue_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    scripted.reply = "网易全年净收入为964.96亿元[1]。"
    scripted.verdict = None  # a backend that cannot judge (an upstream without logprobs)
    final = _answerer(revenue_settings, embedder, scripted).ask("2022年网易全年净收入是多少？")
    assert not final.refused and "p_answerable" not in final.checks
    off = _answerer(revenue_settings, embedder, scripted, verdict=False)
    scripted.verdict = 0.0
    judged = len(scripted.judged)
    assert not off.ask("2022年网易全年净收入是多少？").refused
    assert len(scripted.judged) == judged  # verdict off: not even asked


def test_an_off_topic_question_is_refused_by_retrieval_with_its_figures(
    revenue_settings: Settings, embedder: Embedder, scripted: Any
) -> None:
    final = _answerer(revenue_settings, embedder, scripted).ask("怎么做红烧肉？")
    assert final.refused and final.refusal is not None
    assert final.refusal.stage == "retrieval"
    assert final.refusal.scores["relevance"] < final.refusal.scores["threshold"]
    assert scripted.judged == [] and scripted.requests == []


# A plain-text note whose first line is its title; the sentence that answers is far
# below it, in a chunk that never repeats the title.
TITLED = {
    "team.txt": "TeamNotes\n\n收集团队的周会记录和学习资料\n\n周会记录\n\n"
    + "".join(
        f"第{i}周例会讨论了服务器机房的温度记录和备份磁带的轮换安排。\n\n" for i in range(120)
    )
    + "学习资料\n\n团队推荐的入门课程是吴恩达的机器学习课程。\n",
}


def test_a_question_naming_the_document_by_its_title_is_answered(
    tmp_path: Any, index_of: Any, embedder: Embedder
) -> None:
    docs = tmp_path / "titled"
    docs.mkdir()
    for name, text in TITLED.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings: Settings = index_of([docs], "titled-index")
    answerer = _answerer(settings, embedder, ExtractiveGenerator())
    final = answerer.ask("TeamNotes 里推荐的入门课程是什么？")
    assert final.checks["constraints"] == ["TeamNotes"]
    assert not final.refused, final.refusal
    assert "吴恩达" in final.answer
    # The passage it cites has the title only as its document's (before, it was refused
    # as not naming TeamNotes).
    assert final.sources and all("TeamNotes" not in s.text for s in final.sources)
    assert final.checks["missing"] == [] and final.checks["cited_missing"] == []
