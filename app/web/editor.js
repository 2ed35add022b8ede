// A question edited in place: its bubble becomes a text box with Send and Cancel (Enter
// sends, Shift+Enter is a new line, Escape cancels, an IME's Enter only confirms).

import { t } from "./i18n.js";
import { h } from "./util.js";

/** Edit `turn`'s question; `onSend(question)` when sent with some text. */
export function editInPlace(turn, onSend) {
  const box = h("textarea", { class: "msg__editor", rows: "2", "aria-label": t("editQuestion") });
  box.value = turn.question;
  const send = h("button", { type: "submit", class: "button button--primary" }, t("send"));
  const cancel = h("button", { type: "button", class: "button button--ghost" }, t("cancel"));
  const form = h(
    "form",
    { class: "msg__edit-form" },
    box,
    h("div", { class: "msg__edit-actions" }, cancel, send),
  );
  const bubble = turn.userEl.querySelector(".msg__bubble");
  const actions = turn.userEl.querySelector(".msg__user-actions");
  bubble.hidden = actions.hidden = true;
  turn.userEl.append(form);
  box.focus();
  const restore = () => {
    form.remove();
    bubble.hidden = actions.hidden = false;
    turn.editButton.focus();
  };
  cancel.addEventListener("click", restore);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      restore();
    } else if (
      event.key === "Enter" &&
      !event.shiftKey &&
      !event.isComposing &&
      event.keyCode !== 229
    ) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = box.value.trim();
    if (question) onSend(question);
  });
}
