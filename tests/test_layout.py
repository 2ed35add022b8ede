"""The package boundaries the README draws: ingest/ builds, app/ serves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_ingest_never_imports_app() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in _imports(path) if n.split(".")[0] == "app")
        for path in (ROOT / "ingest").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) >= 8  # the scan saw the package


def test_the_scan_would_see_an_app_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from app.settings import Settings\nimport app.llm\n")
    assert {"app.settings", "app.llm"} <= _imports(sample)


# Ways a script turns a string into markup; the page builds nodes instead (app/web/util.js).
_MARKUP_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser")


def _code_lines(path: Path) -> list[str]:
    return [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.strip().startswith("//")
    ]


def test_the_page_never_turns_text_into_markup(tmp_path: Path) -> None:
    scripts = sorted((ROOT / "app" / "web").glob("*.js"))
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in scripts
        for line in _code_lines(path)
        if any(sink in line for sink in _MARKUP_SINKS)
    ]
    assert offenders == []
    assert len(scripts) >= 10  # the scan saw the page's modules
    sample = tmp_path / "x.js"
    sample.write_text("// innerHTML in a comment is fine\nel.innerHTML = text;\n")
    assert _code_lines(sample) == ["el.innerHTML = text;"]
