"""Naming a model worker's death: which signal, the CPU flags that matter, how to fix it.

Used by the supervisor's log and error messages and by ``notesqa models check``.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

# The x86 extensions llama.cpp's CPU kernels choose between.
FLAGS_THAT_MATTER = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "bmi2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
# What the default level, x86-64-v3, needs beyond any x86-64 CPU (scripts/llama_build.sh).
V3_FLAGS = ("avx", "avx2", "fma", "f16c", "bmi2")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_summary(flags: set[str] | None = None) -> str:
    have = cpu_flags() if flags is None else flags
    if not have:
        return "CPU flags unknown"
    return "CPU: " + " ".join(f"{f}{'+' if f in have else '-'}" for f in FLAGS_THAT_MATTER)


def rebuild_command(flags: set[str] | None = None) -> str:
    """The build that runs on this CPU: the default level, or the SSE2 baseline when the
    CPU lacks what the default needs (a pre-2013 or low-power x86-64 without AVX2).
    Unknown flags (not Linux, not x86) keep the default advice."""
    have = cpu_flags() if flags is None else flags
    if have and "sse2" in have and not all(f in have for f in V3_FLAGS):
        return "make install LLAMA_CPU=x86-64"
    return "make install LLAMA_CPU=x86-64-v3"


def llama_build() -> dict[str, str]:
    """What scripts/llama_build.sh recorded in this environment ({} when it did not)."""
    try:
        data = json.loads(Path(sys.prefix, "notesqa-llama-build.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def build_summary() -> str:
    build = llama_build()
    if not build:
        return "llama.cpp build: not made by scripts/llama_build.sh (flags unknown)"
    return f"llama.cpp build: LLAMA_CPU={build.get('level')}"


def describe_exit(code: int, *, pid: int | None = None) -> str:
    """One line for a worker that exited with ``code`` (negative: killed by a signal)."""
    who = f"the model worker (pid {pid})" if pid else "the model worker"
    if code >= 0:
        return f"{who} exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    if name == "SIGILL":  # only then are the CPU's flags and the build read, once each
        flags = cpu_flags()
        return (
            f"{who} died from {name}: illegal instruction: this llama.cpp build uses CPU "
            f"instructions this machine cannot run ({cpu_summary(flags)}; {build_summary()}); "
            f"rebuild with `{rebuild_command(flags)}`"
        )
    why = {
        "SIGKILL": "killed: by the kernel's OOM killer if nobody else sent it; the model "
        "needs more free memory (or a smaller llm.context_window / model)",
        "SIGSEGV": "the model crashed (segmentation fault)",
        "SIGABRT": "the model aborted (see the log above for llama.cpp's message)",
        "SIGBUS": "the model file could not be read (bus error): truncated or on a failing disk",
    }.get(name, "killed by a signal")
    return f"{who} died from {name}: {why}"
