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
