/**
 * Issue #7 item 5 on the real broker and PostgreSQL: an instance that lost a task stays out of it
 * until the group gives it a new assignment, a commit whose reply was lost is recognised as ours, and
 * stop() leaves no claims, tasks or timers behind when a claim or a group join comes in the middle.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { pendingOutputs } from '../../topology/postgres/outbox-pending.ts'
import { PostgresStateBackend } from '../../topology/postgres/state-backend.ts'
import { StreamsApp } from '../../topology/streams-app.ts'
import { pause } from '../support/chaos-fixtures.ts'
import { countingTopology } from '../support/counting-topology.ts'
import { useInfra } from '../support/infra.ts'
import { ProbeBackend } from '../support/probe-backend.ts'
import {
  committedTotal,
  countedMessages,
  migratedDb,
  produce,
  quietLog,
  waitUntil,
} from '../support/runtime-fixtures.ts'

const SESSION_MS = 3_000
const infra = useInfra()
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
})

async function setup() {
  const input = await infra.createTopic('fence-in')
  const output = await infra.createTopic('fence-out')
  await infra.admin.createTopics({ topics: [`${input}.dlq`], partitions: 3, replicas: 1 })
  const applicationId = infra.name('fence-app')
  const db = await migratedDb(infra.databaseUrl)
  cleanups.push(() => db.destroy())
  const produced = new Map<string, number>()
  const topology = countingTopology({ applicationId, input, output })

  return {
    applicationId,
    input,
    db,
    total: () => [...produced.values()].reduce((a, b) => a + b, 0),

    async produce(keys: number, perKey: number): Promise<void> {
      await produce(infra.brokers, countedMessages(input, keys, perKey, produced))
    },

    /** A runtime (not started) whose backend is the real one behind a probe. */
    instance(name: string) {
      const probe = new ProbeBackend(new PostgresStateBackend(db))
      // The facade with the probe as its state backend; the relay is not started (nothing here reads
      // the published outputs).
      const app = new StreamsApp(topology, {
        brokers: infra.brokers,
        db,
        backend: probe,
        log: quietLog,
        instanceId: name,
        sessionTimeoutMs: SESSION_MS,
        maxBatch: 20,
      })
      const runtime = app.runtime!
      const { metrics } = app
      cleanups.push(async () => {
        probe.claimGate.open()
        probe.commitGate.open()
        await runtime.stop()
      })
      const counter = async (reason: string) =>
        (await metrics.commitFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0
      const rebalances = async () => (await metrics.rebalances.get()).values[0]?.value ?? 0
      return { probe, runtime, fencedCommits: () => counter('fenced'), rebalances }
    },

    async tasks(): Promise<Map<number, { owner: string; epoch: number }>> {
      const { rows } = await sql<{ partition: number; owner: string; epoch: number }>`
        select partition, owner, epoch from stream_tasks where application_id = ${applicationId}`.execute(db)
      return new Map(rows.map((r) => [r.partition, { owner: r.owner, epoch: r.epoch }]))
    },

    async waitForAll(): Promise<void> {
      const total = [...produced.values()].reduce((a, b) => a + b, 0)
      await waitUntil(
        `${total} records committed`,
        async () => (await committedTotal(db, applicationId, input)) === total,
      )
    },

    /** Every key counted exactly as often as it was produced, and one outbox row per record. */
    async expectExactCounts(): Promise<void> {
      const { rows } = await sql<{ key: string; value: number }>`
        select key, value from store_entries where application_id = ${applicationId} and store = 'counts'`.execute(
        db,
      )
      const counted = new Map(rows.map((r) => [r.key, r.value]))
      expect(counted).toEqual(produced)
      const outputs = (await pendingOutputs(db)).filter((o) => o.topic === output)
      expect(outputs.length, 'one output per record, none twice').toBe(this.total())
    },
  }
}

type Run = Awaited<ReturnType<typeof setup>>

/** Waits until the epochs hold still for three sessions, and returns them. */
async function settledTasks(run: Run) {
  const before = await run.tasks()
  await pause(3 * SESSION_MS)
  const after = await run.tasks()
  expect(after, 'epochs still changing three sessions after the last rebalance').toEqual(before)
  return after
}

describe('StreamsRuntime fencing', () => {
  it('should claim a task back from a stale owner only once a heartbeat proves its assignment current, then hold still', async () => {
    const run = await setup()
    await run.produce(30, 5)
    const a = run.instance('instance-a')
    await a.runtime.start()
    await run.waitForAll()
    // A zombie (an owner acting on an assignment the group replaced, which then dies before it rejoins)
    // takes counter/0 while the group still lists it as a's: a's next commit there is refused.
    const zombie = await new PostgresStateBackend(run.db).claim(
      { applicationId: run.applicationId, processor: 'counter', partition: 0 },
      'zombie',
      new Map(),
    )
    await run.produce(30, 5)
    await waitUntil('a was fenced on counter/0', async () => (await a.fencedCommits()) > 0)
    // No rebalance follows a dead zombie. a's heartbeats keep succeeding, which proves its assignment
    // is the group's current one: a claims counter/0 once, and nothing fences anyone after that.
    // (Regression: waiting for a group join left counter/0 idle for good.)
    await run.waitForAll()
    const settled = await settledTasks(run)
    expect(settled.get(0)).toEqual({ owner: 'instance-a', epoch: zombie.epoch + 1 })
    expect(await a.rebalances(), 'no group join was needed').toBe(1)
    await run.expectExactCounts()
    expect(a.runtime.problem()).toBeUndefined()

    // A second instance joining still splits the partitions, with no claim ping-pong.
    const b = run.instance('instance-b')
    await b.runtime.start()
    await run.produce(30, 5)
    await run.waitForAll()
    const split = await settledTasks(run)
    expect(new Set([...split.values()].map((t) => t.owner))).toEqual(new Set(['instance-a', 'instance-b']))
    await run.expectExactCounts()
    await Promise.all([a.runtime.stop(), b.runtime.stop()])
  })

  it('should take a commit whose reply was lost as its own and carry on at once, with no new claim', async () => {
    const run = await setup()
    await run.produce(30, 5)
    const a = run.instance('instance-a')
    a.probe.loseReplies = 1
    await a.runtime.start()
    await run.waitForAll()
    expect(a.probe.lostReplies).toBe(1)
    const claimed = await run.tasks()
    // More records after the ambiguous commit: the task's in-memory state must match what committed.
    await run.produce(30, 5)
    await run.waitForAll()
    expect(await a.fencedCommits(), 'the lost reply was taken for a fence').toBe(0)
    expect(a.probe.claims.map((c) => c.task).sort()).toEqual(['counter/0', 'counter/1', 'counter/2'])
    expect(await run.tasks()).toEqual(claimed)
    expect(a.runtime.status().tasks.map((t) => t.status)).toEqual(['running', 'running', 'running'])
    await run.expectExactCounts()
    await a.runtime.stop()
  })

  it('should wait for a claim in flight when it stops, and leave no task behind', async () => {
    const run = await setup()
    await run.produce(30, 5)
    const a = run.instance('instance-a')
    a.probe.claimGate.close()
    await a.runtime.start()
    await waitUntil('three claims in flight', async () => a.probe.claimGate.waiting === 3)
    let stoppedAt = Number.POSITIVE_INFINITY
    const stopping = a.runtime.stop().then(() => (stoppedAt = a.probe.now()))
    await pause(300)
    a.probe.claimGate.open()
    await stopping
    expect(
      a.probe.claims.filter((c) => c.endedAt === undefined || c.endedAt > stoppedAt),
      'claims that answered after stop() returned',
    ).toEqual([])
    expect(a.runtime.status().tasks).toEqual([])
    const tasks = await run.tasks()
    await pause(1_000)
    expect(await run.tasks()).toEqual(tasks)
    expect(await committedTotal(run.db, run.applicationId, run.input), 'records committed').toBe(0)
  })

  it('should ignore a group join that arrives while it stops', async () => {
    const run = await setup()
    await run.produce(30, 5)
    const a = run.instance('instance-a')
    const c = run.instance('instance-c')
    await a.runtime.start()
    await c.runtime.start()
    await waitUntil('a and c share the tasks', async () => {
      const owners = new Set([...(await run.tasks()).values()].map((t) => t.owner))
      return owners.size === 2 && a.runtime.status().tasks.every((t) => t.status === 'running')
    })
    // Hold a's next commit, so its stop() is still under way when the group rebalances.
    a.probe.commitGate.close()
    await run.produce(30, 5)
    await waitUntil('a commit of a is held', async () => a.probe.commitGate.waiting > 0)
    const joinsBefore = await a.rebalances()
    const stopCalledAt = a.probe.now()
    const stopping = a.runtime.stop()
    // c leaves: the group gives every partition to a, whose stop() is in progress.
    await c.runtime.stop()
    await waitUntil('a saw the new assignment', async () => (await a.rebalances()) > joinsBefore)
    await pause(500)
    a.probe.commitGate.open()
    await stopping
    expect(
      a.probe.claims.filter((claim) => claim.startedAt > stopCalledAt),
      'claims a started after stop() began',
    ).toEqual([])
    expect(a.runtime.status().tasks).toEqual([])
  })
})
