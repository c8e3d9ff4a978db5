/**
 * Binds a Topology to Kafka: one consumer group per application, a task (processor × partition) per
 * assigned partition, each committing its batches through the StateBackend (PostgreSQL). Offsets come
 * from the backend, never from Kafka; Kafka's group offsets are only mirrored for lag tooling.
 */
import { randomUUID } from 'node:crypto'
import { Admin, Consumer, type GroupAssignment } from '@platformatic/kafka'
import type { Topology } from '../builder.ts'
import { describeError, RecordErrorCodes, StreamsError, TopologyError } from '../errors.ts'
import { backoffDelay, retryForever, sleep } from '../retry.ts'
import { copartitionedAssigner } from './assignor.ts'
import { type StateBackend, taskName } from './backend.ts'
import { FenceLedger } from './fence-ledger.ts'
import { FetchLoop, type HoldFetch } from './fetch-loop.ts'
import { Fetcher } from './fetcher.ts'
import { createInternalTopics, internalTopicSpecs } from './internal-topic-creation.ts'
import type { RuntimeMetrics } from './metrics.ts'
import { partitionCountProblems } from './partition-counts.ts'
import { PartitionTask } from './task.ts'
import { TaskRunner } from './task-runner.ts'

export interface RuntimeLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface RuntimeOptions {
  topology: Topology
  brokers: readonly string[]
  backend: StateBackend
  metrics: RuntimeMetrics
  log: RuntimeLogger
  /** Called after a batch with outputs commits (the outbox relay's nudge). */
  onCommitted?: () => void
  holdFetch?: HoldFetch // publication backpressure: see `FetchLoopOptions.holdFetch`
  instanceId?: string
  maxBatch?: number
  lingerMs?: number
  /** Bytes of fetched, uncommitted records a task may hold (default 2 MiB); see `RunnerOptions`. */
  maxQueueBytes?: number
  sessionTimeoutMs?: number
  heartbeatIntervalMs?: number
  clock?: () => number
}

/**
 * About 4,000 small records (a 40-byte record costs ~550 bytes held, see HELD_RECORD_OVERHEAD), or
 * one fetcher partition's worth (2 MiB) of large ones; fetching resumes with half of it free.
 */
const DEFAULT_MAX_QUEUE_BYTES = 2 << 20

export interface RuntimeStatus {
  instanceId: string
  memberId: string | null
  tasks: Array<{ task: string; status: string; problem?: string; positions: Record<string, string> }>
}

const FENCED_PROBLEM = 'fenced: another owner claimed it; waiting for a new group assignment'

export class StreamsRuntime {
  readonly instanceId: string
  readonly #o: RuntimeOptions
  readonly #consumer: Consumer
  /** Fetches and lists offsets only (it never joins the group); see `Fetcher` for why it has its own. */
  readonly #fetchClient: Consumer
  readonly #fetcher: Fetcher
  readonly #fetchLoop: FetchLoop
  readonly #runners = new Map<string, TaskRunner>()
  readonly #fences = new FenceLedger() // the join each runner was made in (see FenceLedger)
  /** Runners opening or stopping outside #runners: stop() waits for them, so none outlives it. */
  readonly #pending = new Set<Promise<unknown>>()
  readonly #stop = new AbortController()
  #assignments: GroupAssignment[] = []
  /** The partition count of each topic the topology reads (its internal ones too), from start(). */
  readonly #partitionCounts = new Map<string, number>()
  #fetching: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | undefined
  #kafkaError: string | undefined
  /** Which retried step reported `#kafkaError` (undefined: the group's heartbeat or membership). */
  #kafkaErrorFrom: string | undefined
  #joined = false
  #rejoining = false
  #ticks = 0 // housekeeping runs every second; offsets are mirrored to Kafka every fifth time

  constructor(options: RuntimeOptions) {
    const { maxQueueBytes } = options
    if (maxQueueBytes !== undefined && !(Number.isSafeInteger(maxQueueBytes) && maxQueueBytes > 0))
      throw new RangeError(`maxQueueBytes: ${maxQueueBytes} is not a positive integer`)
    this.#o = options
    this.instanceId = options.instanceId ?? `${options.topology.applicationId}-${randomUUID().slice(0, 8)}`
    const session = options.sessionTimeoutMs ?? 10_000
    this.#consumer = new Consumer({
      clientId: this.instanceId,
      groupId: options.topology.applicationId,
      bootstrapBrokers: [...options.brokers],
      autocommit: false,
      sessionTimeout: session,
      rebalanceTimeout: Math.max(session, 10_000),
      heartbeatInterval: options.heartbeatIntervalMs ?? Math.max(100, Math.floor(session / 4)),
      partitionAssigner: copartitionedAssigner,
      retries: 3,
    })
    this.#fetchClient = new Consumer({
      clientId: `${this.instanceId}-fetch`,
      groupId: options.topology.applicationId,
      bootstrapBrokers: [...options.brokers],
      autocommit: false,
      // The fetch loop retries per partition; the client would retry a whole request for one partition.
      retries: 0,
    })
    this.#fetcher = new Fetcher(this.#fetchClient)
    this.#fetchLoop = new FetchLoop({
      fetcher: this.#fetcher,
      consumer: this.#fetchClient,
      runners: () => this.#runners.values(),
      metrics: options.metrics,
      log: options.log,
      signal: this.#stop.signal,
      holdFetch: options.holdFetch,
    })
  }

  /**
   * Creates the internal topics, checks the topics, joins the group (waiting for Kafka if it is down)
   * and starts fetching.
   */
  async start(): Promise<void> {
    const { topology, log } = this.#o
    const inputs = topology.topics().inputs
    await this.#createInternalTopics()
    const metadata = await retryForever(() => this.#fetcher.metadata(inputs), this.#retry('metadata'))
    const problems = topology.checkPartitions(
      new Map([...metadata.topics].map(([t, m]) => [t, m.partitionsCount])),
    )
    if (problems.length > 0) throw new TopologyError(problems)
    for (const t of inputs) this.#partitionCounts.set(t, metadata.topics.get(t)!.partitionsCount)
    await this.#checkPartitionCounts(this.#partitionCounts)

    // Every DLQ series exists from the start at 0, so an alert on increase() sees the first poison record.
    // Skipped offsets likewise, per partition: records lost to retention must alert the first time.
    const deduplicated = new Set(
      topology.nodes.flatMap((n) => (n.kind === 'source' && topology.deduplication(n) ? [n.topic] : [])),
    )
    for (const topic of inputs) {
      for (const code of Object.keys(RecordErrorCodes)) this.#o.metrics.dlq.inc({ topic, code }, 0)
      const partitions = metadata.topics.get(topic)!.partitionsCount
      for (let partition = 0; partition < partitions; partition++) {
        this.#o.metrics.skipped.inc({ topic, partition }, 0)
        if (deduplicated.has(topic)) this.#o.metrics.duplicates.inc({ topic, partition }, 0)
      }
    }
    this.#consumer.on('consumer:group:join', ({ assignments }) => this.#reconcile(assignments ?? []))
    this.#consumer.on('consumer:heartbeat:error', ({ error }) => {
      this.#kafkaError = describeError(error)
      this.#kafkaErrorFrom = undefined
    })
    this.#consumer.on('consumer:heartbeat:start', () => this.#fences.heartbeatSent())
    this.#consumer.on('consumer:heartbeat:end', () => {
      this.#kafkaError = undefined
      if (this.#fences.heartbeatAnswered().length > 0) this.#applyAssignment()
    })
    // A rejoin that failed (broker down past the client's retries) ends membership: join again.
    this.#consumer.on('error', (error: Error) => this.#rejoin(error))
    this.#consumer.on('consumer:heartbeat:stalled', () =>
      this.#rejoin(new StreamsError('GROUP_LOST', 'heartbeat stalled')),
    )
    this.#consumer.topics.trackAll(...inputs)
    this.#fetchClient.topics.trackAll(...inputs)
    await retryForever(() => this.#consumer.joinGroup({}), this.#retry('join group'))
    this.#joined = true
    log.info({ instance: this.instanceId, tasks: [...this.#runners.keys()] }, 'joined group')
    this.#fetching = this.#fetchLoop.run()
    this.#timer = setInterval(() => this.#housekeeping(), 1_000)
  }

  /** Finishes in-flight batches, commits, mirrors offsets and leaves the group. */
  async stop(): Promise<void> {
    this.#stop.abort(new StreamsError('STOPPING', 'runtime stopping'))
    clearInterval(this.#timer)
    await this.#fetching
    await Promise.all([...this.#runners.values()].map((r) => r.stop()))
    // Claims still asking for their fallback offsets, and runners revoked by the last assignment.
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
    await this.#mirrorOffsets().catch(() => {})
    this.#runners.clear()
    // close() leaves the group first, so the partitions move to other instances at once.
    await this.#consumer.close().catch(() => this.#consumer.close(true).catch(() => {}))
    await this.#fetchClient.close(true).catch(() => {})
  }

  /** Why processing is not healthy, or undefined when it is. */
  problem(): string | undefined {
    if (!this.#joined) return 'not in the consumer group yet'
    if (this.#kafkaError) return `kafka: ${this.#kafkaError}`
    const fetching = this.#fetchLoop.problem()
    if (fetching) return fetching
    for (const [name, runner] of this.#runners) if (runner.problem) return `${name}: ${runner.problem}`
    const fenced = this.#fences.tasks()[0]
    return fenced ? `${fenced}: ${FENCED_PROBLEM}` : undefined
  }

  status(): RuntimeStatus {
    const status: RuntimeStatus = {
      instanceId: this.instanceId,
      memberId: this.#consumer.memberId,
      tasks: [...this.#runners].map(([task, r]) => ({
        task,
        status: r.status,
        ...(r.problem ? { problem: r.problem } : {}),
        positions: Object.fromEntries([...r.task.positions].map(([t, o]) => [t, String(o)])),
      })),
    }
    for (const task of this.#fences.tasks())
      status.tasks.push({ task, status: 'fenced', problem: FENCED_PROBLEM, positions: {} })
    return status
  }

  /** Creates missing internal topics, sized by the partition counts of the topics upstream of them. */
  async #createInternalTopics(): Promise<void> {
    const { topology, brokers, log } = this.#o
    const { inputs, internal } = topology.topics()
    if (internal.length === 0) return
    const external = inputs.filter((t) => !internal.includes(t))
    const metadata = await retryForever(() => this.#fetcher.metadata(external), this.#retry('metadata'))
    const specs = internalTopicSpecs(
      topology,
      new Map([...metadata.topics].map(([t, m]) => [t, m.partitionsCount])),
    )
    const admin = new Admin({ clientId: `${this.instanceId}-admin`, bootstrapBrokers: [...brokers] })
    try {
      const created = await retryForever(
        () => createInternalTopics(admin, specs),
        this.#retry('internal topics'),
      )
      if (created.length > 0) log.info({ topics: created }, 'created internal topics')
    } finally {
      await admin.close().catch(() => {})
    }
  }

  /** Stores each source topic's partition count on first start; refuses to start when one changed. */
  async #checkPartitionCounts(current: ReadonlyMap<string, number>): Promise<void> {
    const { backend, topology } = this.#o
    if (!backend.sourcePartitions) return
    const stored = await retryForever(
      () => backend.sourcePartitions!(topology.applicationId, current),
      this.#retry('partition counts'),
    )
    const problems = partitionCountProblems(topology.applicationId, current, stored)
    if (problems.length > 0) throw new TopologyError(problems)
  }

  #retry(what: string) {
    return {
      signal: this.#stop.signal,
      maxMs: 5_000,
      onRetry: (error: unknown, attempt: number) => {
        this.#kafkaError = describeError(error)
        this.#kafkaErrorFrom = what
        this.#o.log.warn({ what, attempt, error: this.#kafkaError }, `${what} failed, retrying`)
      },
      // Readiness must not keep naming a fault the retry got past (e.g. a topic created a moment ago
      // and not yet in the metadata): it used to, until the next heartbeat cleared it.
      onRecovered: () => {
        if (this.#kafkaErrorFrom === what) this.#kafkaError = undefined
      },
    }
  }

  #rejoin(error: Error): void {
    this.#kafkaError = describeError(error)
    this.#kafkaErrorFrom = undefined
    if (this.#rejoining || this.#stop.signal.aborted) return
    this.#rejoining = true
    this.#o.log.warn({ error: this.#kafkaError }, 'consumer lost the group, rejoining')
    retryForever(() => this.#consumer.joinGroup({}), this.#retry('rejoin group'))
      .catch(() => {})
      .finally(() => (this.#rejoining = false))
  }

  #reconcile(assignments: GroupAssignment[]): void {
    this.#o.metrics.rebalances.inc()
    // A join that arrives while stopping would start tasks stop() has already passed by.
    if (this.#stop.signal.aborted) return
    this.#assignments = assignments
    this.#fences.joined()
    this.#applyAssignment()
  }

  /** Starts tasks for assigned partitions that have none running, and stops those no longer assigned. */
  #applyAssignment(): void {
    if (this.#stop.signal.aborted) return
    const { topology, metrics } = this.#o
    const assignments = this.#assignments
    const owned = new Map(assignments.map((a) => [a.topic, new Set(a.partitions)]))
    const wanted = new Map<string, { processor: (typeof topology.processors)[number]; partition: number }>()
    for (const processor of topology.processors) {
      const topics = topology.sourceTopics(processor)
      const partitions = owned.get(topics[0]!) ?? new Set<number>()
      for (const partition of partitions) {
        const name = `${processor.name}/${partition}`
        if (topics.every((t) => owned.get(t)?.has(partition)) && !this.#fences.blocks(name)) {
          wanted.set(name, { processor, partition })
        }
      }
    }
    for (const [name, runner] of this.#runners) {
      if (!wanted.has(name) || runner.status === 'fenced') {
        this.#runners.delete(name)
        this.#track(runner.stop())
      }
    }
    for (const [name, { processor, partition }] of wanted) {
      if (this.#runners.has(name)) continue
      const task = new PartitionTask({
        topology,
        processor,
        partition,
        backend: this.#o.backend,
        owner: this.instanceId,
        clock: this.#o.clock ?? Date.now,
        pause: (attempt) => sleep(backoffDelay(attempt, { initialMs: 50, maxMs: 1_000 })),
        observer: { retried: (topic) => metrics.retries.inc({ topic }) },
        partitions: (topic) => this.#partitionCounts.get(topic),
      })
      const runner = new TaskRunner(task, {
        maxBatch: this.#o.maxBatch ?? 500,
        lingerMs: this.#o.lingerMs ?? 5,
        maxQueueBytes: this.#o.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
        metrics,
        log: this.#o.log,
        clock: this.#o.clock ?? Date.now,
        onCommitted: () => this.#o.onCommitted?.(),
        onFenced: (r) => this.#fenced(r),
      })
      this.#runners.set(name, runner)
      this.#track(
        this.#earliest(topology.sourceTopics(processor), partition)
          .then((fallback) => runner.open(fallback, this.#stop.signal))
          .catch((error) => {
            if (!this.#stop.signal.aborted)
              this.#o.log.error({ task: name, error: describeError(error) }, 'task failed to open')
          }),
      )
    }
    this.#o.log.info({ tasks: [...wanted.keys()] }, 'assignment')
  }

  /** Another owner claimed the task: stay out of it until the group says otherwise (see FenceLedger). */
  #fenced(runner: TaskRunner): void {
    const name = taskName(runner.task.id)
    // A runner already revoked has no claim left to defend.
    if (this.#runners.get(name) !== runner) return
    this.#runners.delete(name)
    this.#fences.fenced(name)
    this.#track(runner.stop())
  }

  #track(work: Promise<unknown>): void {
    const settled: Promise<unknown> = work.catch(() => {}).finally(() => this.#pending.delete(settled))
    this.#pending.add(settled)
  }

  /** Where a partition with no stored offset starts: the earliest record still in the log. */
  async #earliest(topics: string[], partition: number): Promise<Map<string, bigint>> {
    const offsets = await retryForever(
      () => this.#consumer.listOffsets({ topics, timestamp: -2n }),
      this.#retry('list offsets'),
    )
    return new Map(topics.map((t) => [t, offsets.get(t)?.[partition] ?? 0n]))
  }

  #housekeeping(): void {
    const counts = new Map<string, number>()
    for (const p of this.#o.topology.processors) counts.set(p.name, 0)
    for (const runner of this.#runners.values()) {
      runner.reportLag()
      counts.set(runner.task.id.processor, (counts.get(runner.task.id.processor) ?? 0) + 1)
    }
    for (const [processor, n] of counts) this.#o.metrics.ownedPartitions.set({ processor }, n)
    if (++this.#ticks % 5 === 0) void this.#mirrorOffsets().catch(() => {})
  }

  /** Mirrors the PostgreSQL offsets into Kafka's group offsets, so standard lag tools see them. */
  async #mirrorOffsets(): Promise<void> {
    const offsets = [...this.#runners.values()]
      .filter((r) => r.status === 'running')
      .flatMap((r) =>
        [...r.task.positions].map(([topic, offset]) => ({
          topic,
          partition: r.task.id.partition,
          offset,
          leaderEpoch: -1,
        })),
      )
    if (offsets.length > 0 && this.#assignments.length > 0) await this.#consumer.commit({ offsets })
  }
}
