"""The page's Traditional Chinese text (app/web/i18n_hant.js) is generated from its
Simplified text: it must be regenerated whenever that changes, and cover every key."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "app" / "web"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "make_zh_hant", ROOT / "scripts" / "make_zh_hant.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_traditional_text_is_generated_from_the_current_simplified_text() -> None:
    make = _generator()
    messages = make.simplified_messages((WEB / "i18n.js").read_text(encoding="utf-8"))
    assert len(messages) > 100 and messages["send"] == "发送"
    expected = make.render(messages)
    assert (WEB / "i18n_hant.js").read_text(encoding="utf-8") == expected, (
        "app/web/i18n_hant.js is out of date: run .venv/bin/python scripts/make_zh_hant.py"
    )
    assert '"send": "傳送"' in expected and '"statusCounts": "{documents} 篇文件' in expected
