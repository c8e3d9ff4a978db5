import type { Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import { TopologyBuilder } from '../../topology/builder.ts'
import { MemoryBackend } from '../../topology/driver/memory-backend.ts'
import { isStreamsError, StreamsError } from '../../topology/errors.ts'
import { OutboxRelay } from '../../topology/postgres/outbox-relay.ts'
import { ThreadRelay } from '../../topology/postgres/thread-relay.ts'
import {
  optionProblems,
  type RelayPlacement,
  relayPlacement,
  StreamsApp,
  type StreamsAppOptions,
} from '../../topology/streams-app.ts'
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

  it('should check where the relay runs and that a worker thread could connect', () => {
    const problems = (options: Partial<StreamsAppOptions>) =>
      optionProblems(topology, { brokers: ['127.0.0.1:9092'], db, ...options })
    expect(problems({ relay: 'thread' })).toEqual([
      "databaseUrl: required with relay 'thread' (its worker thread connects on its own)",
    ])
    expect(problems({ relay: 'elsewhere' as RelayPlacement })).toEqual([
      'relay: must be one of thread, inline, got elsewhere',
    ])
    expect(problems({ databaseUrl: 'localhost:5432/shop' })).toEqual([
      'databaseUrl: must be a postgres:// or postgresql:// connection string',
    ])
    expect(problems({ relay: 'thread', databaseUrl: 'postgres://u@127.0.0.1:5432/shop' })).toEqual([])
    expect(problems({ relay: 'inline' })).toEqual([])
  })

  it("should run the relay on the tasks' thread unless told to give it a worker thread", () => {
    const databaseUrl = 'postgresql://u@127.0.0.1/shop'
    const app = (options: Partial<StreamsAppOptions>) =>
      new StreamsApp(topology, { brokers: ['127.0.0.1:9092'], db, backend: new MemoryBackend(), ...options })
    expect(app({ databaseUrl, relay: 'thread' }).relay).toBeInstanceOf(ThreadRelay)
    expect(app({ databaseUrl }).relay).toBeInstanceOf(OutboxRelay)
    expect(app({}).relay).toBeInstanceOf(OutboxRelay)
    expect(relayPlacement({})).toBe('inline')
    expect(relayPlacement({ relay: 'thread' })).toBe('thread')
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
