import { describe, expect, it } from 'vitest'
import { partitionCountProblems } from '../../topology/runtime/partition-counts.ts'

describe('partitionCountProblems', () => {
  const current = new Map([
    ['coupon-issue-topic', 6],
    ['order-created-topic', 3],
  ])

  it('should name the topic and both counts when a source topic gained partitions', () => {
    const problems = partitionCountProblems('shop', current, new Map([['coupon-issue-topic', 3]]))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/"coupon-issue-topic".*built with 3 partitions.*now has 6/)
  })

  it('should accept unchanged counts and topics with no stored count yet (a first start)', () => {
    expect(partitionCountProblems('shop', current, new Map([['order-created-topic', 3]]))).toEqual([])
    expect(partitionCountProblems('shop', current, new Map())).toEqual([])
  })
})
