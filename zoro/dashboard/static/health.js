// Server health: /metrics scraped every few seconds, turned into rates and latency
// percentiles per route, WAL syncs, mailbox depth, recovery and compaction; the recent errors.

import { get } from "/dashboard/api.js";
import { drawChart, legendOf } from "/dashboard/chart.js";
import { fmtBytes, h, mount } from "/dashboard/dom.js";
import { byLabel, parseMetrics, quantile, sum } from "/dashboard/prom.js";

export const SCRAPE_MS = 3000;
const KEEP = 100; // scrapes kept: 5 minutes at 3 s
const TOP_ROUTES = 6;
const ERRORS_SHOWN = 20; // of the server's last 100 error answers (GET /errors)

function chartCard(id, title, unit) {
  const canvas = h("canvas", { id, width: 560, height: 180 });
  const legend = h("div", { class: "legend" });
  return { unit, canvas, legend, card: h("div", { class: "card chart" }, h("h3", {}, title), canvas, legend) };
}

function show(chart, series) {
  drawChart(chart.canvas, series, { unit: chart.unit });
  mount(chart.legend, legendOf(series).map(([name, colour]) => h("span", { class: "legend-item" },
    h("span", { class: "swatch", style: { background: colour } }), ` ${name}`)));
}

// [t, value] per scrape pair: f(before, after, seconds) for each consecutive pair.
function pairs(scrapes, f) {
  const out = [];
  for (let i = 1; i < scrapes.length; i += 1) {
    const [a, b] = [scrapes[i - 1], scrapes[i]];
    out.push([b.t, f(a.samples, b.samples, (b.t - a.t) / 1000)]);
  }
  return out;
}

const requests = (samples, route) => sum(samples, "zoro_http_requests_total", (l) => l.route === route);

export async function render(root) {
  const scrapes = [];
  const charts = {
    rate: chartCard("chart-rate", "Requests/s by route", ""),
    latency: chartCard("chart-latency", "Latency percentiles", "ms"),
    syncs: chartCard("chart-syncs", "WAL syncs/s", ""),
    perSync: chartCard("chart-per-sync", "WAL records per sync", ""),
    mailbox: chartCard("chart-mailbox", "Actor mailbox depth", ""),
    compaction: chartCard("chart-compaction", "Compaction bytes/s", ""),
  };
  const routeSelect = h("select", { id: "latency-route" }, h("option", { value: "" }, "busiest route"));
  charts.latency.card.querySelector("h3").append(" ", routeSelect);
  const routeTable = h("div", { id: "route-table" });
  const states = h("div", { id: "collection-states" });
  const errorList = h("div", { id: "recent-errors" });
  const status = h("p", { class: "muted", id: "scrape-status" });
  mount(root, h("h1", {}, "Health"), status,
    h("div", { class: "charts" }, ...Object.values(charts).map((c) => c.card)),
    h("div", { class: "card" }, h("h3", {}, "Routes over the last minute"), routeTable),
    h("div", { class: "grid2" },
      h("div", { class: "card" }, h("h3", {}, "Collections: recovery and compaction"), states),
      h("div", { class: "card" }, h("h3", {}, "Recent errors"), errorList)));

  function routes(samples) {
    return [...new Set(samples.filter((s) => s.name === "zoro_http_requests_total").map((s) => s.labels.route))];
  }

  function redraw() {
    const last = scrapes[scrapes.length - 1].samples;
    const first = scrapes[0].samples;
    const moved = (r) => requests(last, r) - requests(first, r);
    const names = routes(last).sort((a, b) => moved(b) - moved(a));
    const shown = names.filter((r) => moved(r) > 0).slice(0, TOP_ROUTES); // busy in the window
    show(charts.rate, [
      { name: "all", points: pairs(scrapes, (a, b, s) => (sum(b, "zoro_http_requests_total") - sum(a, "zoro_http_requests_total")) / s) },
      ...shown.map((r) => ({ name: r, points: pairs(scrapes, (a, b, s) => (requests(b, r) - requests(a, r)) / s) })),
    ]);
    const known = new Set([...routeSelect.options].map((o) => o.value));
    for (const r of names) if (!known.has(r)) routeSelect.append(h("option", { value: r }, r));
    // by default the busiest route of the API, not the dashboard's own files and scrapes
    const own = (r) => r === "metrics" || r === "dashboard";
    const route = routeSelect.value || shown.find((r) => !own(r)) || shown[0] || names[0];
    show(charts.latency, [0.5, 0.95, 0.99].map((q) => ({
      name: `${route ?? ""} p${Math.round(q * 100)}`,
      points: pairs(scrapes, (a, b) => { const v = quantile(a, b, route, q); return v === null ? null : v * 1000; }),
    })));
    show(charts.syncs, [{ name: "all collections", points: pairs(scrapes, (a, b, s) => (sum(b, "zoro_wal_syncs_total") - sum(a, "zoro_wal_syncs_total")) / s) }]);
    show(charts.perSync, [{ name: "records per sync", points: pairs(scrapes, (a, b) => {
      const syncs = sum(b, "zoro_wal_syncs_total") - sum(a, "zoro_wal_syncs_total");
      return syncs > 0 ? (sum(b, "zoro_wal_records_total") - sum(a, "zoro_wal_records_total")) / syncs : null;
    }) }]);
    const depth = byLabel(last, "zoro_actor_mailbox_depth", "collection");
    const busiest = [...depth.keys()].sort((a, b) => depth.get(b) - depth.get(a)).slice(0, TOP_ROUTES);
    show(charts.mailbox, [
      { name: "all", points: scrapes.map((x) => [x.t, sum(x.samples, "zoro_actor_mailbox_depth")]) },
      ...busiest.map((c) => ({ name: c, points: scrapes.map((x) => [x.t, sum(x.samples, "zoro_actor_mailbox_depth", (l) => l.collection === c)]) })),
    ]);
    show(charts.compaction, [{ name: "bytes copied/s", points: pairs(scrapes, (a, b, s) => (sum(b, "zoro_compaction_bytes_total") - sum(a, "zoro_compaction_bytes_total")) / s) }]);
    drawStates(last);
    drawRoutes(names);
  }

  // every route's rate and percentiles between the newest scrape and the one a minute before
  function drawRoutes(names) {
    const after = scrapes[scrapes.length - 1];
    const before = scrapes.find((x) => after.t - x.t <= 60_000 + SCRAPE_MS) ?? scrapes[0];
    const seconds = (after.t - before.t) / 1000;
    if (seconds <= 0) return;
    const ms = (q, r) => {
      const v = quantile(before.samples, after.samples, r, q);
      return v === null ? "–" : (v * 1000).toFixed(v < 0.01 ? 2 : 1);
    };
    const rows = names
      .map((r) => [r, (requests(after.samples, r) - requests(before.samples, r)) / seconds])
      .filter(([, rate]) => rate > 0);
    mount(routeTable, rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, ...["route", "requests/s", "p50 ms", "p95 ms", "p99 ms"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows.map(([r, rate]) => h("tr", {}, h("td", {}, r), h("td", { class: "num" }, rate.toFixed(2)),
          h("td", { class: "num" }, ms(0.5, r)), h("td", { class: "num" }, ms(0.95, r)), h("td", { class: "num" }, ms(0.99, r))))))
      : h("p", { class: "muted" }, "No requests yet."));
  }

  function drawStates(samples) {
    const up = samples.filter((s) => s.name === "zoro_collection_up");
    const running = byLabel(samples, "zoro_compaction_running", "collection");
    const garbage = byLabel(samples, "zoro_storage_garbage_slots", "collection");
    const slots = byLabel(samples, "zoro_storage_slots", "collection");
    const toReplay = byLabel(samples, "zoro_recovery_records_to_replay", "collection");
    const replayed = byLabel(samples, "zoro_recovery_records_replayed", "collection");
    const counts = {};
    for (const s of up) counts[s.labels.state] = (counts[s.labels.state] ?? 0) + 1;
    mount(states,
      h("p", {}, Object.entries(counts).map(([state, n]) => h("span", { class: `badge ${state}` }, `${n} ${state}`))),
      h("table", {}, h("thead", {}, h("tr", {}, ...["collection", "state", "WAL replayed", "garbage", "compacting"].map((t) => h("th", {}, t)))),
        h("tbody", {}, up.map((s) => {
          const c = s.labels.collection;
          const share = slots.get(c) ? (100 * (garbage.get(c) ?? 0)) / slots.get(c) : 0;
          return h("tr", {}, h("td", {}, c), h("td", {}, h("span", { class: `badge ${s.labels.state}` }, s.labels.state)),
            h("td", { class: "num" }, replayText(replayed.get(c) ?? 0, toReplay.get(c) ?? 0)),
            h("td", { class: "num" }, `${share.toFixed(1)} %`), h("td", {}, running.get(c) ? "yes" : "no"));
        }))));
  }

  // recovery's progress: WAL records replayed of those after the checkpoint (the last opening)
  function replayText(done, total) {
    return total ? `${done.toLocaleString()} / ${total.toLocaleString()} (${Math.floor((100 * done) / total)} %)` : "none";
  }

  async function drawErrors() {
    const [issues, recent] = await Promise.all([
      get("/issues").then((r) => r.issues ?? [], () => []),
      get("/errors").then((r) => r.errors ?? [], () => []),
    ]);
    mount(errorList,
      issues.length ? h("ul", {}, issues.map((i) => h("li", { class: "error" }, `${i.related_collection ?? ""}: ${i.description}`))) : null,
      recent.length
        ? h("table", {}, h("thead", {}, h("tr", {}, ...["when", "route", "status", "message"].map((t) => h("th", {}, t)))),
          h("tbody", {}, recent.slice(0, ERRORS_SHOWN).map((e) => h("tr", {},
            h("td", { class: "mono" }, new Date(e.time).toLocaleTimeString()), h("td", {}, e.route),
            h("td", {}, e.status), h("td", { class: "error" }, e.message)))))
        : h("p", { class: "muted" }, "No error answers lately."));
  }

  let stopped = false;
  async function scrape() {
    if (stopped || document.hidden) return;
    try {
      const text = await get("/metrics");
      const now = Date.now();
      const samples = parseMetrics(text);
      scrapes.push({ t: now, samples });
      if (scrapes.length > KEEP) scrapes.shift();
      redraw();
      mount(status, `Scraped /metrics every ${SCRAPE_MS / 1000} s · last at ${new Date(now).toLocaleTimeString()} · ${fmtBytes(text.length)}`);
      if (scrapes.length % 5 === 1) await drawErrors();
    } catch (error) {
      mount(status, h("span", { class: "error" }, `Scrape failed: ${error.message}`));
    }
  }
  routeSelect.addEventListener("change", () => scrapes.length && redraw());
  await scrape();
  // a rate needs two scrapes: the second comes after a second, then one every SCRAPE_MS
  const soon = setTimeout(scrape, 1000);
  const timer = setInterval(scrape, SCRAPE_MS);
  return () => {
    stopped = true;
    clearTimeout(soon);
    clearInterval(timer);
  };
}
