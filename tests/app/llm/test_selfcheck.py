"""`notesqa models check`: the real model run once in a worker; a death by signal is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def _check() -> subprocess.Popen[str]:
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is absent; run `make install`")
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "models", "check"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _worker_of(parent: int, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # Children are listed per thread, and the supervisor thread starts the worker.
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            for pid in children.read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"app.llm.worker_main" in cmdline:
                    return int(pid)
        time.sleep(0.02)
    raise AssertionError("the check started no worker process")


@pytest.mark.slow
def test_models_check_runs_a_long_prompt_in_a_worker() -> None:
    check = _check()
    out, err = check.communicate(timeout=600)
    assert check.returncode == 0, err
    assert out.startswith("model ok: llama_cpp:") and "worker process" in out
    prompt_tokens = int(out.split("-token prompt")[0].rsplit(" ", 1)[1])
    assert prompt_tokens >= 600
    assert "LLAMA_CPU=" in out and "avx2" in out


@pytest.mark.slow
def test_a_worker_killed_by_sigill_is_one_clear_line_and_a_failure() -> None:
    # What a build for the wrong CPU does, delivered for real to the worker process.
    check = _check()
    os.kill(_worker_of(check.pid), signal.SIGILL)
    out, err = check.communicate(timeout=120)
    assert check.returncode == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "SIGILL" in lines[0]
    assert "make install LLAMA_CPU=x86-64-v3" in lines[0] and "avx2" in lines[0]
    assert "Traceback" not in err and out == ""
