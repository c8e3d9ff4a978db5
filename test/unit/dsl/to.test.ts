import { describe, expect, it } from 'vitest'
import { map, to } from '../../../topology/dsl/index.ts'
import { drive } from '../../support/dsl-driver.ts'

describe('to', () => {
  it('should publish key, value and headers, with an output id from the source position', async () => {
    const driver = await drive<number>(
      (numbers) =>
        numbers.pipe(
          map((n) => n * 2),
          to('doubled'),
        ),
      [['k', 21]],
    )
    const [out] = driver.output<number>('doubled')
    expect(out).toMatchObject({ key: 'k', value: 42 })
    expect(out!.headers['streams.output-id']).toBe('dsl-test/in/0/0/0')
  })

  it('should fan out: two pipes from one stream each publish every record', async () => {
    const driver = await drive<number>(
      (numbers) => {
        numbers.pipe(to('a'))
        numbers.pipe(to('b'))
      },
      [['k', 1]],
    )
    expect(driver.output('a').map((r) => r.value)).toEqual([1])
    expect(driver.output('b').map((r) => r.value)).toEqual([1])
  })
})
