// The API as the page calls it: the API key (kept in localStorage) on every request, and errors turned
// into one readable line per field.

const KEY = "descent-key";

export const apiKey = () => localStorage.getItem(KEY) || "";
export const setApiKey = (key) => localStorage.setItem(KEY, key);
export const authHeaders = () => (apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {});

/** An error of the API: `lines` are what to show, `fields` the dotted paths they name. */
export class ApiError extends Error {
  constructor(status, lines, fields = []) {
    super(lines.join("\n"));
    this.status = status;
    this.lines = lines;
    this.fields = fields;
  }
}

/** The dotted field path of a 422 `loc` (["body", "base", "optimizer", "adam", "beta1"] → "optimizer.beta1"). */
export function fieldPath(loc) {
  const names = ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "builtin", "uploaded", "inline"];
  const parts = loc.filter((part, i) => !(i === 0 && ["body", "query", "header", "path"].includes(part)));
  if (parts[0] === "base") parts.shift();
  return parts.filter((part) => !names.includes(part) && !String(part).includes("[")).join(".");
}

/** One line per problem: "optimizer.learning_rate: Input should be greater than 0". */
export function errorLines(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    const seen = new Set();
    const items = [];
    for (const item of detail) {
      const path = fieldPath(item.loc || []);
      const msg = String(item.msg || "invalid").replace(/^Value error, /, "");
      const line = path ? `${path}: ${msg}` : msg;
      if (!seen.has(line)) items.push({ path, line });
      seen.add(line);
    }
    return items;
  }
  if (typeof detail === "string") return [{ path: "", line: detail }];
  return [{ path: "", line: `the server answered ${status}` }];
}

/** fetch `path` with the key; the parsed JSON (null for 204), or an ApiError. */
export async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  const options = { method, headers: { ...authHeaders(), ...headers } };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    options.body = body;
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    throw new ApiError(0, [`the server cannot be reached (${error.message})`]);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = null; }
  if (!response.ok) {
    const items = errorLines(response.status, parsed);
    if (response.status === 401) items.unshift({ path: "", line: "this server needs an API key (top right)" });
    throw new ApiError(response.status, items.map((i) => i.line), items.map((i) => i.path).filter(Boolean));
  }
  return parsed;
}

/** Escape text for HTML. */
export const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
