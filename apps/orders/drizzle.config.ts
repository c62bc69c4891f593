import { defineConfig } from 'drizzle-kit';

// `pnpm db:generate` writes migrations/ from src/schema.ts; commit both. A test fails when they disagree.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations',
});
