// Thumbs up or down on an answer, with an optional comment: kept on the server with the
// turn (and exported as evaluation items, app/feedback_export.py). Disabled until the
// turn is kept; a second press on the pressed thumb takes the rating back.

import { t } from "./i18n.js";
import { h } from "./util.js";

// Thumbs drawn as SVG: an emoji needs a colour-emoji font the machine may not have.
const THUMB =
  "M2 10h3v10H2zM7 20h9.5a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 18 9h-5l.8-4.2A1.6 1.6 0 0 0 11 4L7 10z";

function thumb(down) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  if (down) svg.style.transform = "rotate(180deg)";
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", THUMB);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.8");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}

export function ratingControls(turn) {
  const box = h("div", { class: "feedback", role: "group", "aria-label": t("feedbackLabel") });
  const comment = h("form", { class: "feedback__comment", hidden: true });
  const input = h("input", {
    class: "kb__input",
    maxlength: "4000",
    "aria-label": t("feedbackComment"),
    placeholder: t("feedbackComment"),
  });
  comment.append(
    input,
    h("button", { type: "submit", class: "refusal__action" }, t("feedbackSend")),
  );
  const status = h("span", { class: "feedback__status", role: "status" });
  const buttons = ["up", "down"].map((rating) => {
    const button = h(
      "button",
      {
        type: "button",
        class: "refusal__action feedback__button",
        "data-rating": rating,
        "aria-pressed": String(turn.feedback?.rating === rating),
        "aria-label": t(rating === "up" ? "feedbackUp" : "feedbackDown"),
        title: t(rating === "up" ? "feedbackUp" : "feedbackDown"),
        disabled: turn.storedId ? null : true,
      },
      thumb(rating === "down"),
    );
    button.addEventListener("click", () => {
      const again = turn.feedback?.rating === rating; // a second click takes it back
      send(again ? null : rating, "");
      comment.hidden = again;
      if (!again) input.focus();
    });
    return button;
  });
  const send = async (rating, text) => {
    try {
      await turn.host.rate(turn, rating, text);
      turn.feedback = rating ? { rating, comment: text } : null;
      for (const b of buttons) {
        b.setAttribute("aria-pressed", String(b.dataset.rating === rating));
      }
      status.textContent = rating ? t(text ? "feedbackThanksComment" : "feedbackThanks") : "";
    } catch (error) {
      status.textContent = t("feedbackFailed", { message: error.message });
    }
  };
  comment.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!turn.feedback) return;
    send(turn.feedback.rating, input.value.trim());
    comment.hidden = true;
  });
  turn.enableRating = () => {
    for (const b of buttons) b.disabled = false;
  };
  box.append(...buttons, comment, status);
  return box;
}

