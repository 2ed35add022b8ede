// The status line: the knowledge base's index and counts (from /api/index, on each change
// of knowledge base or rebuild) and whether the server can answer now (/readyz, polled),
// with the answer model's short name. A dead server turns it red within one poll.

import { formatDate, t } from "./i18n.js";
import { getJson, h } from "./util.js";

const POLL_MS = 10_000;

// "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (llama_cpp)"; a path shows only its file name.
export function shortModel(model, backend = "") {
  const name = String(model ?? "")
    .split(/[\\/]/)
    .pop()
    .replace(/^[a-z_]+:/, ""); // "llama_cpp:file.gguf" as the worker names it
  if (!name) return backend || "?";
  return !backend || name === backend ? name : `${name} (${backend})`;
}

/** `onIndex(info)` gets each /api/index reply (example questions live there). */
export function initStatus({ el, kb, onIndex }) {
  const state = { info: null, ready: null, timer: null };

  function draw() {
    const { info, ready } = state;
    const dot = h("span", { class: "status__dot", "aria-hidden": "true" });
    if (ready && !ready.ok) {
      el.replaceChildren(dot, t("statusDown", { message: ready.message }));
      el.classList.add("status--error");
      el.dataset.state = ready.state;
      return;
    }
    if (!info) return;
    const model = ready?.model ? shortModel(ready.model) : shortModel(info.llm?.model, info.llm?.backend);
    el.replaceChildren(
      dot,
      [
        t("statusIndex", { index: info.index }),
        t("statusModel", { model }),
        t("statusCounts", { documents: info.documents, chunks: info.chunks }),
      ].join(" · "),
    );
    el.title = [
      `${info.index} ${info.version ?? ""}`.trim(),
      info.embedding_model,
      info.built_at ? formatDate(info.built_at) : "",
    ]
      .filter(Boolean)
      .join(" · ");
    el.classList.remove("status--error");
    el.dataset.state = "ready";
  }

  async function loadIndex() {
    try {
      state.info = await getJson(`/api/index?kb=${encodeURIComponent(kb())}`);
      onIndex(state.info);
      draw();
    } catch (error) {
      state.info = null;
      onIndex(null);
      el.replaceChildren(
        h("span", { class: "status__dot", "aria-hidden": "true" }),
        t("statusUnavailable", { message: error.message }),
      );
      el.classList.add("status--error");
      el.dataset.state = "error";
    }
  }

  async function poll() {
    let next;
    try {
      const response = await fetch("/readyz", { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      next = response.ok
        ? { ok: true, model: body.model }
        : { ok: false, state: body.status || "error", message: body.reason || body.error?.message || String(response.status) };
    } catch {
      next = { ok: false, state: "unreachable", message: t("errorNetwork") };
    }
    const recovered = state.ready && !state.ready.ok && next.ok;
    state.ready = next;
    if (recovered) await loadIndex(); // a restarted server may serve another version
    else draw();
  }

  function start() {
    if (state.timer === null) state.timer = setInterval(poll, POLL_MS);
    poll();
  }

  return { loadIndex, start, poll };
}
