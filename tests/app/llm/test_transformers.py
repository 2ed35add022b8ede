"""The transformers backend on a tiny random-weight Llama built here, saved to disk and
loaded back through the real backend: the real loading, templating, threading and
streaming code runs, only the weights are meaningless."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest

from app.llm import make_generator, make_local_generator
from app.llm.base import GenerationRequest, Message, complete
from app.llm.supervised import SupervisedGenerator
from app.settings import LLMSettings
from ingest.errors import InputError, ModelUnavailableError

pytest.importorskip("torch")
pytest.importorskip("transformers")

SPECIALS = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
WORDS = [
    *("the", "a", "notes", "index", "answer", "question", "faiss", "bm25", "vector", "search"),
    *("向量", "检索", "知识库", "笔记", "system", "user", "assistant", "be", "brief", "what"),
    *("is", "how", "why", "fast", "slow", "local", "model", "token"),
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
REQUEST = GenerationRequest(
    messages=[Message("system", "be brief"), Message("user", "what is faiss")],
    max_new_tokens=12,
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
    )

    # A word-level vocabulary decodes with a space between tokens, so the streamer has a
    # word boundary to flush at after every token, whatever the random weights pick.
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="<|im_end|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["<|im_end|>"],
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Sampling defaults like Qwen's: the backend's greedy setting must override them quietly.
    model.generation_config = GenerationConfig(
        do_sample=True, temperature=0.7, top_p=0.8, top_k=20, eos_token_id=3, pad_token_id=1
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _settings(path: Path, **overrides: object) -> LLMSettings:
    return LLMSettings(backend="transformers", model_path=str(path), **overrides)


@pytest.mark.parametrize("make", [make_local_generator, make_generator])
def test_streams_several_pieces_equal_to_plain_generate(tiny_model: Path, make: Any) -> None:
    """In this process and, as the service runs it, in the supervised worker."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    generator = make(_settings(tiny_model))
    if make is make_generator:
        assert isinstance(generator, SupervisedGenerator)
    assert generator.name == "transformers:" + tiny_model.name
    pieces = list(generator.stream(REQUEST))
    assert len(pieces) >= 3
    streamed = "".join(pieces)

    # The same greedy generation without the backend: what the stream must add up to.
    tokenizer = AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, local_files_only=True)
    chat = [{"role": m.role, "content": m.content} for m in REQUEST.messages]
    text = str(tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
    assert text.endswith("<|im_start|>assistant\n")
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = model.generate(
            **inputs,
            max_new_tokens=12,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            repetition_penalty=1.1,
            pad_token_id=1,
        )
    new_tokens = output[0, inputs["input_ids"].shape[1] :]
    expected = str(tokenizer.decode(new_tokens, skip_special_tokens=True))
    assert streamed.strip() == expected.strip()
    assert streamed.strip()


@pytest.mark.parametrize("make", [make_local_generator, make_generator])
def test_the_verdict_is_the_models_next_token_probabilities(tiny_model: Path, make: Any) -> None:
    """``judge`` equals a softmax over the model's own logits for the options' tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    generator = make(_settings(tiny_model))
    assert generator.judges
    probabilities = generator.judge(REQUEST, ["fast", "slow"])
    close = getattr(generator, "close", None)
    if close is not None:
        close()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, local_files_only=True)
    chat = [{"role": m.role, "content": m.content} for m in REQUEST.messages]
    text = str(tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True))
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
    ids = [tokenizer.convert_tokens_to_ids(w) for w in ("fast", "slow")]
    expected = torch.softmax(logits[ids], dim=0).tolist()
    assert probabilities == pytest.approx(expected, abs=1e-4)


def test_count_tokens_uses_the_tokenizer(tiny_model: Path) -> None:
    generator = make_local_generator(_settings(tiny_model))
    assert generator.count_tokens("what is faiss") == 3
    assert generator.count_tokens("what is faiss 向量") == 4


def test_leaving_a_stream_early_stops_generation(tiny_model: Path) -> None:
    generator = make_local_generator(_settings(tiny_model))
    steps = 0

    def count(*_args: object) -> None:
        nonlocal steps
        steps += 1

    generator._model.register_forward_hook(count)  # type: ignore[attr-defined]
    long_request = GenerationRequest(messages=REQUEST.messages, max_new_tokens=200)
    complete(generator, long_request)
    whole = steps
    assert whole > 150  # the random model does not stop on its own

    steps = 0
    pieces = generator.stream(long_request)
    assert isinstance(pieces, types.GeneratorType)
    next(pieces)
    pieces.close()  # what the service does when the client disconnects
    assert steps < whole // 2
    # The lock is free again, and the next answer comes whole.
    assert complete(generator, REQUEST)


def test_a_prompt_longer_than_the_context_is_an_input_error(tiny_model: Path) -> None:
    generator = make_local_generator(_settings(tiny_model, context_window=256))
    too_long = GenerationRequest(messages=[Message("user", "faiss " * 300)])
    with pytest.raises(InputError, match=r"does not fit the model's context window \(256"):
        complete(generator, too_long)


def test_a_crash_while_generating_ends_the_stream_with_an_error(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = make_local_generator(_settings(tiny_model))

    def crash(**kwargs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(generator._model, "generate", crash)  # type: ignore[attr-defined]
    with pytest.raises(ModelUnavailableError, match=r"failed while generating.*out of memory"):
        complete(generator, REQUEST)


def test_missing_folder_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="model folder not found"):
        make_local_generator(_settings(tmp_path / "nowhere"))


def test_remote_code_failure_names_both_supported_routes(tmp_path: Path) -> None:
    # A ChatGLM2-style folder whose config points at modelling code that is not there.
    config = {
        "model_type": "chatglm",
        "architectures": ["ChatGLMModel"],
        "auto_map": {
            "AutoConfig": "configuration_chatglm.ChatGLMConfig",
            "AutoModelForCausalLM": "modeling_chatglm.ChatGLMForConditionalGeneration",
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelUnavailableError) as info:
        make_local_generator(_settings(tmp_path, trust_remote_code=True))
    message = str(info.value)
    assert str(tmp_path) in message
    assert "ChatGLM2" in message and "Baichuan2" in message
    assert "convert_hf_to_gguf.py" in message and "llm.backend: llama_cpp" in message
    assert "vllm serve" in message and "llm.backend: openai" in message


def test_remote_code_folder_without_trust_says_so(tmp_path: Path) -> None:
    config = {"model_type": "baichuan", "auto_map": {"AutoConfig": "configuration_baichuan.X"}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="trust_remote_code is off") as info:
        make_local_generator(_settings(tmp_path))
    assert "llm.backend: llama_cpp" in str(info.value)


def test_gguf_file_without_the_gguf_package_says_what_to_install(tiny_model: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("gguf") is not None:
        pytest.skip("the gguf package is installed, so this message cannot appear")
    with pytest.raises(ModelUnavailableError, match="pip install gguf"):
        make_local_generator(_settings(tiny_model, gguf_file="model.gguf"))
