import { defineConfig } from 'drizzle-kit';

// drizzle-kit generate: migrations/ is produced from src/schema.ts and committed; a test fails when the
// two disagree.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './migrations',
});
