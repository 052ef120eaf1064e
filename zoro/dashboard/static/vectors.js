// Vectors at a glance: a random sample of up to 5,000 points, projected to 2-D by PCA in the
// browser and drawn on a canvas, coloured by a payload key; a click opens the point.

import { collectionPath, get, post } from "/dashboard/api.js";
import { go } from "/dashboard/app.js";
import { collectionToolbar, denseVectorNames, errorBox, h, mount } from "/dashboard/dom.js";
import { pca2 } from "/dashboard/pca.js";

const MAX_SAMPLE = 5000;
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac"];

function valueAt(payload, key) {
  let value = payload;
  for (const part of key.split(".")) value = value == null ? undefined : value[part];
  return value;
}

// A colour per value: the 9 commonest values get their own, the rest share grey.
function colours(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length - 1);
  const byValue = new Map(top.map(([v], i) => [v, PALETTE[i]]));
  const legend = top.map(([v, n], i) => [v, n, PALETTE[i]]);
  const rest = values.length - top.reduce((s, [, n]) => s + n, 0);
  if (rest) legend.push(["(other)", rest, "#bbbbbb"]);
  return { of: (v) => byValue.get(v) ?? "#bbbbbb", legend };
}

function draw(canvas, points, colourOf) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const xs = points.map((p) => p.xy[0]);
  const ys = points.map((p) => p.xy[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 12;
  const sx = (width - 2 * pad) / (x1 - x0 || 1);
  const sy = (height - 2 * pad) / (y1 - y0 || 1);
  for (const p of points) {
    p.px = pad + (p.xy[0] - x0) * sx;
    p.py = height - pad - (p.xy[1] - y0) * sy;
    ctx.fillStyle = colourOf(p.value);
    ctx.beginPath();
    ctx.arc(p.px, p.py, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

export async function render(root, params) {
  const { collections } = await get("/collections");
  const name = params.get("c") ?? "";
  mount(root, h("h1", {}, "Vectors"),
    collectionToolbar(collections, name, (n) => go("vectors", { c: n })));
  if (!name) return undefined;
  const info = await get(collectionPath(name));
  const usings = denseVectorNames(info).filter((u) => {
    const v = u === "" ? info.config.params.vectors : info.config.params.vectors[u];
    return !v.multivector_config;
  });
  if (!usings.length) {
    root.append(errorBox("This collection has no plain dense vector to project."));
    return undefined;
  }
  const using = h("select", { id: "pca-using" }, ...usings.map((u) => h("option", { value: u }, u || "(unnamed)")));
  const keys = h("datalist", { id: "pca-keys" });
  const key = h("input", { id: "pca-key", list: "pca-keys", placeholder: "payload key, e.g. lang", value: params.get("key") ?? "" });
  // the keys to offer: the indexed ones, and those of a few points' payloads
  post(collectionPath(name, "/points/scroll"), { limit: 50, with_payload: true, with_vector: false })
    .then(({ points: some }) => {
      const found = new Set(Object.keys(info.payload_schema ?? {}));
      for (const p of some) for (const k of Object.keys(p.payload ?? {})) found.add(k);
      mount(keys, [...found].sort().map((k) => h("option", { value: k })));
    })
    .catch(() => {});
  const size = h("input", { id: "pca-size", type: "number", min: 10, max: MAX_SAMPLE, value: 2000, class: "short" });
  const canvas = h("canvas", { id: "pca-canvas", width: 900, height: 560 });
  const legend = h("div", { id: "pca-legend", class: "legend" });
  const status = h("p", { id: "pca-status", class: "muted" });
  const tip = h("div", { id: "pca-tip", class: "muted" }, "Click a dot to open its point.");
  let points = [];

  async function sample() {
    mount(status, "Sampling…");
    const started = performance.now();
    try {
      const vectorName = using.value;
      const body = {
        query: { sample: "random" },
        limit: Math.min(MAX_SAMPLE, Math.max(10, Number(size.value) || 2000)),
        with_vector: vectorName ? [vectorName] : true,
        with_payload: key.value.trim() ? [key.value.trim().split(".")[0]] : false,
      };
      const { points: hits } = await post(collectionPath(name, "/points/query"), body);
      const fetched = performance.now();
      const usable = hits.filter((p) => Array.isArray(vectorName ? p.vector?.[vectorName] : p.vector));
      const rows = usable.map((p) => (vectorName ? p.vector[vectorName] : p.vector));
      const xy = pca2(rows);
      points = usable.map((p, i) => ({ id: p.id, xy: xy[i], value: key.value.trim() ? JSON.stringify(valueAt(p.payload ?? {}, key.value.trim()) ?? null) : "" }));
      const { of, legend: items } = colours(points.map((p) => p.value));
      draw(canvas, points, of);
      mount(legend, key.value.trim() ? items.map(([v, n, c]) => h("span", { class: "legend-item" },
        h("span", { class: "swatch", style: { background: c } }), ` ${v} (${n})`)) : []);
      mount(status, `${points.length} points · fetched in ${Math.round(fetched - started)} ms · PCA in ${Math.round(performance.now() - fetched)} ms`);
      canvas.dataset.points = String(points.length);
      // where one dot is drawn (canvas pixels), so a test can click it
      if (points.length) canvas.dataset.dot = `${points[0].px},${points[0].py},${points[0].id}`;
    } catch (error) {
      mount(status, errorBox(error.message));
    }
  }
  canvas.addEventListener("click", (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * canvas.width) / rect.width;
    const y = ((event.clientY - rect.top) * canvas.height) / rect.height;
    let best = null;
    let bestD = 64; // within 8 px
    for (const p of points) {
      const d = (p.px - x) ** 2 + (p.py - y) ** 2;
      if (d < bestD) [best, bestD] = [p, d];
    }
    if (best) go("points", { c: name, id: best.id });
  });
  root.append(h("div", { class: "toolbar" },
    h("label", {}, "vector ", using), h("label", {}, " colour by ", key), h("label", {}, " sample ", size),
    h("button", { type: "button", id: "pca-draw", onclick: sample }, "Draw"), keys),
  status, canvas, legend, tip);
  await sample();
  return undefined;
}
