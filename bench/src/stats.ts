/** The middle value (the upper middle for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The median of per-round ratios `values[i] / base[i]`: each round is compared with its own baseline. */
export function medianRatio(values: readonly number[], base: readonly number[]): number {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(values.length, base.length); i++) {
    const denominator = base[i] as number;
    if (denominator > 0) ratios.push((values[i] as number) / denominator);
  }
  return median(ratios);
}

/** Nearest-rank percentile of ascending `sorted` (the value at or below which `q` of them fall); 0 for none. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** p50 and p99 of latencies in any order (sorted in place). */
export function latencyPercentiles(latencies: Float64Array): { p50: number; p99: number } {
  const sorted = latencies.sort(); // a typed array sorts numerically
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

/** A share (0–1) as a percentage with one decimal: `0.034` → `3.4%`. */
export const percent = (share: number) => `${(100 * share).toFixed(1)}%`;
