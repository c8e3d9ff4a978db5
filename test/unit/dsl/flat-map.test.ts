import { describe, expect, it } from 'vitest'
import { flatMap, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('flatMap', () => {
  it('should turn each record into zero or more records with its key, each with its own output id', async () => {
    const driver = await drive<string>(
      (lines) =>
        lines.pipe(
          flatMap((line) => line.split(' ').filter(Boolean)),
          to('words'),
        ),
      [
        ['l1', 'a b'],
        ['l2', ''],
        ['l3', 'c'],
      ],
    )
    const out = driver.output<string>('words')
    expect(out.map((r) => [r.key, r.value])).toEqual([
      ['l1', 'a'],
      ['l1', 'b'],
      ['l3', 'c'],
    ])
    expect(new Set(out.map((r) => r.headers['streams.output-id'])).size).toBe(3)
  })

  it('should publish nothing for a record it maps to no values', async () => {
    const driver = await drive<string>(
      (lines) =>
        lines.pipe(
          flatMap(() => []),
          to('words'),
        ),
      [['l', 'x']],
    )
    expect(published(driver, 'words')).toEqual([])
  })
})
