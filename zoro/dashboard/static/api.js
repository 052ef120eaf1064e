// The REST API as the dashboard uses it: every call carries the API key the user typed in
// (kept in sessionStorage, so it dies with the tab), and a refusal asks for the key again.

const KEY = "zoro-api-key";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let authListener = () => {};
export function onAuthNeeded(listener) {
  authListener = listener;
}

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

function headers(extra) {
  const out = { ...extra };
  const key = apiKey();
  if (key) out["api-key"] = key;
  return out;
}

// The `result` of an enveloped answer (or the whole JSON document, or text for text answers).
// Throws ApiError with the server's message verbatim.
export async function api(method, path, body, options = {}) {
  const init = { method, headers: headers(), signal: options.signal };
  if (body instanceof Blob) {
    init.body = body;
    init.headers["content-type"] = "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (options.raw && response.ok) return response;
  const text = await response.text();
  let doc = null;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = null;
  }
  if (!response.ok) {
    const message = doc?.status?.error ?? (text || response.statusText);
    const error = new ApiError(response.status, message);
    if (response.status === 401 || response.status === 403) authListener(error);
    throw error;
  }
  if (doc === null) return text;
  return doc && typeof doc === "object" && "result" in doc ? doc.result : doc;
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body, options) => api("POST", path, body, options);
export const put = (path, body, options) => api("PUT", path, body, options);
export const del = (path, options) => api("DELETE", path, undefined, options);

export function collectionPath(name, rest = "") {
  return `/collections/${encodeURIComponent(name)}${rest}`;
}

// A file download that needs the key in a header: fetched, then handed to the browser.
export async function download(path, filename) {
  const response = await api("GET", path, undefined, { raw: true });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
