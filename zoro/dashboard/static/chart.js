// A small line chart on a <canvas>: several named series over time, a y axis from zero.

const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];

export function fmtValue(v, unit) {
  if (unit === "ms") return `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`;
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(1)}k`;
  return v < 10 ? v.toFixed(2).replace(/\.?0+$/, "") || "0" : String(Math.round(v));
}

// series: [{name, points: [[t_ms, value | null], ...]}]
export function drawChart(canvas, series, { unit = "" } = {}) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const left = 52;
  const bottom = height - 18;
  const top = 8;
  const right = width - 8;
  const all = series.flatMap((s) => s.points.filter((p) => p[1] !== null && Number.isFinite(p[1])));
  canvas.dataset.values = String(all.length);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#777";
  if (!all.length) {
    ctx.fillText("no data yet", left + 8, (top + bottom) / 2);
    return;
  }
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  const ymax = Math.max(...all.map((p) => p[1])) * 1.1 || 1;
  const x = (t) => left + ((t - t0) / (t1 - t0 || 1)) * (right - left);
  const y = (v) => bottom - (v / ymax) * (bottom - top);
  ctx.strokeStyle = "#ddd";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i += 1) {
    const v = (ymax * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, y(v));
    ctx.lineTo(right, y(v));
    ctx.stroke();
    ctx.fillText(fmtValue(v, unit), 2, y(v) + 4);
  }
  ctx.fillText(`${Math.round((t1 - t0) / 1000)} s`, right - 30, height - 4);
  series.forEach((s, i) => {
    ctx.strokeStyle = COLOURS[i % COLOURS.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let drawing = false;
    for (const [t, v] of s.points) {
      if (v === null || !Number.isFinite(v)) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(t), y(v));
      else ctx.moveTo(x(t), y(v));
      drawing = true;
    }
    ctx.stroke();
    // a lone value (the first scrape of a route) shows as a dot, not as nothing
    const shown = s.points.filter((p) => p[1] !== null && Number.isFinite(p[1]));
    if (shown.length === 1) {
      ctx.fillStyle = COLOURS[i % COLOURS.length];
      ctx.beginPath();
      ctx.arc(x(shown[0][0]), y(shown[0][1]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  });
}

export function legendOf(series) {
  return series.map((s, i) => [s.name, COLOURS[i % COLOURS.length]]);
}
