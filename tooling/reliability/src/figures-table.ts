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
const rows = [...latest.values()].map((record) => {
  const { scenario, load1, at, ...figures } = record;
  const text = Object.entries(figures)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ')
    .replace(/\|/g, '\\|');
  return `| ${scenario} | ${text} | ${load1} | ${String(at).slice(0, 16).replace('T', ' ')} |`;
});
process.stdout.write(
  ['| scenario | figures | load (1 min) | at (UTC) |', '| --- | --- | --- | --- |', ...rows].join('\n') +
    '\n',
);
