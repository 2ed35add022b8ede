"""What every benchmark script shares: offline models, an unshadowed ``ingest`` package
and the options they all take.

Each script imports this module before anything from the project. Run as
``python bench/NAME.py``, this folder leads ``sys.path`` (so ``import _common`` finds
it) and its ``ingest.py`` would shadow the ``ingest`` package, so the folder is dropped
from the path here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEV_SET = HERE / "dev_qa.jsonl"

# Benchmarks must never reach a model hub; set before any Hugging Face import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def sibling(name: str) -> Any:
    """Another module of this folder (which is no longer on sys.path), imported by file."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the script's docstring, with --config and --json."""
    out = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    out.add_argument("--config", type=Path, help="YAML settings (default configs/default.yaml)")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    return out


def rss_mb(pid: str = "self", field: str = "VmRSS") -> float:
    """``field`` of /proc/PID/status in MB: VmRSS now, VmHWM the peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak RSS so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
