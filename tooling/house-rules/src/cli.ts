#!/usr/bin/env node
// `node tooling/house-rules/src/cli.ts [root]`: prints each violation and exits 1 if there is any.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHouseRules } from './check-house-rules.ts';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../', import.meta.url)));
if (process.argv.length > 3 || !existsSync(join(root, 'package.json'))) {
  // A mistyped root would otherwise end in a stack trace.
  console.error(`house-rules: ${root} has no package.json (not a workspace root); usage: [root]`);
  process.exit(2);
}
const problems = checkHouseRules(root);
for (const problem of problems) console.error(`house-rules: ${problem}`);
if (problems.length > 0) {
  console.error(`house-rules: ${problems.length} problem(s)`);
  process.exitCode = 1;
} else {
  console.error('house-rules: no problems');
}
