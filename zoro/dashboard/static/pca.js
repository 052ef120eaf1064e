// The first two principal components of a sample, by power iteration on the centred data
// (X^T X v without forming the d x d covariance: 2 n d per step, so 5,000 x 768 is fast).

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i += 1) s += a[i] * b[i];
  return s;
}

function normalise(v) {
  const n = Math.sqrt(dot(v, v)) || 1;
  for (let i = 0; i < v.length; i += 1) v[i] /= n;
  return v;
}

// X^T (X v), minus the components already found (deflation).
function step(rows, v, found) {
  const out = new Float64Array(v.length);
  for (const row of rows) {
    const p = dot(row, v);
    for (let j = 0; j < row.length; j += 1) out[j] += p * row[j];
  }
  for (const u of found) {
    const p = dot(out, u);
    for (let j = 0; j < out.length; j += 1) out[j] -= p * u[j];
  }
  return normalise(out);
}

// rows: arrays of numbers, all of one length. Returns [[x, y], ...], one per row.
export function pca2(rows, iterations = 60) {
  const n = rows.length;
  if (!n) return [];
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const row of rows) for (let j = 0; j < d; j += 1) mean[j] += row[j] / n;
  const centred = rows.map((row) => Float64Array.from(row, (x, j) => x - mean[j]));
  const found = [];
  for (let c = 0; c < Math.min(2, d); c += 1) {
    // a fixed start (not random) so the same sample draws the same picture
    let v = normalise(Float64Array.from({ length: d }, (_, j) => 1 + ((j * 7919 + c * 104729) % 13) / 13));
    for (let i = 0; i < iterations; i += 1) v = step(centred, v, found);
    found.push(v);
  }
  return centred.map((row) => [dot(row, found[0]), found[1] ? dot(row, found[1]) : 0]);
}
