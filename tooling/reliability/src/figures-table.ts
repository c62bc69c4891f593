// `pnpm figures`: the latest line of each scenario from the figures file, as the markdown table that
// docs/reliability.md carries. Pass a file to read another run's figures.
import { existsSync, readFileSync } from 'node:fs';
import { figuresFile } from './figures.ts';

const file = process.argv[2] ?? figuresFile();
if (!existsSync(file)) {
  console.error(`no figures at ${file}: run the scenarios first`);
  process.exit(1);
}
const latest = new Map<string, Record<string, unknown>>();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const record = JSON.parse(line) as Record<string, unknown>;
  latest.set(String(record.scenario), record);
}
// The columns every scenario is read by; `resets` covers a load loop's unanswered requests (`errors`).
const COLUMNS = ['requests', 'non2xx', 'resets', 'acknowledged', 'found'] as const;
const cell = (value: unknown) => (value === undefined ? '—' : String(value).replace(/\|/g, '\\|'));
const rows = [...latest.values()].map((record) => {
  const { scenario, load1, at, errors, ...rest } = record;
  if (rest.resets === undefined && errors !== undefined) rest.resets = errors;
  const main = COLUMNS.map((column) => cell(rest[column]));
  for (const column of COLUMNS) delete rest[column];
  const other = Object.entries(rest)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return `| ${scenario} | ${main.join(' | ')} | ${cell(other)} | ${load1} | ${String(at).slice(11, 16)} |`;
});
process.stdout.write(
  `${[
    `| scenario | requests | non-2xx | resets | writes acknowledged | writes found | other figures | load (1 min) | at (UTC) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n')}\n`,
);
