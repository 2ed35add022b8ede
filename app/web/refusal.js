// The card under a refusal: why in words (the stage that refused, or the names no
// passage mentions), the closest passages with their relevance, and two ways on: ask it
// differently (the question back in the box) and search the documents (hit testing).

import { t } from "./i18n.js";
import { h } from "./util.js";

/** The card's parts for a refused reply: `host` gives titleOf, editQuestion, searchDocs. */
export function refusalCard(final, question, host) {
  const refusal = final?.refusal ?? {};
  const missing = Array.isArray(refusal.scores?.missing) ? refusal.scores.missing : [];
  const why = missing.length
    ? t("refusal.missing", { names: missing.join("、") })
    : t(`refusal.${refusal.stage}`, {}, refusal.reason || "");
  const passages = (Array.isArray(final?.checks?.passages) ? final.checks.passages : [])
    .slice(0, 3)
    .map((p) =>
      h(
        "li",
        { class: "refusal__passage" },
        h(
          "span",
          { class: "refusal__source", title: p.source },
          [host.titleOf(p.source), p.heading].filter(Boolean).join(" · "),
        ),
        h(
          "span",
          { class: "refusal__score" },
          t("refusal.relevance", { pct: Math.round(100 * (Number(p.relevance) || 0)) }),
        ),
      ),
    );
  const rephrase = h("button", { type: "button", class: "refusal__action" }, t("rephrase"));
  rephrase.addEventListener("click", () => host.editQuestion(question));
  const search = h("button", { type: "button", class: "refusal__action" }, t("searchDocs"));
  search.addEventListener("click", () => host.searchDocs(question));
  return [
    h("p", { class: "refusal__why" }, why),
    passages.length
      ? h(
          "div",
          {},
          h("p", { class: "refusal__label" }, t("refusal.closest")),
          h("ul", {}, ...passages),
        )
      : null,
    h("div", { class: "refusal__actions" }, rephrase, search),
  ].filter(Boolean);
}
