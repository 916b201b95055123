import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One test file per core: vitest's default for `run` leaves one core idle (cores − 1), which on a
    // 2-core CI machine runs the files one at a time. The files share no paths (each writes under its
    // own temporary folder), so they run side by side.
    maxWorkers: availableParallelism(),
  },
});
