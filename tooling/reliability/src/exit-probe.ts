// Preloaded into a service (`--import`) to prove it has no open handles once it closes: the service's
// process.exit(code) is held back, and the process must then end on its own, with nothing left keeping the
// event loop alive. It prints what was still open either way and exits 97 if that kept it alive 5 s more.
const exit = process.exit.bind(process);
let held = false;

process.exit = ((code?: number | string | null) => {
  if (held) return undefined as never;
  held = true;
  process.exitCode = code ?? 0;
  process.stdout.write(
    `exit-probe: exit(${code ?? 0}) held; open: ${process.getActiveResourcesInfo().join(',') || '-'}\n`,
  );
  const timer = setTimeout(() => {
    process.stdout.write(`exit-probe: still open after 5 s: ${process.getActiveResourcesInfo().join(',')}\n`);
    exit(97);
  }, 5_000);
  timer.unref();
  return undefined as never;
}) as typeof process.exit;

process.on('exit', (code) => {
  if (held) process.stdout.write(`exit-probe: ended on its own with ${code}\n`);
});
