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

HERE = Path(__file__).resolve().parent
DEV_SET = HERE / "dev_qa.jsonl"

# Benchmarks must never reach a model hub; set before any Hugging Face import.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the script's docstring, with --config and --json."""
    out = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    out.add_argument("--config", type=Path, help="YAML settings (default configs/default.yaml)")
    out.add_argument("--json", action="store_true", help="print one JSON object")
    return out
