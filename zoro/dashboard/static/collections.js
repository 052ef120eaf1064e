// Collections: every collection with its state, sizes and settings; create and delete.

import { ApiError, collectionPath, del, get, put } from "/dashboard/api.js";
import { confirmAction, go } from "/dashboard/app.js";
import { errorBox, fmtBytes, fmtNum, h, mount } from "/dashboard/dom.js";

const REFRESH_MS = 10_000;
const DISTANCES = ["Cosine", "Dot", "Euclid", "Manhattan"];
const PAYLOAD_TYPES = ["keyword", "integer", "float", "bool", "uuid", "datetime", "geo", "text"];

// A collection that cannot serve answers 503 with the reason: recovering or failed.
export function stateOf(error) {
  const message = error?.message ?? "";
  if (/ is recovering/.test(message)) return { status: "recovering", reason: message };
  const failed = message.match(/ has failed: ([\s\S]*)$/);
  if (failed) return { status: "failed", reason: failed[1] };
  return { status: "unavailable", reason: message };
}

export function vectorSummary(params) {
  const parts = [];
  const vectors = params?.vectors;
  const one = (name, v) => {
    const multi = v.multivector_config ? " multi" : "";
    return `${name === "" ? "(unnamed)" : name}: ${v.size}d ${v.distance}${multi}${v.on_disk ? " on disk" : ""}`;
  };
  if (vectors && typeof vectors.size === "number") parts.push(one("", vectors));
  else for (const [name, v] of Object.entries(vectors ?? {})) parts.push(one(name, v));
  for (const [name, s] of Object.entries(params?.sparse_vectors ?? {})) {
    parts.push(`${name}: sparse${s.modifier === "idf" ? " idf" : ""}`);
  }
  return parts.length ? parts : ["no vectors (payload only)"];
}

async function describe(name) {
  try {
    return { name, info: await get(collectionPath(name)) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) return { name, ...stateOf(error) };
    return { name, status: "error", reason: error.message };
  }
}

function statusCell(row) {
  const status = row.info ? row.info.status : row.status;
  return h("td", {}, h("span", { class: `badge ${status}` }, status),
    row.reason ? h("div", { class: "reason" }, row.reason) : null);
}

function row(item, reload, message) {
  const actions = h("td", { class: "actions" },
    h("button", { type: "button", class: "link", onclick: () => go("points", { c: item.name }) }, "browse"),
    h("button", { type: "button", class: "link", onclick: () => go("search", { c: item.name }) }, "search"),
    h("button", {
      type: "button",
      class: "link danger",
      "data-delete": item.name,
      onclick: async () => {
        const sure = await confirmAction(
          `Delete the collection “${item.name}” and every point in it? This cannot be undone.`,
        );
        if (!sure) return;
        try {
          await del(collectionPath(item.name));
          mount(message, h("p", { class: "ok" }, `Deleted “${item.name}”.`));
        } catch (error) {
          mount(message, errorBox(error.message));
        }
        reload();
      },
    }, "delete"),
  );
  const info = item.info;
  if (!info) {
    return h("tr", { "data-collection": item.name }, h("td", {}, item.name), statusCell(item),
      h("td", { colspan: 6 }, ""), actions);
  }
  const indexes = Object.entries(info.payload_schema ?? {}).map(([k, v]) => `${k}: ${v.data_type}`);
  return h("tr", { "data-collection": item.name },
    h("td", {}, h("a", { href: `#/points?c=${encodeURIComponent(item.name)}` }, item.name)),
    statusCell(item),
    h("td", { class: "num" }, fmtNum(info.points_count)),
    h("td", { class: "num" }, fmtNum(info.indexed_vectors_count)),
    h("td", {}, vectorSummary(info.config?.params).map((p) => h("div", {}, p))),
    h("td", { class: "num" }, fmtBytes(info.zoro?.disk_bytes)),
    h("td", { class: "num" }, fmtBytes(info.zoro?.memory_bytes)),
    h("td", {}, indexes.length ? indexes.map((p) => h("div", {}, p)) : h("span", { class: "muted" }, "none")),
    actions,
  );
}

async function table(holder, reload, message) {
  const { collections } = await get("/collections");
  const rows = await Promise.all(collections.map((c) => describe(c.name)));
  mount(holder, h("table", { id: "collections-table" },
    h("thead", {}, h("tr", {}, ...["Name", "Status", "Points", "Indexed vectors", "Vectors", "Disk",
      "Memory", "Payload indexes", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.length ? rows.map((r) => row(r, reload, message))
      : h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No collections yet: create one below."))),
  ));
  performance.mark("zoro:collections-rendered");
}

// --- the create form

function vectorRow(sparse) {
  const fields = sparse
    ? [h("input", { name: "name", placeholder: "name", required: true, size: 10 }),
       h("label", {}, h("input", { type: "checkbox", name: "idf" }), " idf")]
    : [h("input", { name: "name", placeholder: "(unnamed)", size: 10 }),
       h("input", { name: "size", type: "number", min: 1, required: true, placeholder: "size", class: "short" }),
       h("select", { name: "distance" }, ...DISTANCES.map((d) => h("option", {}, d))),
       h("label", {}, h("input", { type: "checkbox", name: "multi" }), " multivector"),
       h("label", {}, h("input", { type: "checkbox", name: "on_disk" }), " on disk")];
  const line = h("div", { class: sparse ? "sparse-row" : "vector-row" }, ...fields,
    h("button", { type: "button", class: "link", onclick: () => line.remove() }, "remove"));
  return line;
}

// The create request's body from the form, as the API takes it.
function createBody(form) {
  const body = {};
  const dense = [...form.querySelectorAll(".vector-row")].map((r) => ({
    name: r.querySelector("[name=name]").value.trim(),
    size: Number(r.querySelector("[name=size]").value),
    distance: r.querySelector("[name=distance]").value,
    multi: r.querySelector("[name=multi]").checked,
    on_disk: r.querySelector("[name=on_disk]").checked,
  }));
  const params = (v) => ({
    size: v.size,
    distance: v.distance,
    ...(v.multi ? { multivector_config: { comparator: "max_sim" } } : {}),
    ...(v.on_disk ? { on_disk: true } : {}),
  });
  if (dense.length === 1 && dense[0].name === "") body.vectors = params(dense[0]);
  else if (dense.length) body.vectors = Object.fromEntries(dense.map((v) => [v.name, params(v)]));
  const sparse = [...form.querySelectorAll(".sparse-row")];
  if (sparse.length) {
    body.sparse_vectors = Object.fromEntries(sparse.map((r) => [
      r.querySelector("[name=name]").value.trim(),
      r.querySelector("[name=idf]").checked ? { modifier: "idf" } : {},
    ]));
  }
  const hnsw = {};
  for (const key of ["m", "ef_construct", "full_scan_threshold"]) {
    const value = form.elements[key].value;
    if (value !== "") hnsw[key] = Number(value);
  }
  if (Object.keys(hnsw).length) body.hnsw_config = hnsw;
  const zoro = {};
  if (form.elements.engine.value !== "hnsw") zoro.engine = form.elements.engine.value;
  if (form.elements.ef_search.value !== "") zoro.ef_search = Number(form.elements.ef_search.value);
  if (Object.keys(zoro).length) body.zoro = zoro;
  const metadata = form.elements.metadata.value.trim();
  if (metadata) body.metadata = parseObject(metadata, "metadata");
  // any other option of the API (optimizers_config, a vector's own hnsw_config...), merged in
  const extra = form.elements.extra.value.trim();
  return extra ? { ...body, ...parseObject(extra, "other options") } : body;
}

function parseObject(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what}: not JSON: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${what}: must be a JSON object`);
  }
  return value;
}

function createForm(reload) {
  const vectors = h("div", { class: "rows" }, vectorRow(false));
  const sparse = h("div", { class: "rows" });
  const preview = h("pre", { class: "code", id: "create-preview" });
  const message = h("div", { id: "create-message" });
  const form = h("form", { id: "create-form", class: "card" },
    h("h2", {}, "Create a collection"),
    h("label", {}, "Name ", h("input", { name: "collection", required: true, id: "create-name" })),
    h("fieldset", {}, h("legend", {}, "Dense vectors"), vectors,
      h("button", { type: "button", class: "link", onclick: () => { vectors.append(vectorRow(false)); update(); } }, "+ dense vector")),
    h("fieldset", {}, h("legend", {}, "Sparse vectors"), sparse,
      h("button", { type: "button", class: "link", onclick: () => { sparse.append(vectorRow(true)); update(); } }, "+ sparse vector")),
    h("fieldset", {}, h("legend", {}, "Index"),
      h("label", {}, "engine ", h("select", { name: "engine" }, h("option", {}, "hnsw"), h("option", {}, "flat"))),
      h("label", {}, " m ", h("input", { name: "m", type: "number", min: 2, class: "short" })),
      h("label", {}, " ef_construct ", h("input", { name: "ef_construct", type: "number", min: 4, class: "short" })),
      h("label", {}, " full_scan_threshold ", h("input", { name: "full_scan_threshold", type: "number", min: 0, class: "short" })),
      h("label", {}, " ef_search ", h("input", { name: "ef_search", type: "number", min: 1, class: "short" }))),
    h("label", { class: "block" }, "Metadata (JSON object, optional)",
      h("textarea", { name: "metadata", rows: 2, placeholder: '{"team": "search"}' })),
    h("label", { class: "block" }, "Other options (JSON object merged into the request, optional)",
      h("textarea", { name: "extra", rows: 2, placeholder: '{"optimizers_config": {"deleted_threshold": 0.3}}' })),
    h("details", {}, h("summary", {}, "Request body"), preview),
    h("button", { type: "submit", id: "create-submit" }, "Create"),
    message,
  );
  function update() {
    try {
      preview.textContent = JSON.stringify(createBody(form), null, 2);
    } catch (error) {
      preview.textContent = error.message;
    }
  }
  form.addEventListener("input", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.collection.value.trim();
    try {
      const body = createBody(form);
      await put(collectionPath(name), body);
      mount(message, h("p", { class: "ok" }, `Created “${name}”.`));
      reload();
    } catch (error) {
      mount(message, errorBox(error.message));
    }
  });
  update();
  return form;
}

// A payload index on a collection (PUT /collections/{name}/index).
function indexForm(reload) {
  const message = h("div");
  const form = h("form", { class: "card", id: "index-form" },
    h("h2", {}, "Add a payload index"),
    h("label", {}, "Collection ", h("input", { name: "collection", required: true })),
    h("label", {}, " key ", h("input", { name: "field", required: true })),
    h("label", {}, " type ", h("select", { name: "schema" }, ...PAYLOAD_TYPES.map((t) => h("option", {}, t)))),
    h("button", { type: "submit" }, "Create index"), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const els = form.elements;
    try {
      await put(collectionPath(els.collection.value.trim(), "/index?wait=true"),
        { field_name: els.field.value.trim(), field_schema: els.schema.value });
      mount(message, h("p", { class: "ok" }, "Index created."));
      reload();
    } catch (error) {
      mount(message, errorBox(error.message));
    }
  });
  return form;
}

export async function render(root) {
  const holder = h("div", { id: "collections-holder" }, h("p", { class: "muted" }, "Loading…"));
  const message = h("div", { id: "collections-message" });
  const reload = () => table(holder, reload, message).catch((error) => mount(holder, errorBox(error.message)));
  mount(root, h("h1", {}, "Collections"), message, holder, h("div", { class: "grid2" }, createForm(reload), indexForm(reload)));
  await reload();
  const timer = setInterval(() => { if (!document.hidden) reload(); }, REFRESH_MS);
  return () => clearInterval(timer);
}
