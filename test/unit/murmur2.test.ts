/**
 * Our murmur2 is Kafka's: the Java client's own test vectors (UtilsTest.testMurmur2), and, over many
 * random keys, the hash and partition @platformatic/kafka's BigInt port gives (the one the relay's
 * producer used before `javaPartitioner`).
 */
import { randomBytes } from 'node:crypto'
import { compatibilityPartitioner } from '@platformatic/kafka'
import { describe, expect, it } from 'vitest'
import { javaPartitioner, murmur2, partitionForKey } from '../../topology/partitioner.ts'

describe('murmur2', () => {
  it("should give the Java client's values for its own test vectors", () => {
    const java: Record<string, number> = {
      '21': -973932308,
      foobar: -790332482,
      'a-little-bit-long-string': -985981536,
      'a-little-bit-longer-string': -1486304829,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
      abc: 479470107,
    }
    for (const [key, hash] of Object.entries(java)) expect(murmur2(Buffer.from(key)), key).toBe(hash)
  })

  it("should partition every key as @platformatic/kafka's compatibilityPartitioner does, any bytes and lengths", () => {
    const keys = [
      Buffer.alloc(0),
      Buffer.from('한국어 ☃ 💥'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x80]),
      ...Array.from({ length: 3_000 }, (_, i) => randomBytes(i % 41)),
    ]
    for (const key of keys) {
      const theirs = compatibilityPartitioner({ topic: 't' } as never, key)
      expect(javaPartitioner(undefined, key), key.toString('hex')).toBe(theirs)
      for (const partitions of [1, 3, 7, 12])
        expect(partitionForKey(key, partitions)).toBe(theirs % partitions)
    }
    expect(javaPartitioner(undefined, undefined)).toBe(0)
  })
})
