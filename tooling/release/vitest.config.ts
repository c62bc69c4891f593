import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    tags: [
      {
        name: 'slow',
        description: 'copies the workspace, runs a real release into a local registry (about a minute)',
        // About 40 s on an idle 2-core machine; 145 s was measured with the load average at 20.
        timeout: 300_000,
      },
    ],
  },
});
