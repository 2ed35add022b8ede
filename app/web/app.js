// The chat page: ask, stream the answer, open cited passages, keep the conversation, show
// the knowledge base. This module wires the parts: turn.js draws one question and answer,
// chats.js keeps conversations, passage.js shows a cited passage, status.js the status line.
//
// No framework and no build step. Every piece of server text (answers, passages, file
// names, error messages) reaches the page through text nodes, never as HTML.

import { formatSeconds, t, translatePage } from "./i18n.js";
import { initChats } from "./chats.js";
import { editInPlace } from "./editor.js";
import { initHitTest } from "./hittest.js";
import { initKnowledgeBases } from "./kbs.js";
import { holdFocus } from "./modal.js";
import { closePassage, initPassage, openPassage, passageOpen } from "./passage.js";
import { ConnectionLost, readEvents } from "./sse.js";
import { initStatus } from "./status.js";
import { Turn } from "./turn.js";
import { apiKey, authHeaders, h, reportUnauthorized, responseError, setApiKey, whenUnauthorized } from "./util.js";

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
  examples: $("examples"),
  exampleList: $("example-list"),
  conversation: $("conversation"),
  composer: $("composer"),
  question: $("question"),
  send: $("send"),
  stop: $("stop"),
  backdrop: $("backdrop"),
  keyDialog: $("key-dialog"),
  keyForm: $("key-form"),
  keyInput: $("key-input"),
};

const state = {
  turns: [], // the Turns on screen, oldest first
  controller: null, // AbortController of the answer in flight
  conversation: 0, // bumped when another conversation is shown, so a late answer stays out
  kb: null, // the knowledge base the conversation is about
};

// ---------------------------------------------------------------- asking

// The completed, answered turns before `upTo` as the history the server folds in.
// Refusals stay out: they carry nothing, and the server folds earlier questions into the
// retrieval query.
function history(upTo = state.turns.length) {
  return state.turns
    .slice(0, upTo)
    .filter((turn) => turn.final && !turn.final.refused)
    .flatMap((turn) => [
      { role: "user", content: turn.question },
      { role: "assistant", content: turn.final.answer },
    ])
    .slice(-MAX_HISTORY_MESSAGES);
}

async function ask(question, { retry = false } = {}) {
  if (state.controller) return; // one answer at a time
  if (retry && ui.question.value === question) ui.question.value = "";
  ui.empty.hidden = true;
  const turn = new Turn(question, host);
  const shown = state.conversation;
  const past = history();
  state.turns.push(turn);
  ui.conversation.append(turn.userEl, turn.el);
  ui.scroller.scrollTop = ui.scroller.scrollHeight;

  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  const sentKey = apiKey();
  // The conversation is made on its first question; where it is kept does not hold up
  // the answer.
  const chatId = chats.ensure(question).catch(() => null);
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
        body: JSON.stringify({ question, kb: kbs.current(), history: past, stream: true }),
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
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
  // Answers and refusals are kept; a stopped or failed one is not (it can be asked again).
  const id = await chatId;
  if (turn.final && id && shown === state.conversation) turn.keeping = keep(turn, id);
}

async function keep(turn, id) {
  try {
    turn.kept(await chats.addTurn(id, turn.question, turn.final));
  } catch (error) {
    turn.showNotice(t("keepFailed", { message: error.message }), "error");
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

// Edit an earlier question in place and ask it again: that turn and every later one go
// (here and where the conversation is kept), as in the chat tools people know.
function editTurn(turn) {
  if (state.controller) return;
  editInPlace(turn, async (question) => {
    const at = state.turns.indexOf(turn);
    if (at < 0 || state.controller) return;
    const gone = state.turns.splice(at);
    for (const old of gone) old.remove();
    closePassage({ restoreFocus: false });
    const id = chats.current();
    // A turn still being kept would land after the cut and come back: wait for it first.
    await Promise.all(gone.map((old) => old.keeping));
    const first = gone.find((old) => old.storedId);
    if (id && first) await chats.truncate(id, first.storedId).catch(() => {});
    ask(question);
  });
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

// Put a question in the box to be edited and asked again.
function editQuestion(text) {
  ui.question.value = text;
  ui.question.focus();
  ui.question.dispatchEvent(new Event("input"));
}

// What a turn asks of the page around it.
const host = {
  ask,
  edit: editTurn,
  editQuestion,
  keepQuestion(question) {
    if (!ui.question.value.trim()) ui.question.value = question;
  },
  openPassage,
  searchDocs: (question) => hitTest.show(question),
  keepScrolled: keepScrolledToBottom,
  showTimings,
  titleOf: (source) => kbs.titleOf(source),
  get rate() {
    if (!chats.feedback()) return null;
    return (turn, rating, comment) => chats.rate(chats.current(), turn.storedId, rating, comment);
  },
};

// ---------------------------------------------------------------- conversations

// Show a kept conversation (null: an empty one), as it was answered. The one reopened
// after a reload or a change of knowledge base is not shown over a question asked since.
function showConversation(detail, { restore = false } = {}) {
  if (restore && state.turns.length) return false;
  state.conversation += 1;
  state.controller?.abort();
  for (const turn of state.turns) turn.remove();
  state.turns = [];
  closePassage({ restoreFocus: false });
  ui.conversation.replaceChildren();
  for (const stored of detail?.turns ?? []) {
    const turn = Turn.restore(stored, host);
    state.turns.push(turn);
    ui.conversation.append(turn.userEl, turn.el);
  }
  ui.empty.hidden = state.turns.length > 0;
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
  if (detail) closeKnowledgeBase({ restoreFocus: false });
  return true;
}

function newChat() {
  chats.startNew();
  showConversation(null);
  ui.question.value = "";
  autosize();
  ui.question.focus();
}

// Three or four questions drawn from the knowledge base's headings, one click each.
function showExamples(info) {
  const examples = Array.isArray(info?.examples) ? info.examples : [];
  ui.exampleList.replaceChildren(
    ...examples.map((question) => {
      const button = h("button", { type: "button", class: "example" }, question);
      button.addEventListener("click", () => ask(question));
      return h("li", {}, button);
    }),
  );
  ui.examples.hidden = !examples.length;
}

// ---------------------------------------------------------------- wiring

function openKnowledgeBase() {
  ui.app.classList.add("kb-open");
  ui.kbToggle.setAttribute("aria-expanded", "true");
  holdFocus(ui.kb);
  kbs.reloadDocuments();
  ui.kbClose.focus();
}

function closeKnowledgeBase({ restoreFocus = true } = {}) {
  if (!ui.app.classList.contains("kb-open")) return;
  ui.app.classList.remove("kb-open");
  ui.kbToggle.setAttribute("aria-expanded", "false");
  holdFocus(null);
  if (restoreFocus) ui.kbToggle.focus();
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
  ui.kbToggle.addEventListener("click", openKnowledgeBase);
  ui.kbClose.addEventListener("click", () => closeKnowledgeBase());
  ui.backdrop.addEventListener("click", () => {
    closePassage();
    closeKnowledgeBase();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (passageOpen()) closePassage();
    else closeKnowledgeBase();
  });
  // A drawer opened on a narrow window stays the only thing in focus until closed; one
  // that the window grew around is a side panel again.
  window.addEventListener("resize", () => {
    if (passageOpen()) holdFocus(ui.app.querySelector(".passage"));
    else if (ui.app.classList.contains("kb-open")) holdFocus(ui.kb);
  });
}

translatePage();
const chats = initChats({ onOpen: showConversation });
const status = initStatus({ el: ui.status, kb: () => kbs.current(), onIndex: showExamples });
// Another knowledge base has other conversations; a rebuild changes the status counts.
const kbs = initKnowledgeBases({
  onChange: ({ kb }) => {
    if (kb && kb !== state.kb) {
      // Said at once: a question asked from now on is about the new knowledge base.
      if (state.kb !== null) showConversation(null);
      state.kb = kb;
      chats.start(kb);
    }
    status.loadIndex();
  },
  onDocuments: () => {
    for (const turn of state.turns) {
      if (turn.final) {
        turn.render();
        turn.renderFooter();
      }
    }
  },
});
initPassage({ kb: () => kbs.current(), titleOf: (source) => kbs.titleOf(source) });
const hitTest = initHitTest({ kb: () => kbs.current() });
// A server with API keys answers 401 until the key is given: ask for it once.
whenUnauthorized(() => {
  if (!ui.keyDialog.open) ui.keyDialog.showModal();
});
ui.keyForm.addEventListener("submit", () => {
  setApiKey(ui.keyInput.value.trim());
  ui.keyInput.value = "";
  state.kb = null; // the conversations too are read again with the key
  kbs.start();
});
wire();
kbs.start();
status.start();
ui.question.focus();
