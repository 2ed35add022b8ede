"""``notesqa models check``: run the configured model once, in a worker, on a long prompt.

A llama.cpp build for the wrong CPU loads fine and dies at the first prompt long enough
to reach its matrix kernels (a few hundred tokens), so loading alone proves nothing.
This loads the model in a child process exactly as the server does, generates a few
tokens after a prompt of at least ``PROMPT_TOKENS``, and turns a death by signal into
one line that says which signal, the CPU flags that matter and how to rebuild.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.llm.base import GenerationRequest, Message
from app.llm.crash import build_summary, cpu_summary
from app.llm.supervised import SupervisedGenerator
from app.settings import LLMSettings

PROMPT_TOKENS = 600
NEW_TOKENS = 8
# A passage of the kind the service sends, repeated to length; Chinese and English, so
# both tokenizer paths run.
_PASSAGE = (
    "外挂知识库的流程是：加载文件，读取文本，文本分割，文本向量化，问句向量化，"
    "在文本向量中匹配出与问句向量最相似的 top k 个，匹配出的文本作为上下文和问题一起添加到"
    "提示中，提交给大模型生成回答。Retrieval-augmented generation retrieves passages "
    "from the documents and asks the model to answer from them, citing each one. "
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    model: str
    prompt_tokens: int
    new_tokens: int
    seconds: float

    def summary(self) -> str:
        return (
            f"model ok: {self.model} answered in a worker process: {self.prompt_tokens}-token "
            f"prompt, {self.new_tokens} tokens generated in {self.seconds:.1f} s; "
            f"{build_summary()}; {cpu_summary()}"
        )


def check_model(settings: LLMSettings, *, prompt_tokens: int = PROMPT_TOKENS) -> CheckResult:
    """Load and run the model in a worker; raise ``ModelUnavailableError`` (or its
    ``GeneratorCrashedError``) with the reason when it cannot."""
    worker = SupervisedGenerator(settings, restart=False)  # a worker whatever llm.isolation says
    try:
        worker.wait_ready(settings.worker_start_timeout)
        repeats = prompt_tokens // max(1, worker.count_tokens(_PASSAGE)) + 1
        prompt = f"{_PASSAGE * repeats}\n\n请用一句话概括上面的资料。"
        tokens = worker.count_tokens(prompt)
        request = GenerationRequest([Message("user", prompt)], max_new_tokens=NEW_TOKENS)
        started = time.perf_counter()
        pieces = list(worker.stream(request))
        seconds = time.perf_counter() - started
        return CheckResult(worker.name, tokens, worker.count_tokens("".join(pieces)), seconds)
    finally:
        worker.close()
