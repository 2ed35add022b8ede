// One question and its answer in the conversation: the stages until the first word, the
// streamed text, the checked reply (citations, refusal card, what the checks changed),
// and the actions on it (copy, ask again, edit the question; feedback in feedback.js).
//
// What the page around it does (asking, opening a passage, keeping the conversation) comes
// in as `host`, so this module only draws. Every piece of server text becomes text nodes.

import { formatSeconds, t } from "./i18n.js";
import { ratingControls } from "./feedback.js";
import { renderMarkdown } from "./markdown.js";
import { refusalCard } from "./refusal.js";
import { clip, h } from "./util.js";

const LABEL_CHARS = 40; // of the question, in the answer's accessible name

export class Turn {
  /** `host`: {ask, edit, editQuestion, openPassage, searchDocs, keepScrolled, showTimings,
   * titleOf, rate (null when feedback is not kept)}. */
  constructor(question, host) {
    this.question = question;
    this.host = host;
    this.text = "";
    this.tokens = 0;
    this.final = null;
    this.sources = new Map();
    this.ended = false;
    this.renderPending = false;
    this.started = performance.now();
    this.timer = null;
    this.storedId = null; // the turn's id on the server (or in the browser), once kept
    this.keeping = null; // the promise of keeping it, while that is under way
    this.feedback = null; // {rating, comment}

    const label = clip(question, LABEL_CHARS);
    this.editButton = h(
      "button",
      { type: "button", class: "msg__edit link", "aria-label": t("editQuestionLabel", { q: label }) },
      t("editQuestion"),
    );
    this.editButton.addEventListener("click", () => this.host.edit(this));
    this.userEl = h(
      "article",
      { class: "msg msg--user", "aria-label": t("youAsked", { q: label }) },
      h("div", { class: "msg__bubble" }, question),
      h("div", { class: "msg__user-actions" }, this.editButton),
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
        "aria-label": t("answerTo", { q: label }),
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

  /** A turn kept earlier, drawn as it was answered. */
  static restore(stored, host) {
    const turn = new Turn(stored.question, host);
    turn.storedId = stored.id;
    turn.feedback = stored.feedback ?? null;
    if (stored.reply?.query && stored.reply.query !== stored.question) {
      turn.stage({ stage: "retrieve", query: stored.reply.query });
    }
    turn.finish(stored.reply ?? {}, { restored: true });
    return turn;
  }

  remove() {
    this.stopClock();
    this.userEl.remove();
    this.el.remove();
  }

  stage(data) {
    if (!data || typeof data.stage !== "string") return;
    if (typeof data.query === "string" && data.query) {
      const edit = h("button", { type: "button", class: "link" }, t("editRewritten"));
      edit.addEventListener("click", () => this.host.editQuestion(data.query));
      this.rewrite.replaceChildren(t("rewritten", { query: data.query }), " ", edit);
      this.rewrite.hidden = false;
    }
    if (this.tokens || this.ended) return; // the words are there: they are the progress now
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
    this.host.keepScrolled(() => {
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
    const name = this.host.titleOf(source.source);
    const button = h(
      "button",
      {
        type: "button",
        class: "cite",
        "data-n": n,
        "aria-label": t("citationNamed", { n, name }),
        title: source.source,
        "aria-controls": "passage",
        "aria-expanded": "false",
      },
      String(n),
    );
    button.addEventListener("click", () => this.host.openPassage(this, n, button));
    return button;
  }

  end(stateName) {
    this.stopClock();
    this.ended = true;
    this.el.dataset.state = stateName;
    this.el.setAttribute("aria-busy", "false");
  }

  finish(final, { restored = false } = {}) {
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
    if (!restored) this.host.showTimings(final?.timings);
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
    this.host.keepQuestion(this.question);
    const retry = h("button", { type: "button", class: "refusal__action" }, t("retry"));
    retry.addEventListener("click", () => {
      retry.disabled = true;
      this.host.ask(this.question, { retry: true });
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

  // A refusal that helps (refusal.js): why, the closest passages, two ways on.
  showRefusal(final) {
    this.refusalCard.replaceChildren(...refusalCard(final, this.question, this.host));
    this.refusalCard.hidden = false;
  }

  showNotice(text, kind) {
    this.notice.textContent = text;
    this.notice.dataset.kind = kind;
    this.notice.hidden = false;
  }

  // Copy the answer (its text, markers and all); ask the same question again; rate it.
  actions() {
    const copy = h(
      "button",
      { type: "button", class: "refusal__action", "data-action": "copy" },
      t("copy"),
    );
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.final?.answer ?? this.text);
        copy.textContent = t("copied");
      } catch {
        copy.textContent = t("copyFailed");
      }
    });
    const again = h(
      "button",
      { type: "button", class: "refusal__action", "data-action": "regenerate" },
      t("regenerate"),
    );
    again.addEventListener("click", () => this.host.ask(this.question));
    const rating = this.host.rate ? ratingControls(this) : null;
    return h("div", { class: "msg__actions" }, copy, again, rating);
  }

  /** The turn is kept (server or browser): feedback can be given now. */
  kept(id) {
    this.storedId = id;
    this.enableRating?.();
  }

  renderFooter() {
    const sources = [...this.sources.values()].sort((a, b) => a.n - b.n);
    const parts = [];
    if (sources.length) {
      const chips = sources.map((source) => {
        const chip = h(
          "button",
          {
            type: "button",
            class: "chip",
            "aria-controls": "passage",
            "data-n": source.n,
            title: source.source,
          },
          h("span", { class: "chip__n" }, String(source.n)),
          h("span", { class: "chip__name" }, this.host.titleOf(source.source)),
          source.page == null
            ? null
            : h("span", { class: "chip__page" }, t("page", { n: source.page })),
        );
        chip.addEventListener("click", () => this.host.openPassage(this, source.n, chip));
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
