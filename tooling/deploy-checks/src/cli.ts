// `node tooling/deploy-checks/src/cli.ts [root]`: every deployment check over the workspace. Exits 1 on a
// problem, and, with CI=true, when a tool is missing (CI never skips silently).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkWorkspace } from './check-workspace.ts';
import { formatProblems } from './problem.ts';
import { resolveDeployTools } from './tools.ts';

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../', import.meta.url)));
if (process.argv.length > 3 || !existsSync(join(root, 'pnpm-workspace.yaml'))) {
  // A mistyped root would otherwise check nothing and pass.
  console.error(`deploy-checks: ${root} is not a workspace root (no pnpm-workspace.yaml); usage: [root]`);
  process.exit(2);
}
let tools: ReturnType<typeof resolveDeployTools>;
try {
  tools = resolveDeployTools({
    ci: process.env.CI === 'true',
    warn: (line) => process.stdout.write(`${line}\n`),
  });
} catch (error) {
  console.error(`deploy-checks: ${(error as { code?: string }).code}: ${(error as Error).message}`);
  process.exit(1);
}
const report = await checkWorkspace(root, tools);
for (const line of report.checked) process.stdout.write(`checked  ${line}\n`);
for (const line of report.skipped) process.stdout.write(`SKIPPED TOOL: ${line}\n`);
if (report.problems.length > 0) console.error(formatProblems(report.problems));
process.stdout.write(
  `${report.checked.length} checked, ${report.problems.length} problems, ${report.skipped.length} skipped\n`,
);
if (report.problems.length > 0) process.exit(1);
