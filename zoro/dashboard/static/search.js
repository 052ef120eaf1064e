// Search playground: nearest points to a stored point or to a pasted vector, with limit, ef,
// exact and a filter; the hits with their scores; the same request as code to copy.

import { apiKey, collectionPath, get, post } from "/dashboard/api.js";
import { go } from "/dashboard/app.js";
import { collectionToolbar, denseVectorNames, errorBox, h, jsonTree, mount, parseId, sparseVectorNames } from "/dashboard/dom.js";
import { parseFilter } from "/dashboard/points.js";
import { curl, qdrantClient, zoroClient } from "/dashboard/snippets.js";

// Zoro's server has no embedder: text is embedded by the client (zoro.client.MiniLMEmbedder).
export const TEXT_SEARCH_REASON =
  "This server has no text embedder configured: Zoro embeds text in the client " +
  "(zoro.client.MiniLMEmbedder, client.search_text). Search by a point id or paste a vector.";

export function parseVector(text) {
  let value;
  try {
    value = JSON.parse(text.trim().startsWith("[") || text.trim().startsWith("{") ? text : `[${text}]`);
  } catch (error) {
    throw new Error(`The vector is not JSON: ${error.message}`);
  }
  const flat = Array.isArray(value) ? value.flat() : null;
  if (!Array.isArray(value) && !(value && Array.isArray(value.indices))) {
    throw new Error("The vector must be a list of numbers (or {\"indices\", \"values\"} for sparse)");
  }
  if (flat && !flat.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new Error("The vector must hold finite numbers only");
  }
  return value;
}

function codeBlock(title, text, id) {
  const pre = h("pre", { class: "code", id }, text);
  const copy = h("button", { type: "button", class: "link", onclick: async () => {
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = "copied";
    } catch {
      getSelection().selectAllChildren(pre); // no clipboard access: select it for Ctrl-C
    }
  } }, "copy");
  return h("div", { class: "snippet" }, h("div", { class: "snippet-title" }, title, " ", copy), pre);
}

export async function render(root, params) {
  const { collections } = await get("/collections");
  const name = params.get("c") ?? "";
  mount(root, h("h1", {}, "Search"),
    collectionToolbar(collections, name, (n) => go("search", { c: n })));
  if (!name) return undefined;
  const info = await get(collectionPath(name));
  const usings = [...denseVectorNames(info), ...sparseVectorNames(info)];

  const mode = (value, label, disabled) => h("label", { title: disabled ? TEXT_SEARCH_REASON : null },
    h("input", { type: "radio", name: "mode", value, checked: value === "id", disabled }), ` ${label} `);
  const form = h("form", { id: "search-form", class: "card" },
    h("div", {}, mode("id", "by point id"), mode("vector", "by vector"), mode("text", "by text", true)),
    h("p", { class: "hint", id: "text-reason" }, TEXT_SEARCH_REASON),
    h("label", { class: "block" }, "Point id, or vector (JSON list)",
      h("textarea", { name: "query", id: "search-query", rows: 3, spellcheck: false })),
    usings.length > 1 || (usings.length === 1 && usings[0] !== "")
      ? h("label", {}, "using ", h("select", { name: "using" }, ...usings.map((u) => h("option", { value: u }, u || "(unnamed)"))))
      : null,
    h("label", {}, " limit ", h("input", { name: "limit", type: "number", value: 10, min: 1, max: 10000, class: "short" })),
    h("label", {}, " ef ", h("input", { name: "ef", type: "number", min: 1, class: "short", placeholder: "default" })),
    h("label", {}, " ", h("input", { type: "checkbox", name: "exact" }), " exact"),
    h("label", { class: "block" }, "Filter (optional)",
      h("textarea", { name: "filter", id: "search-filter", rows: 3, spellcheck: false })),
    h("button", { type: "submit", id: "search-submit" }, "Search"),
  );
  const results = h("div", { id: "search-results" });
  const code = h("div", { id: "search-code" });
  root.append(h("div", { class: "grid2" }, form, code), results);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const els = form.elements;
    let body;
    try {
      const text = els.query.value.trim();
      if (!text) throw new Error("Give a point id or a vector.");
      body = { query: els.mode.value === "id" ? parseId(text) : parseVector(text) };
      if (els.using && els.using.value) body.using = els.using.value;
      body.limit = Number(els.limit.value || 10);
      const filter = parseFilter(els.filter.value);
      if (filter) body.filter = filter;
      const search = {};
      if (els.ef.value) search.hnsw_ef = Number(els.ef.value);
      if (els.exact.checked) search.exact = true;
      if (Object.keys(search).length) body.params = search;
      body.with_payload = true;
    } catch (error) {
      mount(results, errorBox(error.message));
      return;
    }
    const origin = location.origin;
    const keyed = Boolean(apiKey());
    mount(code, codeBlock("curl", curl(origin, name, body, keyed), "code-curl"),
      codeBlock("Python: qdrant-client", qdrantClient(origin, name, body, keyed), "code-qdrant"),
      codeBlock("Python: Zoro's client", zoroClient(origin, name, body, keyed), "code-zoro"));
    const started = performance.now();
    try {
      const { points } = await post(collectionPath(name, "/points/query"), body);
      const ms = Math.round(performance.now() - started);
      mount(results, h("p", { class: "muted" }, `${points.length} hits in ${ms} ms`),
        h("table", { id: "hits" },
          h("thead", {}, h("tr", {}, ...["#", "id", "score", "payload"].map((t) => h("th", {}, t)))),
          h("tbody", {}, points.map((p, i) => h("tr", { "data-point": String(p.id) },
            h("td", {}, i + 1),
            h("td", {}, h("a", { href: `#/points?c=${encodeURIComponent(name)}&id=${encodeURIComponent(p.id)}` }, String(p.id))),
            h("td", { class: "num score" }, p.score.toFixed(4)),
            h("td", {}, jsonTree(p.payload ?? {}, 1)))))));
    } catch (error) {
      mount(results, errorBox(error.message));
    }
  });
  return undefined;
}
