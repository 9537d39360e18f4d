// Small statistics helpers for the benchmark (no dependencies).

export function sorted(values) {
  return [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values) {
  const v = sorted(values);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile, p in [0, 100]; NaN when empty. */
export function percentile(values, p) {
  const v = sorted(values);
  if (!v.length) return NaN;
  const rank = Math.min(v.length, Math.max(1, Math.ceil((p / 100) * v.length)));
  return v[rank - 1];
}

export function mean(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN;
}

export function sum(values) {
  return values.reduce((s, x) => s + (Number.isFinite(x) ? x : 0), 0);
}

/** Standard error of the mean. */
export function stderr(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return NaN;
  const m = mean(v);
  const variance = v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1);
  return Math.sqrt(variance / v.length);
}

/** Milliseconds since an arbitrary origin (monotonic). */
export const now = () => performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
