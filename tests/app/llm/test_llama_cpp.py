"""The default generator with the real default model (fetched by ``notesqa models fetch``).

In this process (``make_local_generator``) and, as the service runs it, in the supervised
worker process (``make_generator``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.answer import Answerer
from app.answer.answerability import verdict_request
from app.answer.prompt import build_prompt
from app.lang import detect_lang
from app.llm import make_generator, make_local_generator
from app.llm.base import GenerationRequest, Message, complete
from app.passages import Passage
from app.settings import LLMSettings, Settings
from app.wiring import retriever_from, search_from
from ingest.embed import Embedder
from ingest.errors import InputError, ModelUnavailableError

MODEL = Path(__file__).resolve().parents[3] / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def _needs_model() -> None:
    """Skip, saying how to get them, without the default model or llama-cpp-python."""
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is absent; run `notesqa models fetch` (or `make install`)")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")


@pytest.mark.slow
def test_streams_a_short_answer_from_the_default_model() -> None:
    _needs_model()
    generator = make_local_generator(
        LLMSettings(model_path=str(MODEL), context_window=1024, max_new_tokens=16)
    )
    request = GenerationRequest(
        messages=[
            Message("system", "Answer in one short sentence."),
            Message("user", "什么是向量检索？"),
        ]
    )
    pieces = list(generator.stream(request))
    text = "".join(pieces).strip()
    assert len(pieces) >= 3
    assert text
    assert 0 < generator.count_tokens(text) <= 16
    assert generator.name == f"llama_cpp:{MODEL.name}"


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_an_input_error() -> None:
    _needs_model()
    # In the worker: the child's InputError arrives as an InputError here.
    generator = make_generator(LLMSettings(model_path=str(MODEL), context_window=256))
    too_long = GenerationRequest(messages=[Message("user", "向量检索 " * 300)])
    with pytest.raises(InputError, match=r"context window \(256 tokens\)"):
        complete(generator, too_long)
    # The failed request released the model: the next one is answered.
    short = GenerationRequest(messages=[Message("user", "hi")], max_new_tokens=4)
    assert complete(generator, short)


@pytest.mark.parametrize("make", [make_local_generator, make_generator])
def test_a_missing_model_file_says_how_to_fetch_it(tmp_path: Path, make: Any) -> None:
    settings = LLMSettings(model_path=str(tmp_path / "absent.gguf"))
    with pytest.raises(ModelUnavailableError, match="notesqa models fetch"):
        make(settings).count_tokens("hi")


@pytest.mark.parametrize("make", [make_local_generator, make_generator])
def test_a_file_that_is_not_gguf_is_model_unavailable(tmp_path: Path, make: Any) -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    with pytest.raises(ModelUnavailableError, match="could not load"):
        make(LLMSettings(model_path=str(bogus))).count_tokens("hi")


@pytest.mark.slow
def test_english_question_over_the_chinese_notes_gets_a_cited_english_answer(
    notes_settings: Settings, embedder: Embedder
) -> None:
    """The whole cross-language path with the real model: translation for retrieval, a
    Chinese draft, its check, the translation back."""
    _needs_model()
    llm = notes_settings.llm.model_copy(
        update={"backend": "llama_cpp", "model_path": str(MODEL), "max_new_tokens": 96}
    )
    retrieval = notes_settings.retrieval.model_copy(update={"translate_query": True})
    # This test is about drafting and translating; the verdict on this question sits near
    # its threshold with the default model (README "Refusals"), and has its own test.
    answer = notes_settings.answer.model_copy(update={"verdict": False})
    settings = notes_settings.model_copy(
        update={"llm": llm, "retrieval": retrieval, "answer": answer}
    )
    generator = make_generator(settings.llm)
    search = search_from(settings, retriever_from(settings, embedder=embedder), lambda: generator)
    answerer = Answerer(settings=settings, search=search, generator=generator)
    final = answerer.ask("How many e-books does BookCorpus contain?")
    assert not final.refused, final.answer
    assert detect_lang(final.answer) == "en" and "11,000" in final.answer
    assert final.sources and "BookCorpus" in final.sources[0].text
    assert final.timings["first_token"] > final.timings["draft"]


@pytest.mark.parametrize("make", [make_local_generator, make_generator])
@pytest.mark.slow
def test_the_verdict_is_read_from_the_models_probabilities(make: Any) -> None:
    _needs_model()
    generator = make(LLMSettings(model_path=str(MODEL), context_window=2048, max_new_tokens=32))
    passage = Passage(
        "netease.txt",
        "网易2022年财报：网易全年净收入为964.96亿元，同比增长10.2%。",
        0,
        0,
        None,
        "",
        ["c1"],
        1,
    )

    def verdict(question: str) -> list[float]:
        messages, _ = build_prompt(
            question, "zh", [], [passage], generator=generator, max_new_tokens=32
        )
        request, options = verdict_request(messages)
        probabilities = generator.judge(request, options)
        assert probabilities is not None
        return probabilities

    try:
        stated = verdict("2022年网易全年净收入是多少？")
        again = verdict("2022年网易全年净收入是多少？")  # from the cached prompt
        unrelated = verdict("月球背面有多少座环形山？")
    finally:
        close = getattr(generator, "close", None)
        if close is not None:
            close()
    assert sum(stated) == pytest.approx(1.0) and 0 < stated[0] < 1
    assert again[0] == pytest.approx(stated[0], abs=0.02)
    assert stated[0] > unrelated[0]


NOTES = MODEL.parents[1] / "notes"


@pytest.mark.slow
def test_the_same_question_gets_the_same_verdict_and_answer_whatever_came_before() -> None:
    _needs_model()
    generator = make_local_generator(
        LLMSettings(model_path=str(MODEL), context_window=2048, max_new_tokens=24)
    )
    note = next(NOTES.glob("003_*.txt")).read_text(encoding="utf-8")

    def ask(text: str, question: str) -> tuple[list[float] | None, str]:
        # Prompts longer than one of llama.cpp's batches, over one system prompt.
        messages = [
            Message("system", "你是一个助手，只根据资料回答。"),
            Message("user", f"资料：\n{text}\n问题：{question}"),
        ]
        request, options = verdict_request(messages)
        verdict = generator.judge(request, options)  # then the answer on its prefix
        return verdict, complete(generator, GenerationRequest(messages))

    first = ask(note[:1200], "WinoGrande 有多少个问题？")
    ask(note[1500:2600], "什么是MMLU？")
    again = ask(note[:1200], "WinoGrande 有多少个问题？")
    assert first[1]
    # Bit for bit. With every matching token reused (llm.prompt_block 0) the second
    # verdict was 0.3768 against the first's 0.3783 on the development machine.
    assert again == first
