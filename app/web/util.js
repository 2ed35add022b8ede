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

/** GET (or any `init`) JSON; a failed status throws an Error with the server's message. */
export async function getJson(url, init = {}) {
  let response;
  try {
    response = await fetch(url, { ...init, headers: { Accept: "application/json", ...init.headers } });
  } catch {
    throw new Error(t("errorNetwork"));
  }
  if (!response.ok) {
    const error = new Error(await responseError(response));
    error.status = response.status;
    throw error;
  }
  return response.json();
}
