/**
 * V8 flags for the short-lived processes a test run starts: vitest's workers and the server and start-up
 * processes the tests spawn. Each runs most of its code a few times, so the optimising compilers cost more
 * CPU than they save. `--liftoff-only` keeps PGlite's WebAssembly (Postgres, several MB of it) on the
 * baseline compiler instead of tiering hot functions up to TurboFan; `--max-opt=2` stops JavaScript at
 * Maglev. Never for the service itself: a long-running server wants TurboFan.
 */
export const TEST_PROCESS_V8_FLAGS = ['--liftoff-only', '--max-opt=2'];
