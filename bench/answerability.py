"""Answerability calibration: collect every stage's signals on question sets, then choose
the verdict threshold by a stated procedure and print what each stage refuses.

    python bench/answerability.py collect --set bench/dev_qa.jsonl --index default \\
        --out notes.jsonl
    python bench/answerability.py collect --set ../shared/eval/rgb_dev/qa.jsonl \\
        --index rgb_dev --out rgb.jsonl
    python bench/answerability.py fit notes.jsonl rgb.jsonl

``collect`` answers every question with the configured model through the service's own
``Answerer``, with the constraint check and the verdict reporting but never refusing
(``answer.check_constraints: false``, ``answer.answerability_threshold: 0``), so every
answerable question also has its written answer; the verdict is read from the answer's
own prompt. It also reads the verdicts of the alternative phrasings in ``VARIANTS`` on
the same prompt (a few dozen tokens each: the prompt is cached), to compare them.

``fit`` replays the pipeline's decisions from those records for any threshold; the
answers do not depend on it (greedy decoding, and the verdict does not change the
prompt), so the figures are those ``notesqa eval --answers`` gives with that threshold.
The procedure: on the log-odds of the verdict, the thresholds that add at most
``--max-false`` false refusals (as a share of the answerable questions) to those of the
stages before the verdict, on every set, are feasible; among them the one that refuses the
most unanswerable questions over both sets is chosen, and of a run of equally good
thresholds the middle. That argmax moves with any one question, so the procedure is also
run on ``--bootstrap`` draws (questions resampled within each set and kind); the median
of the draws' thresholds, with their 90% interval, is the one to configure. The margin
printed is the distance from the chosen threshold to
the nearest threshold that changes any decision. Fitting on one set and applying to the
other shows how it carries over to a corpus it was not fitted on.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import _common

# Alternative verdict phrasings compared against the one the product uses
# (``app.answer.answerability.VERDICT``); the first option means "answerable" for all
# but "number", where the first option ("none") means the opposite.
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "specific": (
        "注意：资料可能只谈到相关的话题，却没有给出问题所问的那一项信息（比如给的是另一年份、"
        "另一家公司、另一个人或另一个模型的）。资料中是否明确给出了问题所问的信息？"
        "只回答“是”或“否”。",
        ("是", "否"),
    ),
    "english": (
        "Do the passages above explicitly state the answer to this question (for the same "
        "subject, year and attribute)? Answer Yes or No.",
        ("Yes", "No"),
    ),
    "number": (
        "上面哪一条资料直接给出了这个问题的答案？只回答它的编号；如果没有任何一条给出，回答“无”。",
        ("无", "1", "2", "3", "4", "5", "6", "7", "8"),
    ),
}
# After the answer is written: is it what the passages say? (one more turn, cached prefix)
AFTER = {
    "zh": (
        "上面的回答是否完全符合资料中的原文，并且回答的正是问题所问的对象？只回答“是”或“否”。",
        ("是", "否"),
    ),
    "en": (
        "Is the answer above stated by the passages, about exactly what the question asks? "
        "Answer Yes or No.",
        ("Yes", "No"),
    ),
}


def collect(args: Any) -> int:
    from app.answer.answerability import passage_label
    from app.evaluate import answer_correct, hit_is_relevant, keyword_hit, load_set
    from app.lang import detect_lang
    from app.llm.base import GenerationRequest, Message
    from app.passages import passages_for
    from app.service import KnowledgeBase
    from app.settings import load_settings

    settings = load_settings(args.config, index_name=args.index)
    answer_cfg = settings.answer.model_copy(
        update={"check_constraints": False, "verdict": True, "answerability_threshold": 0.0}
    )
    settings = settings.model_copy(update={"answer": answer_cfg})
    kb = KnowledgeBase(settings)
    loaded = kb.load()
    answerer, retriever, generator = loaded.answerer, loaded.retriever, kb.generator
    items = load_set(args.set)
    if args.ids:
        items = [i for i in items if re.fullmatch(args.ids, i.id)]
    if args.limit:
        items = items[: args.limit]
    with args.out.open("w", encoding="utf-8") as out:
        for n, item in enumerate(items, 1):
            t0 = time.perf_counter()
            history = [Message(_role(role), text) for role, text in item.history]
            final = answerer.ask(item.question, history=history)
            record: dict[str, Any] = {
                "id": item.id,
                "type": item.type,
                "lang": item.lang,
                "refusal_expected": item.expects_refusal,
                "query": final.query,
                "refused": final.refused,
                "stage": final.refusal.stage if final.refusal else None,
                "answer": final.answer,
                "checks": final.checks,
                "timings": final.timings,
            }
            if item.keywords:
                record["keyword_hit"] = (
                    0.0 if final.refused else keyword_hit(final.answer, item.keywords)
                )
            if item.answers:
                record["correct"] = not final.refused and answer_correct(final.answer, item.answers)
            forms = final.checks.get("queries") or [final.query or item.question]
            result = retriever.search(forms[0], also=forms[1:], top_k=10)
            record["rank"] = next(
                (i for i, h in enumerate(result.hits, 1) if hit_is_relevant(h, item)), None
            )
            if final.refusal is None or final.refusal.stage != "retrieval":
                # The same prompt the answer was written from (the draft's, for a question
                # in another language than the passages).
                passages = passages_for(
                    result.hits[: settings.retrieval.top_k],
                    retriever.index,
                    settings.retrieval,
                )
                # The translation, as Search reports it (the first form after the question).
                hint = (
                    forms[1] if len(forms) > 1 and detect_lang(forms[0]) != retriever.lang else None
                )
                lang = detect_lang(item.question)
                question = item.question
                if hint and answerer.answers_in_passage_language:
                    question, lang = hint, retriever.lang
                messages, kept = answerer.prompt(question, lang, history, passages)
                record["passages"] = [passage_label(p) for p in kept]
                for name, (ask, options) in VARIANTS.items():
                    asked = [*messages[:-1], Message("user", f"{messages[-1].content}\n\n{ask}")]
                    probabilities = generator.judge(GenerationRequest(asked), options)
                    if probabilities is not None:
                        first = probabilities[0]
                        record[f"p_{name}"] = 1 - first if name == "number" else first
                if not final.refused:
                    ask, options = AFTER["zh" if lang == "zh" else "en"]
                    after = [*messages, Message("assistant", final.answer), Message("user", ask)]
                    probabilities = generator.judge(GenerationRequest(after), options)
                    if probabilities is not None:
                        record["p_after"] = probabilities[0]
            record["seconds"] = round(time.perf_counter() - t0, 2)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            print(
                f"{n}/{len(items)} {item.id} refused={final.refused} "
                f"p={final.checks.get('p_answerable')} {record['seconds']}s",
                file=sys.stderr,
            )
    kb.close()
    return 0


def _role(role: str) -> Any:  # app.llm.base.Role
    return "assistant" if role == "assistant" else "user"


def main(argv: list[str] | None = None) -> int:
    p = _common.parser(__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--set", type=Path, default=_common.DEV_SET)
    c.add_argument("--index", default="default")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--limit", type=int, default=0)
    c.add_argument("--ids", help="only the questions whose id matches this regular expression")
    c.add_argument("--config", type=Path)
    f = sub.add_parser("fit")
    f.add_argument("records", nargs="+")
    f.add_argument("--max-false", type=float, default=0.05)
    f.add_argument("--bootstrap", type=int, default=200, help="draws for the bagged threshold")
    f.add_argument(
        "--product-verdict",
        help="the VARIANTS phrasing the product now uses (for collect records made before)",
    )
    args = p.parse_args(argv)
    if args.command == "collect":
        return collect(args)
    return int(_common.sibling("_answerability_fit").fit(args, list(VARIANTS)))


if __name__ == "__main__":
    sys.exit(main())
