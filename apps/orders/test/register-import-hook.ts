// vitest setup file: what src/server.ts does first, for the test workers. Node 24 re-parses drizzle-orm's
// 175 KB package.json for each of the few hundred files a worker imports from it (about 0.6 s of CPU per
// worker); the hook resolves them with one parse. drizzle-orm is loaded by Node itself, not by vitest's
// module runner, so the hook applies.
import { registerDrizzleImportHook } from '@rampart/db/import-hook';

registerDrizzleImportHook();
