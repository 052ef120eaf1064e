// Small DOM helpers: elements from data (never from HTML strings, so payloads cannot inject
// markup), number formats, and the collapsible JSON tree.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "style") Object.assign(el.style, value); // CSSOM: allowed by the CSP
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function mount(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return parent;
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function fmtNum(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return "–";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 3 });
}

// A point id typed by the user: an unsigned integer or a UUID (sent as a string).
export function parseId(text) {
  const trimmed = String(text).trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

export function errorBox(message) {
  return h("p", { class: "error", role: "alert" }, message);
}

// Pretty JSON, each object and array collapsible (<details>), open down to `openDepth`.
export function jsonTree(value, openDepth = 1, depth = 0) {
  if (value === null || typeof value !== "object") {
    return h("span", { class: `json-${value === null ? "null" : typeof value}` }, JSON.stringify(value));
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0) return h("span", { class: "json-empty" }, isArray ? "[]" : "{}");
  const summary = isArray ? `[…] ${entries.length} items` : `{…} ${entries.length} keys`;
  const rows = entries.map(([k, v]) =>
    h("div", { class: "json-row" }, isArray ? null : h("span", { class: "json-key" }, `${JSON.stringify(k)}: `),
      jsonTree(v, openDepth, depth + 1)),
  );
  return h("details", { class: "json", open: depth < openDepth }, h("summary", {}, summary), ...rows);
}

// A <select> of the collections, filled from GET /collections; calls onChange(name).
// The toolbar of a page about one collection: a picker of `collections` (GET /collections's).
export function collectionToolbar(collections, selected, onChange) {
  return h("div", { class: "toolbar" }, collectionSelect(collections.map((c) => c.name), selected, onChange));
}

function collectionSelect(names, selected, onChange) {
  const select = h(
    "select",
    { id: "collection-select", onchange: () => onChange(select.value) },
    h("option", { value: "" }, names.length ? "— choose a collection —" : "no collections yet"),
    ...names.map((n) => h("option", { value: n, selected: n === selected }, n)),
  );
  return h("label", {}, "Collection ", select);
}

// The names of a collection's dense vectors from its config ("" is the unnamed one).
export function denseVectorNames(info) {
  const vectors = info?.config?.params?.vectors;
  if (!vectors) return [];
  if (typeof vectors.size === "number") return [""];
  return Object.keys(vectors);
}

export function sparseVectorNames(info) {
  return Object.keys(info?.config?.params?.sparse_vectors ?? {});
}
