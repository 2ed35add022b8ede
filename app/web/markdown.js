// A small Markdown renderer for answers: paragraphs, line breaks, headings, **bold**,
// `code`, fenced code, flat bullet/numbered lists and GFM pipe tables, plus [n] citations.
//
// It is safe by construction: it builds DOM nodes and puts every piece of model or document
// text in a text node, so no answer can ever become markup (there is no innerHTML anywhere).
// That is why it is kept instead of a full renderer such as markdown-it: those produce an
// HTML string that must then be parsed as markup, so their safety rests on options (html
// off) and on escaping being right in every rule; here there is no such step to get wrong.
// Links and images are deliberately not supported: an answer must not send the reader to
// an address the model made up.

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)/;
const LIST_ITEM = /^\s{0,3}(?:([-*+•])|(\d{1,9})[.)])\s+(.*)$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
// A table's delimiter row: | --- | :---: | ---: | (the outer pipes are optional).
const TABLE_RULE = /^\s{0,3}\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$/;
const MAX_COLUMNS = 50;

// A citation marker: [1], [1, 2] or 【1】 ([1][2] is two markers).
export const CITATION = /\[(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\]|【(\d{1,3})】/g;

/** The numbers of one CITATION match (its two groups), e.g. [1, 2] -> [1, 2]. */
export function citationNumbers(bracketed, fullWidth) {
  return (bracketed ?? fullWidth).split(/\s*[,，、]\s*/).map(Number);
}

// `code`, **bold** or a citation marker; the leftmost match wins.
const INLINE = new RegExp(
  /(`+)([\s\S]*?[^`])\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*|/.source + CITATION.source,
  "g",
);

/**
 * Render `text` into a DocumentFragment.
 *
 * `citation(n)` returns the node that stands for marker [n]; without it markers stay text.
 */
export function renderMarkdown(text, { citation } = {}) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? "")
    .replace(/\r\n?/g, "\n")
    .split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const closing = new RegExp(`^\\s{0,3}${fence[1][0]}{${fence[1].length},}\\s*$`);
      const body = [];
      i += 1;
      // An unclosed fence (still streaming) runs to the end of the text.
      while (i < lines.length && !closing.test(lines[i])) body.push(lines[i++]);
      i += 1;
      fragment.append(codeBlock(body.join("\n"), fence[2]));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(heading[1].length + 2, 6); // answers sit under the page's own h1/h2
      const el = document.createElement(`h${level}`);
      el.append(renderInline(heading[2], citation));
      fragment.append(el);
      i += 1;
      continue;
    }
    if (LIST_ITEM.test(line)) {
      i = renderList(lines, i, fragment, citation);
      continue;
    }
    if (startsTable(lines, i)) {
      i = renderTable(lines, i, fragment, citation);
      continue;
    }
    const paragraph = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !startsBlock(lines[i]) &&
      !(paragraph.length && startsTable(lines, i))
    )
      paragraph.push(lines[i++]);
    fragment.append(block("p", paragraph, citation));
  }
  return fragment;
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || LIST_ITEM.test(line);
}

// A header row with a pipe, then a delimiter row with as many cells.
function startsTable(lines, i) {
  const header = lines[i];
  const rule = lines[i + 1];
  if (rule === undefined || !header.includes("|") || !TABLE_RULE.test(rule)) return false;
  if (!rule.includes("|") && !/^\s*\|/.test(header)) return false;
  return tableCells(header).length === tableCells(rule).length;
}

/** The cells of one table row: outer pipes dropped, split at pipes not escaped (\|). */
function tableCells(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row
    .split(/(?<!\\)\|/)
    .slice(0, MAX_COLUMNS)
    .map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function renderTable(lines, start, fragment, citation) {
  const header = tableCells(lines[start]);
  const align = tableCells(lines[start + 1]).map((cell) =>
    cell.startsWith(":") && cell.endsWith(":")
      ? "center"
      : cell.endsWith(":")
        ? "right"
        : cell.startsWith(":")
          ? "left"
          : "",
  );
  const row = (cells, tag) => {
    const tr = document.createElement("tr");
    header.forEach((_, n) => {
      const cell = document.createElement(tag);
      if (align[n]) cell.style.textAlign = align[n];
      if (tag === "th") cell.scope = "col";
      cell.append(renderInline(cells[n] ?? "", citation));
      tr.append(cell);
    });
    return tr;
  };
  const table = document.createElement("table");
  const head = document.createElement("thead");
  head.append(row(header, "th"));
  const body = document.createElement("tbody");
  let i = start + 2;
  while (i < lines.length && lines[i].trim() && lines[i].includes("|") && !startsBlock(lines[i])) {
    body.append(row(tableCells(lines[i]), "td"));
    i += 1;
  }
  table.append(head, body);
  // Wide tables scroll inside the answer instead of widening the page.
  const wrap = document.createElement("div");
  wrap.className = "md-table";
  wrap.tabIndex = 0; // a scrollable region must be reachable by keyboard
  wrap.append(table);
  fragment.append(wrap);
  return i;
}

function codeBlock(code, language) {
  const pre = document.createElement("pre");
  const el = document.createElement("code");
  if (language) el.className = `language-${language.replace(/[^\w+-]/g, "")}`;
  el.textContent = code;
  pre.append(el);
  return pre;
}

/** One flat list; an item of the other kind, or a blank line not followed by an item, ends it. */
function renderList(lines, start, fragment, citation) {
  const first = LIST_ITEM.exec(lines[start]);
  const ordered = Boolean(first[2]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const match = LIST_ITEM.exec(line);
    if (match) {
      if (Boolean(match[2]) !== ordered) break;
      items.push([match[3]]);
      i += 1;
    } else if (!line.trim()) {
      let next = i + 1;
      while (next < lines.length && !lines[next].trim()) next += 1;
      const after = next < lines.length ? LIST_ITEM.exec(lines[next]) : null;
      if (!after || Boolean(after[2]) !== ordered) break;
      i = next;
    } else if (FENCE.test(line) || HEADING.test(line)) {
      break;
    } else {
      items.at(-1).push(line); // a continuation line of the current item
      i += 1;
    }
  }
  const list = document.createElement(ordered ? "ol" : "ul");
  if (ordered && Number(first[2]) !== 1) list.start = Number(first[2]);
  for (const itemLines of items) list.append(block("li", itemLines, citation));
  fragment.append(list);
  return i;
}

function block(tag, lines, citation) {
  const el = document.createElement(tag);
  el.append(renderLines(lines, citation));
  return el;
}

/** Lines joined by <br>, each rendered inline. */
function renderLines(lines, citation) {
  const fragment = document.createDocumentFragment();
  lines.forEach((line, index) => {
    if (index) fragment.append(document.createElement("br"));
    fragment.append(renderInline(line.trim(), citation));
  });
  return fragment;
}

/** Inline spans of one line: code, bold (which may hold citations) and citation markers. */
export function renderInline(text, citation) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) fragment.append(text.slice(last, match.index));
    const [whole, , code, bold, numbers, fullWidth] = match;
    if (code !== undefined) {
      const el = document.createElement("code");
      el.textContent = code.trim() || code;
      fragment.append(el);
    } else if (bold !== undefined) {
      const el = document.createElement("strong");
      el.append(renderInline(bold, citation));
      fragment.append(el);
    } else if (citation) {
      for (const n of citationNumbers(numbers, fullWidth)) fragment.append(citation(n));
    } else {
      fragment.append(whole);
    }
    last = match.index + whole.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
  return fragment;
}
