import { describe, expect, it } from 'vitest'
import { expiryOf, lastDays, rankingKeys, seoulDay, startOfSeoulDay } from '../../state/ranking-keys.ts'

describe('ranking days', () => {
  it('seoulDay should be the calendar day at UTC+9, changing at 15:00 UTC', () => {
    expect(seoulDay(Date.parse('2030-05-19T14:59:59.999Z'))).toBe('20300519')
    expect(seoulDay(Date.parse('2030-05-19T15:00:00Z'))).toBe('20300520')
    // New Year in Seoul while it is still the old year in UTC.
    expect(seoulDay(Date.parse('2030-12-31T16:00:00Z'))).toBe('20310101')
  })

  it('lastDays should list the Seoul days ending today, newest first, across a month end', () => {
    expect(lastDays(Date.parse('2030-03-01T01:00:00Z'), 3)).toEqual(['20300301', '20300228', '20300227'])
  })

  it('startOfSeoulDay and expiryOf should give a day 8 days of life from its Seoul midnight', () => {
    const start = startOfSeoulDay(Date.parse('2030-05-20T10:00:00Z'))
    expect(new Date(start).toISOString()).toBe('2030-05-19T15:00:00.000Z')
    expect(new Date(expiryOf(start) * 1000).toISOString()).toBe('2030-05-27T15:00:00.000Z')
  })

  it('rankingKeys should put every key under the deployment prefix, the seed names without one', () => {
    expect(rankingKeys().sales('20300520')).toBe('ranking:sales:20300520')
    const keys = rankingKeys('shop-a.')
    expect([keys.ready, keys.scratch, keys.orders('20300520'), keys.sales('20300520')]).toEqual([
      'shop-a.ranking:ready',
      'shop-a.ranking:top:scratch',
      'shop-a.ranking:orders:20300520',
      'shop-a.ranking:sales:20300520',
    ])
  })
})
