import { appendFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type Figures = Record<string, number | string | boolean>;

/** Where `reportFigures` appends, one JSON object a line; `pnpm figures` turns it into the docs table. */
export function figuresFile(): string {
  return process.env.RELIABILITY_FIGURES ?? join(tmpdir(), 'rampart-reliability', 'figures.jsonl');
}

/**
 * Prints one line of figures for a scenario (`reliability <scenario>: key=value ...`) with the 1-minute
 * load average, and appends it to the figures file.
 */
export function reportFigures(scenario: string, figures: Figures): string {
  const record = {
    scenario,
    ...figures,
    load1: Number(loadavg()[0]!.toFixed(2)),
    at: new Date().toISOString(),
  };
  const line = `reliability ${scenario}: ${Object.entries(figures)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ')} load1=${record.load1}`;
  process.stdout.write(`${line}\n`);
  const file = figuresFile();
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(record)}\n`);
  return line;
}
