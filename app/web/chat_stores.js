// Where conversations are kept: on the server (/api/conversations) or, when it keeps
// none, in this browser's localStorage. Both answer the same calls (list, get, create,
// rename, remove, addTurn, truncate; rate on the server only: `feedback` says which).

import { t } from "./i18n.js";
import { clip, getJson } from "./util.js";

const LOCAL_KEY = "notesqa.chats."; // + kb: the browser-only conversations
const TITLE_CHARS = 120; // as the server clips them (app/chat_records.py)
const LOCAL_TURNS = 200; // per conversation in the browser (localStorage is ~5 MB)

const titleOf = (question) => clip(question, TITLE_CHARS);

function newId() {
  return crypto.randomUUID?.() ?? `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
}

export class ServerChats {
  constructor(kb) {
    this.kb = kb;
    this.feedback = true;
  }

  url(path = "") {
    return `/api/conversations${path}?kb=${encodeURIComponent(this.kb)}`;
  }

  send(path, method, body) {
    return getJson(this.url(path), {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  async list() {
    return (await getJson(this.url())).conversations;
  }

  async get(id) {
    return getJson(this.url(`/${encodeURIComponent(id)}`));
  }

  create(title) {
    return this.send("", "POST", { title }); // the server makes it a title
  }

  rename(id, title) {
    return this.send(`/${encodeURIComponent(id)}`, "PATCH", { title });
  }

  remove(id) {
    return this.send(`/${encodeURIComponent(id)}`, "DELETE");
  }

  async addTurn(id, question, reply) {
    return (await this.send(`/${encodeURIComponent(id)}/turns`, "POST", { question, reply })).id;
  }

  truncate(id, turnId) {
    return this.send(`/${encodeURIComponent(id)}/turns/${encodeURIComponent(turnId)}`, "DELETE");
  }

  rate(id, turnId, rating, comment) {
    const path = `/${encodeURIComponent(id)}/turns/${encodeURIComponent(turnId)}/feedback`;
    return this.send(path, "PUT", { rating, comment });
  }
}

export class BrowserChats {
  constructor(kb) {
    this.kb = kb;
    this.feedback = false; // feedback is for the team: only a server keeps it
  }

  read() {
    try {
      const data = JSON.parse(localStorage.getItem(LOCAL_KEY + this.kb) || "[]");
      return Array.isArray(data) ? data : [];
    } catch {
      return [];
    }
  }

  write(chats) {
    try {
      localStorage.setItem(LOCAL_KEY + this.kb, JSON.stringify(chats));
    } catch {
      throw new Error(t("chatsFull"));
    }
  }

  change(id, fn) {
    const chats = this.read();
    const chat = chats.find((c) => c.id === id);
    if (!chat) throw new Error(t("chatGone"));
    const result = fn(chat, chats);
    chat.updated_at = new Date().toISOString();
    this.write(chats);
    return result;
  }

  summary(chat) {
    const { turns, ...rest } = chat;
    return { ...rest, turns: turns.length };
  }

  async list() {
    return this.read()
      .sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)))
      .map((c) => this.summary(c));
  }

  async get(id) {
    const chat = this.read().find((c) => c.id === id);
    if (!chat) throw Object.assign(new Error(t("chatGone")), { status: 404 });
    return { conversation: this.summary(chat), turns: chat.turns };
  }

  async create(title) {
    const now = new Date().toISOString();
    const chat = { id: newId(), title: titleOf(title), created_at: now, updated_at: now, turns: [] };
    this.write([...this.read(), chat]);
    return this.summary(chat);
  }

  async rename(id, title) {
    return this.change(id, (chat) => {
      chat.title = titleOf(title);
    });
  }

  async remove(id) {
    this.write(this.read().filter((c) => c.id !== id));
  }

  async addTurn(id, question, reply) {
    return this.change(id, (chat) => {
      const turn = { id: newId(), question, reply, created_at: new Date().toISOString() };
      chat.turns = [...chat.turns, turn].slice(-LOCAL_TURNS);
      return turn.id;
    });
  }

  async truncate(id, turnId) {
    this.change(id, (chat) => {
      const at = chat.turns.findIndex((turn) => turn.id === turnId);
      if (at >= 0) chat.turns = chat.turns.slice(0, at);
    });
  }
}

