"""Relevance-gate calibration: where, above each index's background, does "nothing
relevant" end? Measured on several (question set, index) pairs at once.

    python bench/relevance.py --write-manual /tmp/manual
    notesqa build /tmp/manual --index manual
    python bench/relevance.py --set ../shared/eval/dev_qa.jsonl --index default \\
        --set ../shared/eval/rgb_dev/qa.jsonl --index rgb_dev \\
        --set bench/python_manual_qa.jsonl --index manual

Every question is searched as the service searches it (``app.wiring``: with query
translation when ``retrieval.translate_query`` is on and a model is installed) on its own
index and on every other index given. Its *margin* is how far its best hit stands above
the gate's boundary at OFFSET 0: the best relevance turned back into cosine units
(``app.relevance``), so the gate refuses exactly the questions whose margin is below
OFFSET. Three kinds of question per index: its own answerable ones (the gate must let
them through), its own unanswerable/noise-trap ones (same topic: refusing them is the
later stages' job, counted but not required), and every other set's questions, which are
off-topic for it.

The procedure: a logistic regression of "answerable" (1) against "off-topic" (0) on the
margin, over every index at once, each index's two groups weighing the same, gives the
offset (where it crosses 0.5) and the scale; a bootstrap (questions resampled within
each group) gives the offset's 90% interval, and a fit without each corpus in turn shows
how it carries over to a corpus it has not seen. The whole distributions decide, not the
few questions nearest the boundary. A warning is printed when the fit refuses more than
``--max-false`` of some index's answerable questions. ``--records`` saves the margins,
``--from`` refits saved ones.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import _common

# The English check corpus: sections of Python's language reference, as the standard
# library ships them (pydoc_data); bench/python_manual_qa.jsonl holds questions on them.
_SECTIONS = (
    "assert break continue del global nonlocal lambda pass return truth shifting imaginary "
    "yield while if for raise import with integers floating booleans dict lists slicings "
    "comparisons try class function exceptions"
)
MANUAL = _SECTIONS.split()


def write_manual(folder: Path) -> int:
    from pydoc_data.topics import topics

    folder.mkdir(parents=True, exist_ok=True)
    for name in MANUAL:
        (folder / f"{name}.txt").write_text(topics[name], encoding="utf-8")
    print(
        f"{len(MANUAL)} sections written to {folder}; build them with "
        f"`notesqa build {folder} --index manual`"
    )
    return 0


def margin(relevance: float) -> float:
    """A relevance turned back into cosine units above the boundary at OFFSET 0."""
    from app.relevance import OFFSET, SCALE

    r = min(max(relevance, 1e-12), 1 - 1e-12)
    return OFFSET + SCALE * math.log(r / (1 - r))


def collect(pairs: list[tuple[Path, str]], config: Path | None, translate: bool) -> list[dict]:
    from app.evaluate import load_set
    from app.settings import load_settings
    from app.wiring import generator_from, retriever_from, search_from

    settings = load_settings(config)
    generator = None
    if translate and settings.retrieval.translate_query:
        made: list[Any] = []

        def generator() -> Any:  # loaded at the first question that needs translating
            if not made:
                made.append(generator_from(settings))
            return made[0]

    records = []
    for index in dict.fromkeys(name for _, name in pairs):
        retriever = retriever_from(settings.model_copy(update={"index_name": index}))
        search = search_from(settings, retriever, generator)
        print(f"{index}: background {retriever.background.by_lang}", file=sys.stderr)
        for path, own in pairs:
            for item in load_set(path):
                if item.history:
                    continue  # follow-ups are searched with their conversation, not here
                result = search(item.question)
                best = max((h.relevance for h in result.hits), default=0.0)
                kind = ("refuse" if item.expects_refusal else "answer") if own == index else "off"
                records.append(
                    {
                        "index": index,
                        "set": path.name,
                        "id": item.id,
                        "kind": kind,
                        "lang": item.lang,
                        "margin": round(margin(best), 5),
                    }
                )
    return records


def figures(records: list[dict], offset: float) -> dict[str, dict[str, float]]:
    """Per index: share of each kind the gate refuses at ``offset``."""
    out: dict[str, dict[str, float]] = {}
    for index in dict.fromkeys(r["index"] for r in records):
        mine = [r for r in records if r["index"] == index]
        out[index] = {
            kind: sum(r["margin"] < offset for r in rs) / len(rs)
            for kind in ("answer", "refuse", "off")
            if (rs := [r for r in mine if r["kind"] == kind])
        }
    return out


def logistic_fit(records: list[dict]) -> tuple[float, float]:
    """(boundary, scale) of P(answerable | margin) = logistic((margin - boundary) / scale),
    fitted by weighted maximum likelihood on every index's answerable (1) and off-topic
    (0) questions, each of the 2 x indexes groups weighing the same: the whole
    distributions decide, not the few questions nearest the boundary."""
    import numpy as np

    groups: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if r["kind"] in ("answer", "off"):
            groups.setdefault((r["index"], r["kind"]), []).append(r["margin"])
    x = np.array([m for ms in groups.values() for m in ms])
    y = np.array([float(kind == "answer") for (_, kind), ms in groups.items() for _ in ms])
    w = np.array([1.0 / len(ms) for ms in groups.values() for _ in ms])
    a, b = 0.0, 0.0  # logit = a + b * margin, by Newton's method
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a + b * x, -50, 50)))
        g = np.array([np.sum(w * (y - p)), np.sum(w * (y - p) * x)])
        h = np.array(
            [
                [np.sum(w * p * (1 - p)), np.sum(w * p * (1 - p) * x)],
                [np.sum(w * p * (1 - p) * x), np.sum(w * p * (1 - p) * x * x)],
            ]
        )
        step = np.linalg.solve(h + 1e-9 * np.eye(2), g)
        a, b = a + step[0], b + step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return -a / b, 1 / b


def choose(records: list[dict], rounds: int = 200) -> tuple[float, float, tuple[float, float]]:
    """The fitted boundary and scale, and a bootstrap 90% interval of the boundary
    (questions resampled within each index and kind)."""
    import random

    boundary, scale = logistic_fit(records)
    rng = random.Random(0)
    keyed: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        keyed.setdefault((r["index"], r["kind"]), []).append(r)
    draws = sorted(
        logistic_fit([rng.choice(rs) for rs in keyed.values() for _ in rs])[0]
        for _ in range(rounds)
    )
    return boundary, scale, (draws[int(0.05 * rounds)], draws[int(0.95 * rounds) - 1])


def report(records: list[dict], max_false: float) -> None:
    chosen, scale, (low, high) = choose(records)
    print(
        f"fitted OFFSET {chosen:.4f}, SCALE {scale:.4f}; bootstrap 90% interval of the "
        f"offset {low:.4f}..{high:.4f}"
    )
    worst = {i: f.get("answer", 0.0) for i, f in figures(records, chosen).items()}
    if any(v > max_false for v in worst.values()):
        print(f"  false refusals above {max_false} at the fit: {worst}")
    for index, f in figures(records, chosen).items():
        shown = ", ".join(f"{k} refused {v:.2f}" for k, v in f.items())
        print(f"  {index}: {shown}")
    indexes = list(dict.fromkeys(r["index"] for r in records))
    for held in indexes if len(indexes) > 2 else ():
        fitted, _ = logistic_fit([r for r in records if r["index"] != held])
        shown = ", ".join(f"{k} {v:.2f}" for k, v in figures(records, fitted)[held].items())
        print(f"  fitted without {held}: offset {fitted:.4f}; on {held} refused: {shown}")
    print("sensitivity (offset: per index answer/refuse/off refused)")
    for delta in (-0.03, -0.02, -0.01, 0.0, 0.01, 0.02):
        per = figures(records, chosen + delta)
        line = "; ".join(f"{i} " + "/".join(f"{v:.2f}" for v in f.values()) for i, f in per.items())
        print(f"  {chosen + delta:.3f}: {line}")
    for index in dict.fromkeys(r["index"] for r in records):
        for kind in ("answer", "refuse", "off"):
            ms = sorted(r["margin"] for r in records if r["index"] == index and r["kind"] == kind)
            if ms:
                print(
                    f"  {index} {kind}: n={len(ms)} min {ms[0]:.3f} max {ms[-1]:.3f} "
                    f"lowest {[round(m, 3) for m in ms[:3]]} highest "
                    f"{[round(m, 3) for m in ms[-3:]]}"
                )


def main(argv: list[str] | None = None) -> int:
    ap = _common.parser(__doc__)
    ap.add_argument("--set", type=Path, action="append", default=[], dest="sets")
    ap.add_argument("--index", action="append", default=[], dest="indexes")
    ap.add_argument("--max-false", type=float, default=0.05)
    ap.add_argument("--no-translate", action="store_true")
    ap.add_argument("--records", type=Path, help="write the margins here (JSON lines)")
    ap.add_argument("--from", type=Path, dest="source", help="refit margins saved before")
    ap.add_argument("--write-manual", type=Path, help="write the English check corpus here")
    args = ap.parse_args(argv)
    if args.write_manual:
        return write_manual(args.write_manual)
    if args.source:
        records = [json.loads(line) for line in args.source.read_text().splitlines() if line]
    else:
        if len(args.sets) != len(args.indexes) or not args.sets:
            ap.error("give --set and --index in pairs")
        pairs = list(zip(args.sets, args.indexes, strict=True))
        records = collect(pairs, args.config, not args.no_translate)
        if args.records:
            lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
            args.records.write_text("".join(lines), encoding="utf-8")
    report(records, args.max_false)
    return 0


if __name__ == "__main__":
    sys.exit(main())
