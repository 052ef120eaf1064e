// Prometheus text format (what /metrics answers) to samples, and the figures the Health
// page draws from two scrapes: rates of counters and latency quantiles from histogram buckets.

// "name{a="x",b="y"} 12.5" lines to [{name, labels, value}]; comments and blanks skipped.
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!match) continue;
    const labels = {};
    const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(match[2] ?? "")) !== null) {
      labels[m[1]] = m[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const value = match[3] === "+Inf" ? Infinity : Number(match[3]);
    out.push({ name: match[1], labels, value });
  }
  return out;
}

export function sum(samples, name, where = () => true) {
  let total = 0;
  for (const s of samples) if (s.name === name && where(s.labels)) total += s.value;
  return total;
}

export function byLabel(samples, name, label) {
  const out = new Map();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label];
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

// The q-quantile (0..1) of the observations between two scrapes of one route's histogram,
// interpolated inside its bucket as Prometheus's histogram_quantile does; null if none.
export function quantile(before, after, route, q) {
  const buckets = new Map();
  for (const s of after) {
    if (s.name === "zoro_http_request_seconds_bucket" && s.labels.route === route) {
      buckets.set(s.labels.le, s.value);
    }
  }
  for (const s of before) {
    if (s.name === "zoro_http_request_seconds_bucket" && s.labels.route === route && buckets.has(s.labels.le)) {
      buckets.set(s.labels.le, buckets.get(s.labels.le) - s.value);
    }
  }
  const sorted = [...buckets.entries()]
    .map(([le, n]) => [le === "+Inf" ? Infinity : Number(le), n])
    .sort((a, b) => a[0] - b[0]);
  const total = sorted.length ? sorted[sorted.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Infinity) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(count - below, 1e-12);
    }
    lower = bound;
    below = count;
  }
  return lower;
}
