"""Any Hugging Face causal LM folder on disk (or a GGUF inside one), on the CPU.

Nothing is downloaded: ``local_files_only=True`` always, so ``model_path`` must be a
folder that ``save_pretrained`` (or a hub snapshot) wrote. The chat template comes from
the tokenizer; tokenizers without one (ChatGLM2, Baichuan2) get the raw formats of
``app.llm.prompts``.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from app.llm.base import GenerationRequest, option_probabilities
from app.llm.prompts import format_raw_prompt
from app.settings import LLMSettings
from ingest.errors import InputError, ModelUnavailableError

INSTALL_HINT = "run `make install` or `pip install -e '.[hf]'`"
REMOTE_CODE_ROUTES = (
    "models that need their own code (ChatGLM2, Baichuan2 and others of that era) are "
    "supported two ways: convert the model to GGUF with llama.cpp's convert_hf_to_gguf.py "
    "and use `llm.backend: llama_cpp`, or serve it with vLLM (`vllm serve <folder> "
    "--trust-remote-code`) and use `llm.backend: openai` with `llm.openai.base_url`"
)


class TransformersGenerator:
    """Streams ``model.generate`` through a ``TextIteratorStreamer`` fed by a worker thread."""

    writes_text = True
    judges = True

    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self._path = Path(settings.model_path)
        self._lock = threading.Lock()  # generate() on one model is not meant to overlap
        self._tokenizer, self._model = _load(self._path, settings)
        self._family = _family(self._path, self._model)

    @property
    def name(self) -> str:
        return f"transformers:{self._path.name}"

    @property
    def context_window(self) -> int:
        return self._settings.context_window

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def prompt(self, request: GenerationRequest) -> str:
        """The text the model continues: its chat template, or its family's raw format."""
        if getattr(self._tokenizer, "chat_template", None):
            chat = [{"role": m.role, "content": m.content} for m in request.messages]
            return str(
                self._tokenizer.apply_chat_template(
                    chat, tokenize=False, add_generation_prompt=True
                )
            )
        return format_raw_prompt(self._family, request.messages)

    def judge(self, request: GenerationRequest, options: Sequence[str]) -> list[float] | None:
        """The options' probabilities as the reply's first token, from one forward pass.

        Unlike llama.cpp, nothing is cached between calls here: the verdict costs a
        whole prompt pass on top of the answer's.
        """
        import torch

        inputs = self._inputs(request)
        ids = [self._tokenizer.encode(o, add_special_tokens=False)[0] for o in options]
        with self._lock, torch.no_grad():
            logits = self._model(**inputs).logits[0, -1]
        return option_probabilities(logits.float().tolist(), ids)

    def _inputs(self, request: GenerationRequest) -> Any:
        tokenizer = self._tokenizer
        templated = bool(getattr(tokenizer, "chat_template", None))
        # A chat template writes its own BOS; a raw prompt needs the tokenizer to add it.
        inputs = tokenizer(
            self.prompt(request), return_tensors="pt", add_special_tokens=not templated
        )
        length = int(inputs["input_ids"].shape[1])
        if length >= self._settings.context_window:
            raise InputError(
                f"the prompt ({length} tokens) does not fit the model's context window "
                f"({self._settings.context_window} tokens); shorten the question or the "
                "history, or raise llm.context_window"
            )
        return inputs

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        tokenizer = self._tokenizer
        inputs = self._inputs(request)
        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = {
            **inputs,
            **self._sampling(),
            "max_new_tokens": request.max_new_tokens or self._settings.max_new_tokens,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
        }
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self._model.generate(**kwargs)
            except BaseException as exc:
                failure.append(exc)
                streamer.end()  # otherwise the consumer below waits forever

        with self._lock:
            worker = threading.Thread(target=work, name="notesqa-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                # The client may have gone away mid-answer: stop generating at the next token.
                cancelled.set()
                worker.join()
        if failure:
            error = failure[0]
            raise ModelUnavailableError(
                f"{self._path.name} failed while generating ({type(error).__name__}: {error})"
            ) from error

    def _sampling(self) -> dict[str, Any]:
        settings = self._settings
        tokenizer = self._tokenizer
        pad = tokenizer.pad_token_id
        options: dict[str, Any] = {
            "repetition_penalty": settings.repetition_penalty,
            # Without one, generate() logs a notice on every call; EOS is the usual stand-in.
            "pad_token_id": pad if pad is not None else tokenizer.eos_token_id,
        }
        if settings.temperature > 0:
            options.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
        else:
            # Greedy; the model's generation_config may ask for sampling (Qwen's does), and
            # leftover temperature/top_p/top_k would only draw warnings, so they are reset.
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return options


def _load(path: Path, settings: LLMSettings) -> tuple[Any, Any]:
    if not path.exists():
        raise ModelUnavailableError(
            f"model folder not found: {path}; the transformers backend loads a local folder "
            "written by save_pretrained (it never downloads)"
        )
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the transformers backend needs torch and transformers ({exc}); {INSTALL_HINT}"
        ) from exc
    kwargs: dict[str, Any] = {
        "local_files_only": True,
        "trust_remote_code": settings.trust_remote_code,
    }
    if settings.gguf_file:
        if importlib.util.find_spec("gguf") is None:
            raise ModelUnavailableError(
                "llm.gguf_file needs the gguf package to read GGUF files: run `pip install gguf`"
                ", or use `llm.backend: llama_cpp`, which reads GGUF natively and faster"
            )
        kwargs["gguf_file"] = settings.gguf_file
    if settings.threads:
        torch.set_num_threads(settings.threads)  # process-wide; torch has no per-model knob
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), **kwargs)
        # float32: CPU kernels for bfloat16 are slow without AVX512-BF16/AMX.
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, **kwargs)
    except Exception as exc:  # from_pretrained raises anything from OSError to KeyError
        if settings.trust_remote_code or _needs_remote_code(path):
            hint = "" if settings.trust_remote_code else " (llm.trust_remote_code is off)"
            raise ModelUnavailableError(
                f"could not load {path}, a model with its own code{hint} "
                f"({type(exc).__name__}: {exc}); {REMOTE_CODE_ROUTES}"
            ) from exc
        raise ModelUnavailableError(
            f"could not load the model in {path} ({type(exc).__name__}: {exc})"
        ) from exc
    model.eval()
    return tokenizer, model


def _needs_remote_code(path: Path) -> bool:
    """Whether the folder's config points at Python modules shipped with the model."""
    config = path / "config.json" if path.is_dir() else None
    if config is None or not config.is_file():
        return False
    try:
        return "auto_map" in json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _family(path: Path, model: Any) -> str:
    """A name for ``format_raw_prompt`` to recognise: folder name, then architecture."""
    config = getattr(model, "config", None)
    architectures = getattr(config, "architectures", None) or []
    return " ".join([path.name, getattr(config, "model_type", "") or "", *architectures])
