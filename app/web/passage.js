// The cited passage panel: the passage with the sentence the answer cites marked, then
// (when the server has it) the passage in its document or on its page.

import { t } from "./i18n.js";
import { CITATION, citationNumbers } from "./markdown.js";
import { holdFocus } from "./modal.js";
import { getJson, h } from "./util.js";

const $ = (id) => document.getElementById(id);
const ui = {
  app: document.querySelector(".app"),
  passage: $("passage"),
  title: $("passage-title"),
  close: $("passage-close"),
  source: $("passage-source"),
  heading: $("passage-heading"),
  text: $("passage-text"),
};
const state = { opener: null, opened: 0 };
let config = { kb: () => "default", titleOf: (source) => source };

/** `kb()` names the knowledge base; `titleOf(source)` is what to call a document. */
export function initPassage(options) {
  config = options;
  ui.close.addEventListener("click", () => closePassage());
}

export const passageOpen = () => !ui.passage.hidden;

export function openPassage(turn, n, opener) {
  const source = turn.sources.get(n);
  if (!source) return;
  closePassage({ restoreFocus: false });
  state.opener = opener;
  const opened = (state.opened += 1);

  ui.title.textContent = t("sourceTitle", { n });
  ui.source.replaceChildren(h("span", { class: "passage__file", title: source.source }, config.titleOf(source.source)));
  if (source.page != null) {
    ui.source.append(h("span", { class: "passage__page" }, t("page", { n: source.page })));
  }
  if (source.origin === "ocr" || source.origin === "table") {
    const label = t(source.origin === "ocr" ? "originOcr" : "originTable");
    ui.source.append(h("span", { class: "passage__origin" }, label));
  }
  ui.heading.textContent = source.heading || "";
  ui.heading.hidden = !source.heading;
  const text = typeof source.text === "string" ? source.text : "";
  const range = quoteRange(source, turn.final?.answer ?? "", n);
  ui.text.replaceChildren(...highlighted(text, range));
  ui.text.classList.remove("passage__text--document");

  for (const el of turn.el.querySelectorAll(`[data-n="${n}"]`)) {
    el.classList.add("is-active");
    if (el.classList.contains("cite")) el.setAttribute("aria-expanded", "true");
  }
  ui.passage.hidden = false;
  ui.app.classList.add("passage-open");
  holdFocus(ui.passage);
  scrollToMark();
  ui.passage.focus({ preventScroll: true });
  // Then the passage in its document (for a paged one, its page), when the server has it.
  if (source.document_id) {
    showInDocument(source, range, () => opened === state.opened && !ui.passage.hidden);
  }
}

function scrollToMark() {
  const mark = ui.text.querySelector("mark") ?? ui.text.querySelector(".cited");
  ui.text.scrollTop = 0;
  if (mark) mark.scrollIntoView({ block: "center" });
}

async function showInDocument(source, range, stillOpen) {
  let doc;
  try {
    const kb = encodeURIComponent(config.kb());
    doc = await getJson(`/api/kbs/${kb}/documents/${encodeURIComponent(source.document_id)}/text`);
  } catch {
    return; // the passage alone stays: a rebuilt or removed document has no text to show
  }
  if (!stillOpen()) return;
  const chars = Array.from(doc.text ?? "");
  const start = Number(source.start);
  const end = Number(source.end);
  // The server counts in code points, as Array.from does.
  if (!(end > start) || chars.slice(start, end).join("") !== source.text) return;
  const page = (doc.pages ?? []).find((p) => p.page === source.page);
  const [from, to] = page ? [Math.min(page.start, start), Math.max(page.end, end)] : [0, chars.length];
  const cited = range ? [start + range[0], start + range[1]] : null;
  const part = (a, b) => chars.slice(a, b).join("");
  const inner = cited
    ? [part(start, cited[0]), h("mark", {}, part(cited[0], cited[1])), part(cited[1], end)]
    : [part(start, end)];
  ui.text.replaceChildren(
    part(from, start),
    h("span", { class: "cited" }, ...inner),
    part(end, to),
  );
  ui.text.classList.add("passage__text--document");
  ui.text.setAttribute("aria-label", t(page ? "documentPage" : "documentWhole"));
  scrollToMark();
}

export function closePassage({ restoreFocus = true } = {}) {
  if (ui.passage.hidden) return;
  ui.passage.hidden = true;
  ui.app.classList.remove("passage-open");
  holdFocus(null);
  for (const el of document.querySelectorAll(".is-active")) {
    el.classList.remove("is-active");
    if (el.classList.contains("cite")) el.setAttribute("aria-expanded", "false");
  }
  if (restoreFocus && state.opener?.isConnected) state.opener.focus();
  state.opener = null;
}

/**
 * The cited part of a passage as [start, end) code point offsets (the server counts in
 * Python characters, the page in UTF-16 units). When the server did not know it (equal
 * offsets), look for the sentence the answer cites as [n] in the passage; null if absent.
 */
function quoteRange(source, answer, n) {
  const length = Array.from(source.text ?? "").length;
  const start = Number(source.quote_start);
  const end = Number(source.quote_end);
  if (Number.isInteger(start) && Number.isInteger(end) && end > start && start >= 0) {
    return [start, Math.min(end, length)];
  }
  return guessQuote(answer, n, source.text ?? "");
}

function guessQuote(answer, n, text) {
  let claimStart = 0;
  let claim = "";
  for (const match of answer.matchAll(CITATION)) {
    const here = answer.slice(claimStart, match.index);
    claimStart = match.index + match[0].length;
    if (here.trim()) claim = here; // [1][2]: both cite the same words
    if (!citationNumbers(match[1], match[2]).includes(n)) continue;
    for (const candidate of claimCandidates(claim)) {
      const at = text.indexOf(candidate);
      if (at >= 0) {
        const start = Array.from(text.slice(0, at)).length;
        return [start, start + Array.from(candidate).length];
      }
    }
  }
  return null;
}

// The whole claim without Markdown, then its sentences, longest first.
function claimCandidates(claim) {
  const plain = claim
    .replace(/\*\*|`/g, "")
    .replace(/^\s*(?:[-*+•]|\d{1,9}[.)])\s+/gm, "")
    .replace(/^[\s.,;:!?。，；：！？、)）\]】]+/, "") // the end of the previous sentence
    .trim();
  const sentences = plain
    .split(/(?<=[。！？；!?;])|(?<=[.])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => Array.from(s).length >= 4);
  return [plain, ...sentences.sort((a, b) => b.length - a.length)].filter(Boolean);
}

function highlighted(text, range) {
  if (!range) return [text];
  const chars = Array.from(text);
  const [start, end] = range;
  return [
    chars.slice(0, start).join(""),
    h("mark", {}, chars.slice(start, end).join("")),
    chars.slice(end).join(""),
  ];
}

