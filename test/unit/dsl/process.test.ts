import { describe, expect, it } from 'vitest'
import type { KeyValueStore } from '../../../topology/api.ts'
import { map, process, type StreamContext, type StreamProcessor, to } from '../../../topology/dsl/index.ts'
import { StreamsBuilder } from '../../../topology/dsl/streams-builder.ts'
import type { StreamRecord } from '../../../topology/record.ts'
import { jsonValue } from '../../../topology/serde.ts'
import { drive } from '../../support/dsl-driver.ts'

interface Payment {
  paymentId: string
  user: string
  amount: number
}

/** Keeps a balance per user in a keyed store; forwards the new balance, identified by the payment. */
type Balance = { user: string; balance: number }
class Balances implements StreamProcessor<Payment, Balance> {
  process(record: StreamRecord<Payment>, ctx: StreamContext<Balance>): void {
    const balances = ctx.store<KeyValueStore<number>>('balances')
    const balance = (balances.get(record.value.user) ?? 0) + record.value.amount
    balances.put(record.value.user, balance)
    ctx.forward({
      key: record.value.user,
      value: { user: record.value.user, balance },
      id: record.value.paymentId,
    })
  }
}

describe('process', () => {
  it('should run a Processor API processor with the stores it declares and forward what it forwards', async () => {
    const driver = await drive<Payment>(
      (payments) =>
        payments.pipe(
          process(() => new Balances(), {
            stores: { balances: { loading: 'keyed', keys: (payment) => payment.user } },
          }),
          to('balances-topic'),
        ),
      [
        ['p', { paymentId: 'pay-1', user: 'ann', amount: 5 }],
        ['p', { paymentId: 'pay-2', user: 'ann', amount: 7 }],
        ['p', { paymentId: 'pay-3', user: 'bob', amount: 1 }],
      ],
    )
    const out = driver.output<{ balance: number }>('balances-topic')
    expect(out.map((r) => [r.key, r.value.balance])).toEqual([
      ['ann', 5],
      ['ann', 12],
      ['bob', 1],
    ])
    // The id it forwarded with is the output's id, so a re-sent payment answers with the same one.
    expect(out.map((r) => r.headers['streams.output-id'])).toEqual([
      'dsl-test/balances-topic/pay-1',
      'dsl-test/balances-topic/pay-2',
      'dsl-test/balances-topic/pay-3',
    ])
    expect(driver.store<number>('balances', 0).get('ann')).toBe(12)
  })

  it("should fetch a keyed store's keys through a map before it, from the record as the processor sees it", async () => {
    // The keys are fetched before the batch runs, from the source record: through the map's preview. Were
    // the map skipped, the store would be asked for "ann" while the processor reads "ANN" (KEY_NOT_DECLARED).
    const driver = await drive<Payment>(
      (payments) =>
        payments.pipe(
          map((payment) => ({ ...payment, user: payment.user.toUpperCase() })),
          process(() => new Balances(), {
            stores: { balances: { loading: 'keyed', keys: (payment) => payment.user } },
          }),
          to('balances-topic'),
        ),
      [
        ['p', { paymentId: 'pay-1', user: 'ann', amount: 5 }],
        ['p', { paymentId: 'pay-2', user: 'ann', amount: 7 }],
      ],
    )
    expect(driver.output<{ balance: number }>('balances-topic').map((r) => r.value.balance)).toEqual([5, 12])
    expect(driver.store<number>('balances', 0).get('ANN')).toBe(12)
  })

  it('should send a record to the DLQ when its processor is asynchronous, since its work would escape the commit', async () => {
    const driver = await drive<number>(
      (numbers) =>
        numbers.pipe(
          process<number, number>(() => ({
            process: (async () => {}) as unknown as StreamProcessor<number, number>['process'],
          })),
          to('out'),
        ),
      [['k', 1]],
    )
    expect(driver.dlq('in').map((d) => d.headers['error.code'])).toEqual(['PROCESSING_FAILED'])
  })
})

describe('process names', () => {
  it('should refuse two steps of one name, since describe() tells them apart by it', () => {
    const builder = new StreamsBuilder('app')
    const numbers = builder.stream('in', { topic: 'in', parse: jsonValue<number>() })
    const pass = () =>
      process<number, number>(() => ({ process: (r, ctx) => ctx.forward(r) }), { name: 'same' })
    numbers.pipe(pass(), to('a'))
    numbers.pipe(pass(), to('b'))
    expect(() => builder.build()).toThrow(/process "same": name already used/)
  })
})
