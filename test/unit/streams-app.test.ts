import type { Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import { TopologyBuilder } from '../../topology/builder.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import { isStreamsError, StreamsError } from '../../topology/errors.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { countingTopology } from '../support/counting-topology.ts'

const topology = countingTopology({ applicationId: 'app', input: 'in', output: 'out' })
// Constructing the app opens no connection: a stand-in database is enough to check the options.
const db = {} as Kysely<unknown>

describe('StreamsApp', () => {
  it('should refuse bad options with one error that lists every problem, naming each option', () => {
    const attempt = () =>
      new StreamsApp(topology, {
        brokers: ['localhost', '127.0.0.1:9092'],
        db,
        maxBatch: 0,
        lingerMs: -1,
        maxQueueBytes: 1.5,
        metricsPrefix: 'bad-prefix',
      })
    expect(attempt).toThrow(StreamsError)
    try {
      attempt()
    } catch (error) {
      expect(isStreamsError(error, 'OPTIONS_INVALID')).toBe(true)
      const message = (error as Error).message
      for (const option of ['brokers: "localhost"', 'maxBatch', 'lingerMs', 'maxQueueBytes', 'metricsPrefix'])
        expect(message).toContain(option)
    }
  })

  it("should require a reader for each of the topology's lookups and a writer for each table", () => {
    const withRefs = new TopologyBuilder('refs')
      .source('s', { topic: 't', parse: (b) => b })
      .lookup('users')
      .table('rows')
      .processor('p', {
        sources: ['s'],
        lookups: { users: () => 'k' },
        tables: ['rows'],
        supplier: () => ({ process() {} }),
      })
      .build()
    expect(() => new StreamsApp(withRefs, { brokers: ['127.0.0.1:9092'], db })).toThrow(
      /lookups: no reader for "users"[\s\S]*tables: no writer for "rows"/,
    )
    // An instance that runs no processors needs neither.
    expect(
      new StreamsApp(withRefs, { brokers: ['127.0.0.1:9092'], db, processors: false }).runtime,
    ).toBeNull()
  })

  it('should freeze its options and assemble runtime, relay and metrics with the given prefix', async () => {
    const app = new StreamsApp(topology, {
      brokers: ['127.0.0.1:9092'],
      db,
      backend: new MemoryBackend(),
      metricsPrefix: 'shop_',
      lingerMs: 0,
    })
    expect(Object.isFrozen(app.options)).toBe(true)
    expect(Object.isFrozen(app.options.brokers)).toBe(true)
    expect(app.runtime).not.toBeNull()
    expect(await app.registry.metrics()).toContain('shop_records_consumed_total')
  })
})
