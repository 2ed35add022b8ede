// Conversations that last: kept on the server (/api/conversations, per knowledge base and
// API key) so a reload or another device finds them, or, when the server does not keep
// them (server.conversations: browser, or a read-only index folder: a 503), in this
// browser's localStorage. The list in the side panel opens, renames and deletes them.

import { BrowserChats, ServerChats } from "./chat_stores.js";
import { t } from "./i18n.js";
import { h, redraw } from "./util.js";

const OPEN_KEY = "notesqa.chat."; // + kb: the conversation open in this browser

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- the list

/**
 * `onOpen(detail|null, {restore})` shows a conversation (null: a new, empty one); it
 * returns false to decline a restore (the page is in use already). Returns the
 * conversations of the current knowledge base: `start(kb)`, `ensure(question)` (the open
 * one's id, made on the first question), `addTurn`, `truncate`, `rate`, `feedback()`.
 */
export function initChats({ onOpen }) {
  const ui = { list: $("chat-list"), state: $("chat-state"), mode: $("chat-mode") };
  const state = { kb: null, store: null, open: null, items: [] };
  let ready = Promise.resolve();

  const sayError = (message) => {
    ui.state.textContent = t("chatsError", { message });
    ui.state.dataset.kind = "error";
    ui.state.hidden = false;
  };

  const remember = (id) => {
    if (id) localStorage.setItem(OPEN_KEY + state.kb, id);
    else localStorage.removeItem(OPEN_KEY + state.kb);
  };

  async function pickStore(kb) {
    const server = new ServerChats(kb);
    try {
      return { store: server, items: await server.list() };
    } catch (error) {
      if (error.status !== 503 && error.status !== 404) throw error;
      const browser = new BrowserChats(kb);
      return { store: browser, items: await browser.list() };
    }
  }

  // The knowledge base's conversations, and the one open in this browser reopened. The
  // page is cleared by its caller at once; a question asked before this has finished
  // belongs to a new conversation (ensure waits for it), and the saved one is then not
  // reopened over it.
  function start(kb) {
    state.kb = kb;
    state.open = null;
    ready = (async () => {
      try {
        ({ store: state.store, items: state.items } = await pickStore(kb));
      } catch (error) {
        state.store = new BrowserChats(kb);
        state.items = await state.store.list();
        sayError(error.message);
      }
      ui.mode.hidden = state.store instanceof ServerChats;
      const saved = localStorage.getItem(OPEN_KEY + kb);
      if (saved && state.items.some((c) => c.id === saved)) await open(saved, { restore: true });
      draw();
    })();
    return ready;
  }

  async function refresh() {
    try {
      state.items = await state.store.list();
      ui.state.dataset.kind = "";
    } catch {
      // the list stays as it was; the next change tries again
    }
    draw();
  }

  async function open(id, { restore = false } = {}) {
    let detail;
    try {
      detail = await state.store.get(id);
    } catch (error) {
      sayError(error.message);
      return;
    }
    if (onOpen(detail, { restore }) === false) return; // the page moved on meanwhile
    state.open = id;
    remember(id);
    draw();
  }

  function startNew() {
    state.open = null;
    remember(null);
    draw();
  }

  async function ensure(question) {
    await ready;
    if (state.open) return state.open;
    const made = await state.store.create(question);
    state.open = made.id;
    remember(made.id);
    await refresh();
    return made.id;
  }

  function item(chat) {
    const current = chat.id === state.open;
    const openButton = h(
      "button",
      {
        type: "button",
        class: "convo__open",
        "aria-current": current ? "true" : null,
        title: chat.title,
      },
      chat.title,
    );
    openButton.addEventListener("click", () => open(chat.id));
    const rename = h(
      "button",
      { type: "button", class: "icon-button convo__rename", "aria-label": t("renameChat", { title: chat.title }), title: t("rename") },
      h("span", { "aria-hidden": "true" }, "✎"),
    );
    const remove = h(
      "button",
      { type: "button", class: "icon-button convo__delete", "aria-label": t("deleteChat", { title: chat.title }), title: t("delete") },
      h("span", { "aria-hidden": "true" }, "×"),
    );
    const li = h("li", { class: "convo", "data-id": chat.id }, openButton, rename, remove);
    rename.addEventListener("click", () => editTitle(li, chat));
    remove.addEventListener("click", () => confirmDelete(li, chat, remove));
    return li;
  }

  function editTitle(li, chat) {
    const input = h("input", { class: "kb__input convo__title", value: chat.title, "aria-label": t("chatTitle"), maxlength: "2000" });
    const form = h("form", { class: "convo__form" }, input);
    const done = async (save) => {
      const title = input.value.trim();
      if (save && title && title !== chat.title) {
        try {
          await state.store.rename(chat.id, title);
        } catch (error) {
          sayError(error.message);
        }
      }
      await refresh();
      ui.list.querySelector(`[data-id="${CSS.escape(chat.id)}"] .convo__rename`)?.focus();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      done(true);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        done(false);
      }
    });
    li.replaceChildren(form);
    input.focus();
    input.select();
  }

  // Two steps, no modal: the button asks "delete?" and a second press deletes.
  function confirmDelete(li, chat, button) {
    if (button.dataset.confirm !== "1") {
      button.dataset.confirm = "1";
      button.classList.add("convo__delete--confirm");
      button.replaceChildren(t("confirmDeleteChat"));
      setTimeout(() => {
        if (!button.isConnected) return;
        button.dataset.confirm = "";
        button.classList.remove("convo__delete--confirm");
        button.replaceChildren(h("span", { "aria-hidden": "true" }, "×"));
      }, 4000);
      return;
    }
    state.store
      .remove(chat.id)
      .then(async () => {
        if (state.open === chat.id) {
          state.open = null;
          remember(null);
          onOpen(null);
        }
        await refresh();
      })
      .catch((error) => {
        sayError(error.message);
      });
  }

  function draw() {
    redraw(ui.list, state.items.map(item), "convo__"); // drawn again when a turn is kept
    const empty = !state.items.length;
    if (empty || ui.state.dataset.kind !== "error") {
      ui.state.textContent = empty ? t("chatsEmpty") : "";
      ui.state.hidden = !empty;
    }
  }

  return {
    start,
    startNew,
    ensure,
    current: () => state.open,
    feedback: () => Boolean(state.store?.feedback),
    async addTurn(id, question, reply) {
      const turnId = await state.store.addTurn(id, question, reply);
      await refresh();
      return turnId;
    },
    truncate: (id, turnId) => state.store.truncate(id, turnId),
    rate: (id, turnId, rating, comment) => state.store.rate(id, turnId, rating, comment),
  };
}
