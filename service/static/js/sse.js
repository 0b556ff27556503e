// Server-Sent Events read with fetch (an EventSource cannot send the API key): each event is handed to
// `onEvent(name, data, id)`; a dropped stream is joined again with Last-Event-ID, so nothing is missed or
// repeated, until the server answers 204 (everything was sent) or `close()` is called.

const RETRY_MS = 1500;

function parseBlock(block) {
  const event = { id: null, name: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") event.id = value;
    else if (field === "event") event.name = value;
    else if (field === "data") event.data.push(value);
  }
  return event.data.length ? event : null;
}

/** Follow the stream at `url`; returns `{ close() }`. `onEnd()` runs once when the server has no more. */
export function follow(url, headers, onEvent, { onEnd = () => {}, onError = () => {} } = {}) {
  const controller = new AbortController();
  let lastId = null;
  let closed = false;

  async function once() {
    const response = await fetch(url, {
      headers: { ...headers, Accept: "text/event-stream", ...(lastId ? { "Last-Event-ID": lastId } : {}) },
      signal: controller.signal,
      cache: "no-store",
    });
    if (response.status === 204) return "done";
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      onError(new Error(`${url}: ${response.status}`));
      return "done"; // asking again would get the same answer
    }
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "again";
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!event) continue;
        if (event.id !== null) lastId = event.id;
        try {
          onEvent(event.name, JSON.parse(event.data.join("\n")), event.id);
        } catch (error) {
          console.error(error); // a bug of the page: shown, and the stream goes on
        }
      }
    }
  }

  (async () => {
    while (!closed) {
      try {
        if ((await once()) === "done") break;
      } catch (error) {
        if (closed) return;
        onError(error);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    if (!closed) onEnd();
  })();

  return { close() { closed = true; controller.abort(); } };
}
