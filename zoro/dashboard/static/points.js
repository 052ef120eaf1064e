// Points browser: one page of a scroll at a time (the next page's offset comes from the
// server, earlier pages' offsets are remembered), a filter, the count of matches, retrieve
// by id, vectors on demand, and deleting the points ticked.

import { collectionPath, get, post } from "/dashboard/api.js";
import { confirmAction, go } from "/dashboard/app.js";
import { collectionToolbar, errorBox, fmtNum, h, jsonTree, mount, parseId } from "/dashboard/dom.js";

const PAGE_SIZES = [10, 20, 50, 100];

// The filter editor's text as a filter: null when empty; throws with a message when not JSON.
export function parseFilter(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`The filter is not JSON: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("The filter must be a JSON object, such as {\"must\": [...]}");
  }
  return value;
}

function vectorView(vector) {
  return h("pre", { class: "vector" }, JSON.stringify(vector));
}

function pointRow(state, point) {
  const vectorCell = h("td", {}, h("button", {
    type: "button",
    class: "link",
    onclick: async () => {
      try {
        const record = await get(collectionPath(state.name, `/points/${encodeURIComponent(point.id)}`));
        mount(vectorCell, vectorView(record.vector ?? null));
      } catch (error) {
        mount(vectorCell, errorBox(error.message));
      }
    },
  }, "show"));
  return h("tr", { "data-point": String(point.id) },
    h("td", {}, h("input", { type: "checkbox", class: "pick", value: JSON.stringify(point.id) })),
    h("td", { class: "id" }, String(point.id)),
    h("td", {}, jsonTree(point.payload ?? {}, 1)),
    vectorCell,
  );
}

async function loadPage(state, view) {
  const body = { limit: state.pageSize, with_payload: true, with_vector: false };
  if (state.offsets[state.page] !== null) body.offset = state.offsets[state.page];
  if (state.filter) body.filter = state.filter;
  const started = performance.now();
  const result = await post(collectionPath(state.name, "/points/scroll"), body);
  state.offsets[state.page + 1] = result.next_page_offset;
  state.loadedPages += 1;
  const rows = result.points.map((p) => pointRow(state, p));
  mount(view.rows, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No points.")));
  view.prev.disabled = state.page === 0;
  view.next.disabled = result.next_page_offset === null || result.next_page_offset === undefined;
  view.where.textContent = `page ${state.page + 1} · ${result.points.length} points · ${Math.round(performance.now() - started)} ms`;
  document.body.dataset.pagesLoaded = String(state.loadedPages);
}

async function count(state, view) {
  const body = { exact: true };
  if (state.filter) body.filter = state.filter;
  const result = await post(collectionPath(state.name, "/points/count"), body);
  view.count.textContent = `${fmtNum(result.count)} ${state.filter ? "matching points" : "points"}`;
}

export async function render(root, params) {
  const { collections } = await get("/collections");
  const name = params.get("c") ?? "";
  mount(root, h("h1", {}, "Points"),
    collectionToolbar(collections, name, (n) => go("points", { c: n })));
  if (!name) return undefined;

  const state = { name, pageSize: 20, page: 0, offsets: [null], filter: null, loadedPages: 0 };
  const filterText = h("textarea", { id: "filter", rows: 5, spellcheck: false,
    placeholder: '{"must": [{"key": "lang", "match": {"value": "en"}}]}' });
  const filterError = h("div", { id: "filter-error" });
  const view = {
    rows: h("tbody", { id: "points-rows" }),
    prev: h("button", { type: "button", id: "prev-page" }, "← previous"),
    next: h("button", { type: "button", id: "next-page" }, "next →"),
    where: h("span", { id: "page-info", class: "muted" }),
    count: h("span", { id: "points-count" }),
  };
  const detail = h("div", { id: "point-detail" });
  const idInput = h("input", { id: "retrieve-id", placeholder: "point id (integer or UUID)" });
  const message = h("div", { id: "points-message" });

  // counted again only when the filter or the points change, not on every page
  async function refresh(recount = true) {
    try {
      await Promise.all([loadPage(state, view), recount ? count(state, view) : null]);
      mount(filterError);
    } catch (error) {
      // the server's message verbatim, beside the filter it is about; no stale rows beside it
      mount(state.filter ? filterError : message, errorBox(error.message));
      mount(view.rows);
      view.count.textContent = "–";
      view.where.textContent = "";
      view.next.disabled = true;
    }
  }
  async function applyFilter() {
    try {
      state.filter = parseFilter(filterText.value);
    } catch (error) {
      mount(filterError, errorBox(error.message));
      return;
    }
    state.page = 0;
    state.offsets = [null];
    mount(filterError);
    await refresh();
  }
  async function retrieve(id) {
    try {
      const point = await get(collectionPath(name, `/points/${encodeURIComponent(id)}`));
      mount(detail, h("div", { class: "card" }, h("h3", {}, `Point ${point.id}`),
        h("h4", {}, "Payload"), jsonTree(point.payload ?? {}, 3),
        h("h4", {}, "Vector"), vectorView(point.vector ?? null)));
    } catch (error) {
      mount(detail, errorBox(error.message));
    }
  }
  view.prev.addEventListener("click", () => { state.page -= 1; refresh(false); });
  view.next.addEventListener("click", () => { state.page += 1; refresh(false); });
  const pageSize = h("select", { id: "page-size", onchange: () => {
    state.pageSize = Number(pageSize.value);
    state.page = 0;
    state.offsets = [null];
    refresh(false);
  } }, ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.pageSize }, n)));

  const deleteButton = h("button", { type: "button", class: "danger", id: "delete-selected", onclick: async () => {
    const ids = [...view.rows.querySelectorAll(".pick:checked")].map((c) => JSON.parse(c.value));
    if (!ids.length) {
      mount(message, errorBox("Tick the points to delete first."));
      return;
    }
    if (!(await confirmAction(`Delete ${ids.length} point(s) from “${name}”?`))) return;
    try {
      await post(collectionPath(name, "/points/delete?wait=true"), { points: ids });
      mount(message, h("p", { class: "ok" }, `Deleted ${ids.length} point(s).`));
      await refresh();
    } catch (error) {
      mount(message, errorBox(error.message));
    }
  } }, "Delete selected");

  root.append(
    h("div", { class: "grid2" },
      h("div", { class: "card" }, h("h2", {}, "Filter"),
        h("p", { class: "hint" }, "Qdrant's filter JSON; empty for every point."), filterText,
        h("div", {}, h("button", { type: "button", id: "apply-filter", onclick: applyFilter }, "Apply"),
          " ", h("button", { type: "button", class: "link", onclick: () => { filterText.value = ""; applyFilter(); } }, "clear")),
        filterError),
      h("div", { class: "card" }, h("h2", {}, "Retrieve by id"),
        h("form", { id: "retrieve-form", onsubmit: (e) => { e.preventDefault(); retrieve(parseId(idInput.value)); } },
          idInput, " ", h("button", { type: "submit" }, "Retrieve")),
        detail)),
    h("div", { class: "toolbar" }, view.count, " · ", view.where, h("span", { class: "spacer" }),
      h("label", {}, "per page ", pageSize), view.prev, view.next, deleteButton),
    message,
    h("table", { id: "points-table" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "id"), h("th", {}, "payload"), h("th", {}, "vector"))),
      view.rows),
  );
  if (params.get("id")) {
    idInput.value = params.get("id");
    retrieve(parseId(params.get("id")));
  }
  await refresh();
  return undefined;
}
