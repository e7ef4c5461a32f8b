import { defineConfig } from 'vitest/config';

// Integration tests boot real servers: give them room, and keep the 2-core machine from
// running every heavy file at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
