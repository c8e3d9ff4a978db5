import { describe, expect, it } from 'vitest'
import { count, groupByKey, to } from '../../../topology/dsl/index.ts'
import { drive, published } from '../../support/dsl-driver.ts'

describe('count', () => {
  it('should count each key in its store and forward every new count; records without a key are dropped', async () => {
    const driver = await drive<string>(
      (clicks) => clicks.pipe(groupByKey(), count('clicks-per-page'), to('counts')),
      [
        ['home', 'x'],
        ['cart', 'x'],
        ['home', 'x'],
        [null, 'x'],
      ],
    )
    expect(published(driver, 'counts')).toEqual([
      ['home', 1],
      ['cart', 1],
      ['home', 2],
    ])
    expect(driver.store<number>('clicks-per-page', 0).get('home')).toBe(2)
  })

  it('should go on from the committed count after a restart', async () => {
    const driver = await drive<string>(
      (clicks) => clicks.pipe(groupByKey(), count('c'), to('counts')),
      [['k', 'x']],
    )
    driver.restart()
    driver.pipe('in', 'k', 'y')
    await driver.process()
    expect(published(driver, 'counts')).toEqual([
      ['k', 1],
      ['k', 2],
    ])
  })
})
