// Hit testing: type a question, see the passages answering would use, in order, with
// every score, the threshold, and in words why it would be answered or refused
// (POST /api/search with explain: true; the model is not asked).

import { t } from "./i18n.js";
import { getJson, h } from "./util.js";

const $ = (id) => document.getElementById(id);
const SCORES = ["relevance", "dense", "bm25", "fused", "coverage", "rerank"];

export function initHitTest({ kb }) {
  const ui = {
    open: $("hittest-open"),
    dialog: $("hittest"),
    close: $("hittest-close"),
    form: $("hittest-form"),
    query: $("hittest-query"),
    result: $("hittest-result"),
  };

  async function run(query) {
    ui.result.replaceChildren(h("p", { class: "hittest__wait" }, t("hitTestRunning")));
    try {
      const reply = await getJson("/api/search", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query, kb: kb(), explain: true, top_k: 5 }),
      });
      ui.result.replaceChildren(...render(reply).filter(Boolean));
    } catch (error) {
      ui.result.replaceChildren(h("p", { class: "hittest__error", role: "alert" }, error.message));
    }
  }

  // A step in the page's language when it knows the step's code, else the server's words.
  const said = (step) => t(`why.${step.stage}.${step.code}`, step.values ?? {}, step.detail);

  function reason(why) {
    const failed = why.steps.find((step) => step.passed === false);
    if (why.decision === "refuse" && failed?.code) return said(failed);
    if (why.decision === "model decides") return t("why.modelDecides", {}, why.reason);
    return why.reason;
  }

  function render(reply) {
    const why = reply.explain;
    const verdict = h(
      "div",
      { class: "hittest__decision", "data-decision": why.decision },
      h("p", { class: "hittest__verdict" }, t(`decision.${why.decision}`, {}, why.decision)),
      h("p", { class: "hittest__reason", title: why.reason }, reason(why)),
      h(
        "p",
        { class: "hittest__figures" },
        t("hitTestFigures", {
          best: why.best_relevance.toFixed(2),
          threshold: why.threshold.toFixed(2),
        }),
      ),
    );
    const steps = h(
      "ol",
      { class: "hittest__steps" },
      ...why.steps.map((step) =>
        h(
          "li",
          { "data-passed": String(step.passed) },
          h(
            "span",
            { class: "hittest__mark", "aria-hidden": "true" },
            step.passed === true ? "✓" : step.passed === false ? "✗" : "…",
          ),
          h("strong", {}, t(`step.${step.stage}`, {}, step.stage)),
          " ",
          said(step),
        ),
      ),
    );
    const queries =
      why.queries.length > 1
        ? h("p", { class: "hittest__queries" }, t("hitTestQueries", { queries: why.queries.join(" | ") }))
        : null;
    if (!reply.hits.length) return [verdict, steps, h("p", {}, t("hitTestNoPassages"))];
    const head = h(
      "tr",
      {},
      h("th", { scope: "col" }, "#"),
      h("th", { scope: "col" }, t("hitTestPassage")),
      ...SCORES.filter((s) => s in reply.hits[0].scores || s === "relevance").map((s) =>
        h("th", { scope: "col" }, t(`score.${s}`, {}, s)),
      ),
    );
    const columns = SCORES.filter((s) => s in reply.hits[0].scores || s === "relevance");
    const rows = reply.hits.map((hit) =>
      h(
        "tr",
        { class: hit.relevance >= why.threshold ? "is-relevant" : "" },
        h("td", {}, String(hit.rank)),
        h(
          "td",
          {},
          h(
            "details",
            {},
            h(
              "summary",
              {},
              hit.source,
              hit.page == null ? "" : ` · ${t("page", { n: hit.page })}`,
              hit.heading ? ` · ${hit.heading}` : "",
            ),
            h("p", { class: "hittest__text" }, hit.text),
          ),
        ),
        ...columns.map((name) => {
          const value = name === "relevance" ? hit.relevance : hit.scores[name];
          return h("td", { class: "num" }, typeof value === "number" ? value.toFixed(3) : "–");
        }),
      ),
    );
    const table = h(
      "table",
      { class: "hittest__table" },
      h("caption", { class: "visually-hidden" }, t("hitTestTable")),
      h("thead", {}, head),
      h("tbody", {}, ...rows),
    );
    return [verdict, steps, queries, h("div", { class: "hittest__scroll" }, table)];
  }

  ui.open.addEventListener("click", () => {
    ui.dialog.showModal();
    ui.query.focus();
  });
  ui.close.addEventListener("click", () => ui.dialog.close());
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = ui.query.value.trim();
    if (query) run(query);
  });
  // Open on a question and search it at once (a refusal's "search the documents").
  return {
    show(query) {
      ui.dialog.showModal();
      ui.query.value = query;
      ui.query.focus();
      run(query);
    },
  };
}
