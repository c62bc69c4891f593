import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    tags: [
      {
        name: 'slow',
        description: 'copies the workspace, runs a real release into a local registry (about a minute)',
        timeout: 180_000,
      },
    ],
  },
});
