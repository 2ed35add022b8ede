// The chat page: ask, stream the answer, open cited passages, show the knowledge base.
//
// No framework and no build step. Every piece of server text (answers, passages, file
// names, error messages) reaches the page through text nodes, never as HTML.

import { formatDate, formatSeconds, t, translatePage } from "./i18n.js";
import { initHitTest } from "./hittest.js";
import { initKnowledgeBases } from "./kbs.js";
import { CITATION, citationNumbers, renderMarkdown } from "./markdown.js";
import {
  apiKey,
  authHeaders,
  getJson,
  h,
  reportUnauthorized,
  responseError,
  setApiKey,
  whenUnauthorized,
} from "./util.js";

// The server keeps only its last few turns (answer.max_history_turns); more would only
// cost upload time.
const MAX_HISTORY_MESSAGES = 12;

const $ = (id) => document.getElementById(id);
const ui = {
  app: document.querySelector(".app"),
  kb: $("kb"),
  kbToggle: $("kb-toggle"),
  kbClose: $("kb-close"),
  status: $("status"),
  timings: $("timings"),
  newChat: $("new-chat"),
  scroller: $("scroller"),
  empty: $("empty"),
  conversation: $("conversation"),
  composer: $("composer"),
  question: $("question"),
  send: $("send"),
  stop: $("stop"),
  passage: $("passage"),
  passageTitle: $("passage-title"),
  passageClose: $("passage-close"),
  passageSource: $("passage-source"),
  passageHeading: $("passage-heading"),
  passageText: $("passage-text"),
  backdrop: $("backdrop"),
  keyDialog: $("key-dialog"),
  keyForm: $("key-form"),
  keyInput: $("key-input"),
};

const state = {
  history: [], // {role, content} of the turns that completed
  controller: null, // AbortController of the answer in flight
  conversationId: 0, // bumped by "New chat" so a late answer cannot refill the history
  opener: null, // what opened the passage panel, to give focus back to
  kb: null, // the knowledge base the conversation is about
  passageOpened: 0, // bumped per opened citation, so a late document text is not shown
};

// ---------------------------------------------------------------- server-sent events

/**
 * The events of a `text/event-stream` body, as {type, data} with `data` parsed from JSON
 * (null when it is not JSON). Works across chunk boundaries and with \r\n line endings.
 */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new ConnectionLost(error.message);
      }
      const { value, done } = chunk;
      if (done) break;
      // A trailing \r may be the first half of \r\n: keep it until the next chunk.
      buffer = (buffer + value).replace(/\r\n|\r(?!$)/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
    const last = parseEvent(buffer.replace(/\r$/, ""));
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseEvent(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // comments are keep-alives
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { type, data: JSON.parse(data.join("\n")) };
  } catch {
    return { type, data: null };
  }
}

// ---------------------------------------------------------------- one question and answer

// Put a question in the box to be edited and asked again.
function editQuestion(text) {
  ui.question.value = text;
  ui.question.focus();
  ui.question.dispatchEvent(new Event("input"));
}

class Turn {
  constructor(question) {
    this.question = question;
    this.text = "";
    this.tokens = 0;
    this.final = null;
    this.sources = new Map();
    this.ended = false;
    this.renderPending = false;
    this.started = performance.now();
    this.timer = null;

    this.userEl = h(
      "article",
      { class: "msg msg--user", "aria-label": t("you") },
      h("div", { class: "msg__bubble" }, question),
    );
    this.label = h("p", { class: "msg__label", hidden: true });
    // The stage under way and the time since the question, until the first word.
    this.stageText = h("span", { class: "thinking__stage" }, t("thinking"));
    this.clock = h("span", { class: "thinking__clock", "aria-hidden": "true" });
    this.body = h(
      "div",
      { class: "msg__body md" },
      h(
        "span",
        { class: "thinking", role: "status" },
        h("span", { class: "dots", "aria-hidden": "true" }),
        this.stageText,
        this.clock,
      ),
    );
    // A follow-up's question as it was searched ("检索：…"), kept after the answer.
    this.rewrite = h("p", { class: "msg__rewrite", hidden: true });
    this.notice = h("p", { class: "msg__notice", hidden: true });
    // What the checks changed in the streamed text, and the text they replaced.
    this.change = h("div", { class: "msg__change", hidden: true });
    this.refusalCard = h("div", { class: "msg__refusal refusal", hidden: true });
    this.footer = h("div", { class: "msg__footer", hidden: true });
    this.el = h(
      "article",
      {
        class: "msg msg--assistant",
        "aria-label": t("assistant"),
        "aria-busy": "true",
        "data-state": "pending",
        "data-tokens": "0",
      },
      this.label,
      this.rewrite,
      this.body,
      this.refusalCard,
      this.change,
      this.notice,
      this.footer,
    );
  }

  stage(data) {
    if (!data || typeof data.stage !== "string") return;
    if (typeof data.query === "string" && data.query) {
      const edit = h("button", { type: "button", class: "link" }, t("editRewritten"));
      edit.addEventListener("click", () => editQuestion(data.query));
      this.rewrite.replaceChildren(t("rewritten", { query: data.query }), " ", edit);
      this.rewrite.hidden = false;
    }
    if (this.tokens) return; // the words are there: they are the progress now
    const key = data.draft ? "progress.draft" : `progress.${data.stage}`;
    this.stageText.textContent = t(key, {}, data.stage);
    this.el.dataset.stage = data.stage;
    if (this.timer === null) {
      const tick = () => {
        const seconds = (performance.now() - this.started) / 1000;
        this.clock.textContent = t("elapsed", { s: seconds.toFixed(1) });
      };
      tick();
      this.timer = setInterval(tick, 100);
    }
  }

  stopClock() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  appendToken(text) {
    if (typeof text !== "string" || !text) return;
    this.stopClock();
    this.text += text;
    this.tokens += 1;
    this.el.dataset.tokens = String(this.tokens);
    this.el.dataset.state = "streaming";
    // Many tokens can arrive in one network read: draw at most once a frame.
    if (!this.renderPending) {
      this.renderPending = true;
      requestAnimationFrame(() => {
        this.renderPending = false;
        if (!this.ended) this.render();
      });
    }
  }

  render() {
    keepScrolledToBottom(() => {
      const text = this.final ? this.final.answer : this.text;
      this.body.replaceChildren(renderMarkdown(text, { citation: (n) => this.citation(n) }));
    });
  }

  citation(n) {
    const source = this.sources.get(n);
    if (!source) {
      const missing = this.final ? t("citationMissing", { n }) : null;
      return h("span", { class: "cite cite--inert", title: missing }, String(n));
    }
    const button = h(
      "button",
      {
        type: "button",
        class: "cite",
        "data-n": n,
        "aria-label": `${t("citation", { n })}: ${source.source}`,
        "aria-controls": "passage",
        "aria-expanded": "false",
      },
      String(n),
    );
    button.addEventListener("click", () => openPassage(this, n, button));
    return button;
  }

  end(stateName) {
    this.stopClock();
    this.ended = true;
    this.el.dataset.state = stateName;
    this.el.setAttribute("aria-busy", "false");
  }

  finish(final) {
    this.final = { ...final, answer: typeof final?.answer === "string" ? final.answer : this.text };
    for (const source of Array.isArray(final?.sources) ? final.sources : []) {
      this.sources.set(source.n, source);
    }
    this.end(final?.refused ? "refused" : "done");
    this.showChange(final);
    if (final?.refused) {
      this.showLabel(t("refusedLabel"));
      this.showRefusal(final);
    }
    if (final?.flagged) this.showNotice(t("flagged"), "flagged");
    this.render();
    this.renderFooter();
    showTimings(final?.timings);
  }

  stop() {
    this.end("stopped");
    this.showLabel(t("stopped"));
    this.showNotice(t("stoppedNote"), "stopped");
    this.render();
  }

  fail(message) {
    this.end(this.text ? "partial-error" : "error");
    this.showNotice(message, "error");
    this.notice.setAttribute("role", "alert");
    if (this.text) this.render();
    else this.body.replaceChildren();
    // The question is never lost to an error: back in an empty box, and one click to resend.
    if (!ui.question.value.trim()) ui.question.value = this.question;
    const retry = h("button", { type: "button", class: "refusal__action" }, t("retry"));
    retry.addEventListener("click", () => {
      retry.disabled = true;
      if (ui.question.value === this.question) ui.question.value = "";
      ask(this.question);
    });
    this.notice.append(" ", retry);
  }

  showLabel(text) {
    this.label.textContent = text;
    this.label.hidden = false;
  }

  // Never a silent change: when the checked answer is not what was streamed, say so and
  // keep what was streamed (and why it went) one click away.
  showChange(final) {
    const squeeze = (text) => String(text ?? "").replace(/\s+/g, "");
    const streamed = this.text.trim();
    if (!streamed || squeeze(streamed) === squeeze(final?.answer)) return;
    const withdrawn = Boolean(final?.refused);
    const reason = final?.refusal?.reason;
    this.el.dataset.changed = withdrawn ? "withdrawn" : "replaced";
    this.change.replaceChildren(
      h("p", { class: "msg__change-text" }, t(withdrawn ? "withdrawn" : "checkedReplaced")),
      h(
        "details",
        {},
        h("summary", {}, t("showStreamed")),
        reason ? h("p", { class: "msg__change-why" }, t("changeReason", { reason })) : null,
        h("blockquote", { class: "msg__streamed" }, streamed),
      ),
    );
    this.change.hidden = false;
  }

  // A refusal that helps: why in words, the closest passages and their relevance, and
  // two ways on (ask it differently; look through the documents in hit testing).
  showRefusal(final) {
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
          h("span", { class: "refusal__source" }, [p.source, p.heading].filter(Boolean).join(" · ")),
          h("span", { class: "refusal__score" }, t("refusal.relevance", {
            pct: Math.round(100 * (Number(p.relevance) || 0)),
          })),
        ),
      );
    const rephrase = h("button", { type: "button", class: "refusal__action" }, t("rephrase"));
    rephrase.addEventListener("click", () => editQuestion(this.question));
    const search = h("button", { type: "button", class: "refusal__action" }, t("searchDocs"));
    search.addEventListener("click", () => hitTest.show(this.question));
    this.refusalCard.replaceChildren(
      h("p", { class: "refusal__why" }, why),
      passages.length
        ? h("div", {}, h("p", { class: "refusal__label" }, t("refusal.closest")), h("ul", {}, ...passages))
        : null,
      h("div", { class: "refusal__actions" }, rephrase, search),
    );
    this.refusalCard.hidden = false;
  }

  showNotice(text, kind) {
    this.notice.textContent = text;
    this.notice.dataset.kind = kind;
    this.notice.hidden = false;
  }

  // Copy the answer (its text, markers and all); ask the same question again.
  actions() {
    const copy = h("button", { type: "button", class: "refusal__action", "data-action": "copy" }, t("copy"));
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.final?.answer ?? this.text);
        copy.textContent = t("copied");
      } catch {
        copy.textContent = t("copyFailed");
      }
    });
    const again = h("button", { type: "button", class: "refusal__action", "data-action": "regenerate" }, t("regenerate"));
    again.addEventListener("click", () => {
      if (!state.controller) ask(this.question);
    });
    return h("div", { class: "msg__actions" }, copy, again);
  }

  renderFooter() {
    const sources = [...this.sources.values()].sort((a, b) => a.n - b.n);
    const parts = [];
    if (sources.length) {
      const chips = sources.map((source) => {
        const chip = h(
          "button",
          { type: "button", class: "chip", "aria-controls": "passage", "data-n": source.n },
          h("span", { class: "chip__n" }, String(source.n)),
          h("span", { class: "chip__name" }, source.source),
          source.page == null
            ? null
            : h("span", { class: "chip__page" }, t("page", { n: source.page })),
        );
        chip.addEventListener("click", () => openPassage(this, source.n, chip));
        return chip;
      });
      parts.push(
        h("span", { class: "msg__footer-label" }, t("sourcesLabel")),
        h("div", { class: "chips" }, ...chips),
      );
    }
    const total = formatSeconds(this.final?.timings?.total);
    const meta = [this.final?.model, total].filter(Boolean).join(" · ");
    if (meta) parts.push(h("span", { class: "msg__meta" }, meta));
    parts.push(this.actions());
    this.footer.replaceChildren(...parts);
    this.footer.hidden = !parts.length;
  }
}

// A network failure while reading the answer (not a bug in this page).
class ConnectionLost extends Error {}

async function ask(question) {
  ui.empty.hidden = true;
  const turn = new Turn(question);
  const conversationId = state.conversationId;
  ui.conversation.append(turn.userEl, turn.el);
  ui.scroller.scrollTop = ui.scroller.scrollHeight;

  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  const sentKey = apiKey();
  try {
    let response;
    try {
      response = await fetch("/api/ask", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          ...authHeaders(),
        },
        body: JSON.stringify({
          question,
          kb: kbs.current(),
          history: state.history.slice(-MAX_HISTORY_MESSAGES),
          stream: true,
        }),
        signal: controller.signal,
      });
    } catch (error) {
      throw new ConnectionLost(error.message);
    }
    if (!response.ok) {
      if (response.status === 401) reportUnauthorized(sentKey);
      turn.fail(await responseError(response));
    } else if (!(response.headers.get("content-type") || "").includes("text/event-stream")) {
      turn.finish(await response.json()); // a server that answered without streaming
    } else {
      await consume(turn, readEvents(response.body));
    }
    if (!turn.ended) turn.fail(t("errorCutOff"));
  } catch (error) {
    if (controller.signal.aborted) {
      turn.stop();
    } else if (error instanceof ConnectionLost) {
      turn.fail(turn.text ? t("errorCutOff") : t("errorNetwork"));
    } else {
      console.error(error);
      turn.fail(t("errorUnexpected", { message: String(error?.message ?? error) }));
    }
  } finally {
    // Refusals stay out of the history: they carry nothing, and the server folds earlier
    // questions into the retrieval query.
    if (turn.final && !turn.final.refused && conversationId === state.conversationId) {
      state.history.push(
        { role: "user", content: question },
        { role: "assistant", content: turn.final.answer },
      );
    }
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
}

async function consume(turn, events) {
  for await (const event of events) {
    if (event.type === "token") {
      turn.appendToken(event.data?.text);
    } else if (event.type === "stage") {
      turn.stage(event.data);
    } else if (event.type === "done") {
      if (event.data) turn.finish(event.data);
      return;
    } else if (event.type === "error") {
      const message = event.data?.error?.message || event.data?.error?.code || "?";
      turn.fail(t("errorStream", { message }));
      return;
    }
  }
}

function setBusy(busy) {
  const hadFocus = document.activeElement;
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  if (busy && hadFocus === ui.send) ui.stop.focus();
  if (!busy && hadFocus === ui.stop) ui.question.focus();
}

function showTimings(timings) {
  if (!timings || typeof timings !== "object") return;
  // Known stages in pipeline order with their own words, then any others the server adds.
  const known = ["rewrite", "retrieve", "rerank", "first_token", "generate", "total"];
  const keys = [...known, ...Object.keys(timings).filter((k) => !known.includes(k))];
  const parts = keys
    .filter((key) => typeof timings[key] === "number")
    .map(
      (key) => `${t(`timing.${key}`, {}, key.replace(/_/g, " "))} ${formatSeconds(timings[key])}`,
    );
  ui.timings.textContent = parts.length ? t("statusTimings", { stages: parts.join(" · ") }) : "";
  ui.timings.hidden = !parts.length;
}

/** Run `change`, then stay at the bottom if the reader was there (else leave them be). */
function keepScrolledToBottom(change) {
  const s = ui.scroller;
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  change();
  if (atBottom) s.scrollTop = s.scrollHeight;
}

// ---------------------------------------------------------------- the cited passage

function openPassage(turn, n, opener) {
  const source = turn.sources.get(n);
  if (!source) return;
  closePassage({ restoreFocus: false });
  state.opener = opener;
  const opened = (state.passageOpened += 1);

  ui.passageTitle.textContent = t("sourceTitle", { n });
  ui.passageSource.replaceChildren(h("span", { class: "passage__file" }, source.source));
  if (source.page != null) {
    ui.passageSource.append(h("span", { class: "passage__page" }, t("page", { n: source.page })));
  }
  if (source.origin === "ocr" || source.origin === "table") {
    const label = t(source.origin === "ocr" ? "originOcr" : "originTable");
    ui.passageSource.append(h("span", { class: "passage__origin" }, label));
  }
  ui.passageHeading.textContent = source.heading || "";
  ui.passageHeading.hidden = !source.heading;
  const text = typeof source.text === "string" ? source.text : "";
  const range = quoteRange(source, turn.final?.answer ?? "", n);
  ui.passageText.replaceChildren(...highlighted(text, range));
  ui.passageText.classList.remove("passage__text--document");

  for (const el of turn.el.querySelectorAll(`[data-n="${n}"]`)) {
    el.classList.add("is-active");
    if (el.classList.contains("cite")) el.setAttribute("aria-expanded", "true");
  }
  ui.passage.hidden = false;
  ui.app.classList.add("passage-open");
  scrollToMark();
  ui.passage.focus({ preventScroll: true });
  // Then the passage in its document (for a paged one, its page), when the server has it.
  if (source.document_id) {
    showInDocument(source, range, () => opened === state.passageOpened && !ui.passage.hidden);
  }
}

function scrollToMark() {
  const mark = ui.passageText.querySelector("mark") ?? ui.passageText.querySelector(".cited");
  ui.passageText.scrollTop = 0;
  if (mark) mark.scrollIntoView({ block: "center" });
}

async function showInDocument(source, range, stillOpen) {
  let doc;
  try {
    const kb = encodeURIComponent(kbs.current());
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
  ui.passageText.replaceChildren(
    part(from, start),
    h("span", { class: "cited" }, ...inner),
    part(end, to),
  );
  ui.passageText.classList.add("passage__text--document");
  ui.passageText.setAttribute("aria-label", t(page ? "documentPage" : "documentWhole"));
  scrollToMark();
}

function closePassage({ restoreFocus = true } = {}) {
  if (ui.passage.hidden) return;
  ui.passage.hidden = true;
  ui.app.classList.remove("passage-open");
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

// ---------------------------------------------------------------- status and knowledge base

async function loadStatus() {
  try {
    const info = await getJson(`/api/index?kb=${encodeURIComponent(kbs.current())}`);
    const model = shortModel(info.llm);
    const parts = [
      t("statusIndex", { index: info.index }),
      t("statusModel", { model }),
      t("statusCounts", { documents: info.documents, chunks: info.chunks }),
    ];
    ui.status.replaceChildren(
      h("span", { class: "status__dot", "aria-hidden": "true" }),
      parts.join(" · "),
    );
    ui.status.title = [
      `${info.index} ${info.version ?? ""}`.trim(),
      info.embedding_model,
      info.built_at ? formatDate(info.built_at) : "",
    ]
      .filter(Boolean)
      .join(" · ");
    ui.status.classList.remove("status--error");
  } catch (error) {
    ui.status.replaceChildren(
      h("span", { class: "status__dot", "aria-hidden": "true" }),
      t("statusUnavailable", { message: error.message }),
    );
    ui.status.classList.add("status--error");
  }
}

// "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (llama_cpp)"; a path shows only its file name.
function shortModel(llm) {
  if (!llm) return "?";
  const model = String(llm.model ?? "")
    .split(/[\\/]/)
    .pop();
  const backend = String(llm.backend ?? "");
  if (!model) return backend || "?";
  return !backend || model === backend ? model : `${model} (${backend})`;
}

// ---------------------------------------------------------------- wiring

function openKnowledgeBase() {
  ui.app.classList.add("kb-open");
  ui.kbToggle.setAttribute("aria-expanded", "true");
  kbs.reloadDocuments();
  ui.kbClose.focus();
}

function closeKnowledgeBase() {
  if (!ui.app.classList.contains("kb-open")) return;
  ui.app.classList.remove("kb-open");
  ui.kbToggle.setAttribute("aria-expanded", "false");
  ui.kbToggle.focus();
}

function newChat() {
  state.conversationId += 1;
  state.controller?.abort();
  state.history = [];
  closePassage({ restoreFocus: false });
  ui.conversation.replaceChildren();
  ui.empty.hidden = false;
  ui.question.value = "";
  autosize();
  ui.question.focus();
}

function submit() {
  const question = ui.question.value.trim();
  if (!question || state.controller) return;
  ui.question.value = "";
  autosize();
  ask(question);
}

function autosize() {
  ui.question.style.height = "auto";
  ui.question.style.height = `${Math.min(ui.question.scrollHeight, 200)}px`;
}

function wire() {
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  ui.question.addEventListener("keydown", (event) => {
    // isComposing: Enter that confirms a Chinese IME candidate must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
      return;
    }
    event.preventDefault();
    submit();
  });
  ui.question.addEventListener("input", autosize);
  ui.stop.addEventListener("click", () => state.controller?.abort());
  ui.newChat.addEventListener("click", newChat);
  ui.passageClose.addEventListener("click", () => closePassage());
  ui.kbToggle.addEventListener("click", openKnowledgeBase);
  ui.kbClose.addEventListener("click", closeKnowledgeBase);
  ui.backdrop.addEventListener("click", () => {
    closePassage();
    closeKnowledgeBase();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!ui.passage.hidden) closePassage();
    else closeKnowledgeBase();
  });
}

translatePage();
// Another knowledge base is another conversation; a rebuild changes the status counts.
const kbs = initKnowledgeBases({
  onChange: ({ kb }) => {
    if (kb && kb !== state.kb) {
      if (state.kb !== null) newChat();
      state.kb = kb;
    }
    loadStatus();
  },
});
const hitTest = initHitTest({ kb: () => kbs.current() });
// A server with API keys answers 401 until the key is given: ask for it once.
whenUnauthorized(() => {
  if (!ui.keyDialog.open) ui.keyDialog.showModal();
});
ui.keyForm.addEventListener("submit", () => {
  setApiKey(ui.keyInput.value.trim());
  ui.keyInput.value = "";
  kbs.start();
});
wire();
kbs.start();
ui.question.focus();
