#!/usr/bin/env node
// `node tooling/doctor/src/cli.ts [root]` (`pnpm doctor`): the service × check table; exit 1 on any failure.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, runDoctor } from './doctor.ts';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../', import.meta.url)));
if (process.argv.length > 3 || !existsSync(join(root, 'apps'))) {
  // A mistyped root would otherwise check nothing and pass.
  console.error(`doctor: ${root} has no apps/ folder (not a workspace root); usage: [root]`);
  process.exit(2);
}
const report = runDoctor(root);
process.stdout.write(formatReport(report));
if (!report.ok) process.exitCode = 1;
