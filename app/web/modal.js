// A side panel shown over the page (the knowledge-base drawer on narrow screens, the
// passage sheet on a phone) holds the focus while it is open: everything else is made
// inert (a screen reader sees only the panel), and Tab and Shift+Tab wrap around inside
// it instead of leaving for the browser's own controls. Wide screens show the panels
// beside the conversation: nothing is held there. Open dialogs (hit testing, the API
// key) are modal, which makes the rest inert; Tab wraps inside them the same way.

const OTHERS = ".skip-link, .app > .kb, .app > .chat, .app > .passage";
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

let held = null;

/** Make every panel but `open` inert when `open` covers the page; `null` frees them all. */
export function holdFocus(open) {
  const backdrop = document.getElementById("backdrop");
  const covering = Boolean(open && getComputedStyle(backdrop).display !== "none");
  for (const el of document.querySelectorAll(OTHERS)) el.inert = covering && el !== open;
  held = covering ? open : null;
}

function focusables(panel) {
  return [...panel.querySelectorAll(FOCUSABLE)].filter(
    (el) => !el.closest("[hidden]") && el.getClientRects().length > 0,
  );
}

document.addEventListener("keydown", (event) => {
  const panel = document.querySelector("dialog[open]") ?? held;
  if (event.key !== "Tab" || !panel) return;
  const items = focusables(panel);
  if (!items.length) {
    event.preventDefault();
    panel.focus();
    return;
  }
  const first = items[0];
  const last = items.at(-1);
  const inside = panel.contains(document.activeElement);
  const atStart = document.activeElement === first || document.activeElement === panel;
  if (event.shiftKey && (!inside || atStart)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (!inside || document.activeElement === last)) {
    event.preventDefault();
    first.focus();
  }
});
