// The dashboard's shell: asks for the API key when the server wants one, then routes
// #/page?params to one page module at a time (each page stops its own polling on leave).

import { ApiError, apiKey, get, onAuthNeeded, setApiKey } from "/dashboard/api.js";
import { errorBox, h, mount } from "/dashboard/dom.js";

const PAGES = {
  collections: () => import("/dashboard/collections.js"),
  points: () => import("/dashboard/points.js"),
  search: () => import("/dashboard/search.js"),
  vectors: () => import("/dashboard/vectors.js"),
  health: () => import("/dashboard/health.js"),
  snapshots: () => import("/dashboard/snapshots.js"),
};

const main = document.getElementById("main");
let leave = () => {};
let generation = 0;

export function route() {
  const [path, query] = (location.hash.replace(/^#\/?/, "") || "collections").split("?");
  return { page: PAGES[path] ? path : "collections", params: new URLSearchParams(query ?? "") };
}

export function go(page, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined));
  const text = query.toString();
  location.hash = `#/${page}${text ? `?${text}` : ""}`;
}

async function show() {
  const { page, params } = route();
  generation += 1;
  const mine = generation;
  leave();
  leave = () => {};
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === page);
  }
  const module = await PAGES[page]();
  if (mine !== generation) return;
  const root = h("section", { id: `page-${page}`, class: "page" });
  mount(main, root);
  try {
    leave = (await module.render(root, params)) ?? (() => {});
  } catch (error) {
    root.append(errorBox(error.message));
  }
}

// --- the API key

const keyDialog = document.getElementById("key-dialog");

function askForKey(reason) {
  document.getElementById("key-reason").textContent = reason;
  if (!keyDialog.open) keyDialog.showModal();
  document.getElementById("key-input").focus();
}

document.getElementById("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = document.getElementById("key-input").value;
  setApiKey(key);
  try {
    await get("/collections");
  } catch (error) {
    document.getElementById("key-error").textContent = error.message;
    return;
  }
  document.getElementById("key-error").textContent = "";
  keyDialog.close();
  document.getElementById("key-button").hidden = false;
  start();
});

document.getElementById("key-button").addEventListener("click", () => {
  askForKey("Change the API key this tab sends.");
});

// No way to leave the key prompt without a key: nothing behind it would load anyway.
keyDialog.addEventListener("cancel", (event) => event.preventDefault());

onAuthNeeded((error) => {
  setApiKey(null);
  askForKey(error.status === 403 ? "The server refused that key." : "This server needs an API key.");
});

// --- the confirmation dialog (deletes and restores)

export function confirmAction(text, action = "Delete") {
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// --- start

let started = false;
function start() {
  if (started) return;
  started = true;
  window.addEventListener("hashchange", show);
  show();
  get("/")
    .then((doc) => {
      document.getElementById("server-info").textContent = `v${doc.zoro_version ?? doc.version}`;
    })
    .catch(() => {});
}

async function boot() {
  try {
    await get("/collections");
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
    mount(main, errorBox(`Cannot reach the server: ${error.message}`));
    return;
  }
  if (apiKey()) document.getElementById("key-button").hidden = false;
  start();
}

boot();
