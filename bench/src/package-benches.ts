import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface PackageBench {
  name: string;
  /** The package folder whose `bench` script runs. */
  dir: string;
  env: Record<string, string>;
}

export interface PackageBenchResult {
  name: string;
  ok: boolean;
  seconds: number;
  output: string;
}

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Items 3 and 4: @rampart/db's and @rampart/tasks' own benches, each run through its `bench` script. */
export function packageBenches(options: { quick: boolean; databaseUrl: string | undefined }): PackageBench[] {
  const database: Record<string, string> = options.databaseUrl
    ? { TEST_DATABASE_URL: options.databaseUrl }
    : {};
  return [
    { name: '@rampart/db: drizzle vs the raw driver', dir: repo('packages/db'), env: database },
    {
      name: '@rampart/tasks: jobs/s and enqueue-to-start latency vs raw pg-boss',
      dir: repo('packages/tasks'),
      env: {
        ...database,
        ...(options.quick ? { BENCH_JOBS: '300', BENCH_ROUNDS: '1', BENCH_SAMPLES: '20' } : {}),
      },
    },
  ];
}

/** Runs one package bench as a child process (bounded by `timeoutMs`), echoing its lines as progress. */
export async function runPackageBench(
  bench: PackageBench,
  timeoutMs: number,
  progress: (line: string) => void,
): Promise<PackageBenchResult> {
  const started = performance.now();
  const child = spawn('pnpm', ['run', '--silent', 'bench'], {
    cwd: bench.dir,
    env: { ...process.env, ...bench.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = String(chunk);
    output += text;
    for (const line of text.split('\n')) if (line.trim()) progress(`    ${line}`);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const timer = setTimeout(() => {
    output += `\n(stopped after ${timeoutMs / 1000} s)`;
    child.kill('SIGTERM');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      output += `\ncould not run pnpm: ${error.message}`;
      resolve(null);
    });
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return {
    name: bench.name,
    ok: code === 0,
    seconds: (performance.now() - started) / 1000,
    output: output.trimEnd(),
  };
}
