// Small helpers the page's modules share: building elements, reading the server's replies.
//
// Every piece of server text reaches the page through text nodes (h's children), never
// as HTML.

import { t } from "./i18n.js";

/** Create an element; attributes via `attrs`, children as nodes or strings (text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== ""));
  return el;
}

/**
 * `list.replaceChildren(...items)`, keeping a keyboard user's focus: lists are drawn again
 * when the server's state changes (a turn kept, a document list reloaded), and a focused
 * button that is replaced drops the focus to <body>, out of a drawer that holds it. The
 * same control (its `prefix`-named class) of the same row (`data-id`) gets it back; if
 * that one is gone, the list's first button.
 */
export function redraw(list, items, prefix) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const id = focused?.closest("[data-id]")?.dataset.id;
  const kind = [...(focused?.classList ?? [])].find((name) => name.startsWith(prefix));
  list.replaceChildren(...items);
  if (!focused) return;
  const row = id ? list.querySelector(`[data-id="${CSS.escape(id)}"]`) : null;
  const again = (kind && row?.querySelector(`.${CSS.escape(kind)}`)) || list.querySelector("button");
  again?.focus();
}

/** `text` on one line, clipped to `n` characters (code points) with "…". */
export function clip(text, n) {
  const chars = Array.from(String(text ?? "").replace(/\s+/g, " ").trim());
  return chars.length > n ? `${chars.slice(0, n - 1).join("")}…` : chars.join("");
}

/** A readable sentence for a failed response: the body's error.message when there is one. */
export async function responseError(response) {
  let message = "";
  try {
    const body = await response.json();
    message = body?.error?.message ?? detailMessage(body?.detail) ?? "";
  } catch {
    // not JSON: fall back to the status line
  }
  return message
    ? t("errorHttp", { status: response.status, message })
    : t("errorHttpNoBody", { status: response.status, statusText: response.statusText });
}

// FastAPI's own validation errors arrive as {"detail": [...]} if a route escapes the handler.
function detailMessage(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) return detail.map((d) => d?.msg ?? "").join("; ");
  return null;
}

const KEY = "notesqa.apiKey"; // kept for the browser session only
let unauthorized = () => {};

/** The API key the user gave for this browser session ("" when none). */
export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** Headers that carry the API key, when there is one. */
export function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** What to do when the server asks for an API key (a 401 on a request sent with it). */
export function whenUnauthorized(handler) {
  unauthorized = handler;
}

/** A 401 asks for the key only when it answers the key in use now: a request sent
 * before the user gave one must not reopen the dialog they just closed. */
export function reportUnauthorized(sentKey) {
  if (sentKey === apiKey()) unauthorized();
}

/** GET (or any `init`) JSON; a failed status throws an Error with the server's message. */
export async function getJson(url, init = {}) {
  const own = Boolean(init.headers?.Authorization); // the admin token, sent on purpose
  const sentKey = apiKey();
  let response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { Accept: "application/json", ...authHeaders(), ...init.headers },
    });
  } catch {
    throw new Error(t("errorNetwork"));
  }
  if (!response.ok) {
    const error = new Error(await responseError(response));
    error.status = response.status;
    if (response.status === 401 && !own) reportUnauthorized(sentKey);
    throw error;
  }
  return response.json();
}
