#!/usr/bin/env node
// `node tooling/doctor/src/cli.ts [root]` (`pnpm doctor`): the service × check table; exit 1 on any failure.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, runDoctor } from './doctor.ts';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../', import.meta.url)));
const report = runDoctor(root);
process.stdout.write(formatReport(report));
if (!report.ok) process.exitCode = 1;
