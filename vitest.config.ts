import { defineConfig } from 'vitest/config'

// Three projects, run one after the other (groupOrder): `unit` touches no network and no disk beyond
// its imports; `integration` talks to a real Kafka broker, PostgreSQL and Redis, found or started by the
// global setup; `chaos` kills, freezes and restarts processes and PostgreSQL itself, so it runs alone,
// one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Files run in parallel (each has its own schema, topics and group ids) but the machine
          // has two cores and one broker: more workers only add contention.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
})
