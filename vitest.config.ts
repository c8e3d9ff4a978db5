import { defineConfig } from 'vitest/config'

// Two projects: `unit` must not touch the network or the disk beyond its own imports; `integration`
// talks to a real Kafka broker, PostgreSQL and Redis, found or started by the global setup.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
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
        },
      },
    ],
  },
})
