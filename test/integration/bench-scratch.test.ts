/**
 * The benchmarks' Kafka scratch on the real broker: a run leaves no topic behind, including those a
 * measured app's runtime created at start (its topology's internal topics), which the scratch never
 * created itself — the coupons benchmark left the shop topology's saga topics on the broker.
 */
import { describe, expect, it } from 'vitest'
import { InternalTopics, internalTopic, topicNames } from '../../processors/topics.ts'
import { KafkaScratch } from '../../scripts/bench/harness/infra.ts'
import { dlqTopic } from '../../topology/topic-admin.ts'
import { useInfra } from '../support/infra.ts'
import { waitUntil } from '../support/runtime-fixtures.ts'

const infra = useInfra()

describe('KafkaScratch', () => {
  it('cleanup should delete the topics a phase’s runtime created as well as its own', async () => {
    const scratch = new KafkaScratch(infra.brokers)
    const prefix = `${scratch.name('coupons')}.`
    const own = await scratch.createTopics([topicNames(prefix).COUPON_ISSUE], 1)
    // What the runtime of an app whose application id is a scratch group creates at start.
    const applicationId = scratch.group('coupons')
    const internal = Object.values(InternalTopics).flatMap((name) => [
      internalTopic(applicationId, name),
      dlqTopic(internalTopic(applicationId, name)),
    ])
    await infra.admin.createTopics({ topics: internal, partitions: 1, replicas: 1 })
    // Another run's topic, which shares a name's beginning but not the suffix, is not this run's.
    const other = infra.name(`bench-coupons-${scratch.suffix.slice(0, 4)}`)
    await infra.admin.createTopics({ topics: [other], partitions: 1, replicas: 1 })
    try {
      await scratch.cleanup()

      const runs = [...own, ...internal]
      let left: string[] = []
      await waitUntil(
        'the run’s topics deleted',
        async () => {
          const listed = await infra.admin.listTopics()
          left = listed.filter((t) => runs.includes(t))
          return left.length === 0
        },
        10_000,
      ).catch(() => {})
      expect(left).toEqual([])
      expect(await infra.admin.listTopics()).toContain(other)
    } finally {
      await infra.admin.deleteTopics({ topics: [...internal, other] }).catch(() => {})
    }
  })
})
