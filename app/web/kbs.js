// The knowledge-base panel: pick a knowledge base, see its documents, and (when the server
// has an admin token) upload, delete and rebuild with visible progress.
//
// The admin token is asked once and kept for the browser session (sessionStorage), never
// in the page's address or in localStorage.

import { formatDate, t } from "./i18n.js";
import { getJson, h, redraw } from "./util.js";

const KB_KEY = "notesqa.kb";
const TOKEN_KEY = "notesqa.adminToken";
const POLL_MS = 500;

const $ = (id) => document.getElementById(id);

/** `onChange({kb})` when another knowledge base is picked; `onDocuments()` when its
 * documents (and so their titles) have loaded. */
export function initKnowledgeBases({ onChange, onDocuments = () => {} }) {
  const ui = {
    select: $("kb-select"),
    state: $("kb-state"),
    list: $("kb-list"),
    admin: $("kb-admin"),
    tokenRow: $("kb-token-row"),
    token: $("kb-token"),
    tokenSave: $("kb-token-save"),
    drop: $("kb-drop"),
    files: $("kb-files"),
    rebuild: $("kb-rebuild"),
    progress: $("kb-progress"),
    message: $("kb-message"),
    create: $("kb-create"),
    newName: $("kb-new-name"),
  };
  const state = {
    kb: localStorage.getItem(KB_KEY) || "default",
    admin: false,
    polling: false,
    titles: new Map(), // source -> title (first heading or first line), once indexed
  };

  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  const kbUrl = (path = "") => `/api/kbs/${encodeURIComponent(state.kb)}${path}`;

  function say(text, kind = "info") {
    ui.message.textContent = text;
    ui.message.dataset.kind = kind;
    ui.message.hidden = !text;
  }

  function showTokenRow() {
    ui.tokenRow.hidden = false;
    ui.token.focus();
  }

  /** A changing request with the admin token; a rejected token is forgotten. */
  async function admin(url, init) {
    if (!token()) {
      showTokenRow();
      throw new Error(t("adminTokenNeeded"));
    }
    try {
      return await getJson(url, {
        ...init,
        headers: { Authorization: `Bearer ${token()}`, ...(init.headers ?? {}) },
      });
    } catch (error) {
      if (error.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        showTokenRow();
      }
      throw error;
    }
  }

  async function loadKbs() {
    try {
      const { kbs, admin: on } = await getJson("/api/kbs");
      state.admin = on;
      if (!kbs.some((kb) => kb.name === state.kb)) state.kb = "default";
      ui.select.replaceChildren(
        ...kbs.map((kb) =>
          h("option", { value: kb.name, selected: kb.name === state.kb }, kb.name),
        ),
      );
      ui.admin.hidden = !on;
      ui.tokenRow.hidden = !on || Boolean(token());
    } catch (error) {
      ui.select.replaceChildren(h("option", { value: state.kb }, state.kb));
      say(error.message, "error");
    }
  }

  async function loadDocuments() {
    try {
      const { documents } = await getJson(kbUrl("/documents"));
      const titles = new Map(documents.filter((d) => d.title).map((d) => [d.source, d.title]));
      // The conversation is drawn again only when names changed (not on every reload
      // of the list: opening the drawer reloads it).
      const changed =
        titles.size !== state.titles.size ||
        [...titles].some(([source, title]) => state.titles.get(source) !== title);
      state.titles = titles;
      if (changed) onDocuments();
      redraw(ui.list, documents.map(documentItem), "doc__"); // opening the drawer reloads it
      ui.state.hidden = documents.length > 0;
      ui.state.textContent = documents.length ? "" : t(state.admin ? "documentsEmptyAdmin" : "documentsEmpty");
      ui.state.classList.remove("kb__state--error");
    } catch (error) {
      ui.list.replaceChildren();
      ui.state.hidden = false;
      ui.state.textContent = t("documentsError", { message: error.message });
      ui.state.classList.add("kb__state--error");
    }
  }

  function documentItem(doc) {
    const meta = [];
    if (doc.chunks) meta.push(t("chunks", { n: doc.chunks }));
    if (doc.pages != null) meta.push(t("pages", { n: doc.pages }));
    if (typeof doc.size === "number") meta.push(formatBytes(doc.size));
    const remove = state.admin
      ? h(
          "button",
          {
            type: "button",
            class: "icon-button doc__delete",
            "aria-label": t("deleteDocument", { name: doc.source }),
            title: t("deleteDocument", { name: doc.source }),
          },
          h("span", { "aria-hidden": "true" }, "×"),
        )
      : null;
    remove?.addEventListener("click", () => deleteDocument(doc));
    return h(
      "li",
      { class: "doc", "data-status": doc.status, "data-id": doc.id },
      h("span", { class: "doc__icon", "aria-hidden": "true" }),
      h(
        "div",
        { class: "doc__text" },
        h("p", { class: "doc__name", title: doc.source }, doc.title || doc.source),
        doc.title ? h("p", { class: "doc__file" }, doc.source) : null,
        doc.status === "indexed"
          ? null
          : h("p", { class: `doc__status doc__status--${doc.status}` }, t(`status.${doc.status}`)),
        meta.length ? h("p", { class: "doc__meta" }, meta.join(" · ")) : null,
        doc.indexed_at
          ? h(
              "p",
              { class: "doc__meta" },
              h("time", { datetime: doc.indexed_at }, t("indexedAt", { date: formatDate(doc.indexed_at) })),
            )
          : null,
      ),
      remove,
    );
  }

  async function deleteDocument(doc) {
    if (!window.confirm(t("confirmDelete", { name: doc.source }))) return;
    try {
      const reply = await admin(kbUrl(`/documents/${encodeURIComponent(doc.id)}?rebuild=true`), {
        method: "DELETE",
      });
      say(t("deleted", { name: reply.deleted }));
      await loadDocuments();
      if (reply.rebuild) await pollRebuild();
    } catch (error) {
      say(error.message, "error");
    }
  }

  async function upload(fileList) {
    const files = [...fileList];
    if (!files.length) return;
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    say(t("uploading", { n: files.length }));
    try {
      const reply = await admin(kbUrl("/documents?rebuild=true"), { method: "POST", body: form });
      say(t("uploaded", { names: reply.saved.join(", ") }));
      await loadDocuments();
      if (reply.rebuild) await pollRebuild();
    } catch (error) {
      say(error.message, "error");
    } finally {
      ui.files.value = "";
    }
  }

  async function rebuild() {
    try {
      await admin(kbUrl("/rebuild"), { method: "POST" });
      await pollRebuild();
    } catch (error) {
      say(error.message, "error");
    }
  }

  /** Follow the running rebuild until it ends, drawing each stage's progress. */
  async function pollRebuild() {
    if (state.polling) return;
    state.polling = true;
    ui.rebuild.disabled = true;
    try {
      for (;;) {
        const status = await getJson(kbUrl("/rebuild"));
        drawProgress(status);
        if (status.state !== "running") {
          if (status.state === "done") {
            const r = status.report;
            say(
              t("rebuilt", {
                added: r.added.length,
                updated: r.updated.length,
                removed: r.removed.length,
                failed: r.failed.length,
              }),
              r.failed.length ? "error" : "info",
            );
          } else if (status.state === "failed") {
            say(t("rebuildFailed", { message: status.error?.message ?? "?" }), "error");
          }
          await loadDocuments();
          onChange({ rebuilt: true });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      say(error.message, "error");
    } finally {
      state.polling = false;
      ui.rebuild.disabled = false;
    }
  }

  function drawProgress(status) {
    const running = status.state === "running";
    ui.progress.hidden = !running && !status.stages.length;
    ui.progress.replaceChildren(
      ...status.stages.map((stage) =>
        h(
          "div",
          { class: "stage", "data-stage": stage.name },
          h("span", { class: "stage__name" }, t(`stage.${stage.name}`, {}, stage.name)),
          h("progress", {
            max: Math.max(stage.total, 1),
            value: stage.total ? stage.done : 1,
            "aria-label": t(`stage.${stage.name}`, {}, stage.name),
          }),
          h("span", { class: "stage__count" }, `${stage.done}/${stage.total}`),
          running && stage.eta_s > 0
            ? h("span", { class: "stage__eta" }, t("stageEta", { s: Math.ceil(stage.eta_s) }))
            : null,
        ),
      ),
    );
  }

  async function createKb(name) {
    try {
      const kb = await admin("/api/kbs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name }),
      });
      ui.newName.value = "";
      say(t("created", { name: kb.name, folder: kb.docs_dir }));
      await select(kb.name);
    } catch (error) {
      say(error.message, "error");
    }
  }

  async function select(name) {
    state.kb = name;
    localStorage.setItem(KB_KEY, name);
    // Said at once, not after the lists load: a question asked meanwhile belongs to the
    // new knowledge base's conversation and must not be cleared when they arrive.
    onChange({ kb: name });
    await loadKbs();
    if (state.kb !== name) onChange({ kb: state.kb }); // it was deleted: back to default
    await loadDocuments();
    // A rebuild started elsewhere (another tab, the API) shows its progress here too.
    const status = await getJson(kbUrl("/rebuild")).catch(() => null);
    if (status?.state === "running") pollRebuild();
    else if (status) drawProgress({ ...status, stages: [] });
  }

  ui.select.addEventListener("change", () => select(ui.select.value));
  ui.tokenSave.addEventListener("click", () => {
    const value = ui.token.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    ui.token.value = "";
    ui.tokenRow.hidden = true;
    say(t("tokenSaved"));
    loadDocuments();
  });
  ui.files.addEventListener("change", () => upload(ui.files.files));
  ui.drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    ui.drop.classList.add("is-over");
  });
  ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("is-over"));
  ui.drop.addEventListener("drop", (event) => {
    event.preventDefault();
    ui.drop.classList.remove("is-over");
    upload(event.dataTransfer?.files ?? []);
  });
  ui.rebuild.addEventListener("click", rebuild);
  ui.create.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.newName.value.trim();
    if (name) createKb(name);
  });

  return {
    current: () => state.kb,
    // What to call a document: its title when indexed with one, else its file name.
    titleOf: (source) => state.titles.get(source) || source,
    start: () => select(state.kb),
    reloadDocuments: loadDocuments,
  };
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
