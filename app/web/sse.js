// Reading a `text/event-stream` answer: the events of a fetch body, as {type, data}.

/**
 * The events of a `text/event-stream` body, as {type, data} with `data` parsed from JSON
 * (null when it is not JSON). Works across chunk boundaries and with \r\n line endings.
 */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new ConnectionLost(error.message);
      }
      const { value, done } = chunk;
      if (done) break;
      // A trailing \r may be the first half of \r\n: keep it until the next chunk.
      buffer = (buffer + value).replace(/\r\n|\r(?!$)/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) yield event;
      }
    }
    const last = parseEvent(buffer.replace(/\r$/, ""));
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseEvent(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // comments are keep-alives
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { type, data: JSON.parse(data.join("\n")) };
  } catch {
    return { type, data: null };
  }
}

// A network failure while reading the answer (not a bug in this page).
export class ConnectionLost extends Error {}
