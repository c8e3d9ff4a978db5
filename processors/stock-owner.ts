/**
 * The stock owner: the one writer of each product's stock. Reserve commands (from the saga or the
 * owner before in an order's chain, one per order and partition, keyed by their first line's product;
 * the last owner of a chain sends the order on as its payment) and stock restore events (from the saga's
 * compensation, or any producer; keyed by product) land on the partition that owns their products, so
 * one task sees every change of a product's stock, in order, and decides from partition-local state
 * with no lock. Each reservation is remembered per (order, product): a command delivered twice answers
 * the same reply and takes nothing twice, and a restore gives back only what an order really reserved.
 *
 * A reserve line whose product this partition does not own (another producer's command, or a topic
 * whose partition count changed) is never decided here: the lines are sent on to their owner, once (a
 * `forwarded` command's foreign lines are answered SHORT NOT_OWNED instead, so no count mismatch can
 * bounce them between partitions for ever).
 */
import { sql } from 'kysely'
import type { Database } from '../state/schema.ts'
import type { KeyValueStore, TableRow } from '../topology/api.ts'
import { process, type StreamContext, type StreamProcessor } from '../topology/dsl/index.ts'
import { arrayLiteral } from '../topology/postgres/array-literal.ts'
import type { LookupReader, TableWriter } from '../topology/postgres/state-backend.ts'
import type { StreamRecord } from '../topology/record.ts'
import { idKeys } from './fields.ts'
import {
  type ReserveChain,
  type ReserveGroup,
  type ReserveLine,
  SAGA_REPLIES_SINK,
  SagaIds,
  type SagaReply,
  type SinkSpec,
  type StockAnswerLine,
  type StockCommand,
  type StockOwnerInput,
  type StockRestoreInput,
  type UserCommand,
} from './order-commands.ts'
import {
  ORDER_STATUS_LOOKUP,
  RESTORE_OUTCOMES,
  type RestoreOutcome,
  readOrderStatus,
  unfailedOrder,
  writeRestoreOutcomes,
} from './restore-outcomes.ts'
import { groupByPartition } from './stock-lines.ts'

export const StockStores = {
  /** Units on hand per product, once this owner has changed them (before that: the products row). */
  STOCK: 'product-stock',
  /** What each (order, product) reserve decided, so a redelivered command changes nothing. */
  RESERVATIONS: 'stock-reservations',
  /** The restore event ids applied, with their outcome: each is applied once. */
  RESTORES: 'stock-restores-applied',
} as const
export const StockLookups = { STOCK: 'product-stock-rows' } as const
export const StockTables = { LEVELS: 'product-stock-levels' } as const
/** Where an owner sends lines it does not own, and an order's next group: the stock commands. */
export const FORWARD_SINK = 'forward-stock-commands'
/** Where the last owner of an order's chain sends its payment: the user commands. */
export const PAYMENT_SINK = 'to-user-commands'

/** A reserve's decision. A RELEASED reservation was reserved, then given back by a restore. */
export type Reservation =
  | { state: 'RESERVED' | 'RELEASED'; quantity: number }
  | { state: 'SHORT'; quantity: number; reason: 'INSUFFICIENT_STOCK' | 'PRODUCT_NOT_FOUND' }

export const reservationKey = (orderId: number, productId: number) => `${orderId}/${productId}`

/** The partition of the stock commands that owns a product (undefined while the count is unknown). */
const ownerPartition = (ctx: StreamContext<never>) => (productId: number) =>
  ctx.partitionFor(FORWARD_SINK, String(productId))

export class StockOwner implements StreamProcessor<StockOwnerInput, never> {
  process(record: StreamRecord<StockOwnerInput>, ctx: StreamContext<never>): void {
    const input = record.value
    if (input.kind === 'reserve') this.#reserve(input, ctx)
    else this.#restore(input, ctx)
  }

  #reserve(command: StockCommand, ctx: StreamContext<never>): void {
    const { orderId, lines, forwarded = false } = command
    const keyProduct = lines[0]!.productId
    const foreign: ReserveLine[] = []
    const answers = lines.flatMap((line): StockAnswerLine[] => {
      if (this.#owns(line.productId, keyProduct, ctx)) return [this.#decide(orderId, line, ctx)]
      if (forwarded) return [{ productId: line.productId, state: 'SHORT', reason: 'NOT_OWNED' }]
      foreign.push(line)
      return []
    })
    if (command.chain) {
      this.#continueChain(command, command.chain, answers, foreign, ctx)
      return
    }
    this.#forward(orderId, foreign, ctx)
    if (answers.length === 0) return
    // A command seen before gets the reply it got then: the saga ignores a reply it no longer awaits.
    this.#answer(orderId, keyProduct, answers, ctx)
  }

  /**
   * One hop of an order's chain, this owner's lines decided: every line so far reserved → the order
   * goes on, to the owner of the next group (the lines this partition does not own first, as a
   * forwarded group), or after the last group as the payment to the user's owner; a line short → the
   * chain stops here and the saga hears every line's answer at once, so it gives back exactly the
   * reserved ones. The same command again decides the same (its reservations are remembered) and
   * sends the same record with the same id.
   */
  #continueChain(
    command: StockCommand,
    chain: ReserveChain,
    answers: StockAnswerLine[],
    foreign: ReserveLine[],
    ctx: StreamContext<never>,
  ): void {
    const { orderId } = command
    const next: ReserveGroup[] = [
      ...groupByPartition(foreign, ownerPartition(ctx)).map((lines) => ({ lines, forwarded: true })),
      ...chain.next,
    ]
    // A line counts as reserved only with the quantity asked: a reservation of this (order, product)
    // with another one was made by another command (another producer's), and the saga, which infers
    // the quantities from the order when the payment answers, must hear it and give that back.
    const asked = new Map(command.lines.map((l) => [l.productId, l.quantity]))
    const stop = answers.some((a) => a.state !== 'RESERVED' || a.quantity !== asked.get(a.productId))
    if (stop) {
      const notAsked = next.flatMap((g) =>
        g.lines.map(
          (l): StockAnswerLine => ({ productId: l.productId, state: 'SHORT', reason: 'NOT_ASKED' }),
        ),
      )
      const before = chain.reserved.map((l): StockAnswerLine => ({ ...l, state: 'RESERVED' }))
      this.#answer(orderId, command.lines[0]!.productId, [...before, ...answers, ...notAsked], ctx)
      return
    }
    // No stop: every line this owner decided is reserved, as asked.
    const reserved = [...chain.reserved, ...command.lines.filter((l) => !foreign.includes(l))]
    const [group, ...rest] = next
    if (group) {
      const first = group.lines[0]!.productId
      const hop: StockCommand = {
        kind: 'reserve',
        orderId,
        lines: group.lines,
        ...(group.forwarded ? { forwarded: true } : {}),
        chain: { ...chain, next: rest, reserved },
      }
      const id = group.forwarded ? SagaIds.forwardedReserve(orderId, first) : SagaIds.reserve(orderId, first)
      ctx.emit(FORWARD_SINK, { key: String(first), value: hop, id })
      return
    }
    const payment: UserCommand = { kind: 'deduct-points', orderId, ...chain.payment }
    ctx.emit(PAYMENT_SINK, {
      key: String(chain.payment.userId),
      value: payment,
      id: SagaIds.deductPoints(orderId),
    })
  }

  #answer(orderId: number, keyProduct: number, answers: StockAnswerLine[], ctx: StreamContext<never>): void {
    const reply: SagaReply = { kind: 'stock-answered', orderId, answers }
    ctx.emit(SAGA_REPLIES_SINK, {
      key: String(orderId),
      value: reply,
      id: SagaIds.reserve(orderId, keyProduct),
    })
  }

  /** Reserves one line, or answers what its reserve decided before. */
  #decide(orderId: number, { productId, quantity }: ReserveLine, ctx: StreamContext<never>): StockAnswerLine {
    const reservations = ctx.store<KeyValueStore<Reservation>>(StockStores.RESERVATIONS)
    const key = reservationKey(orderId, productId)
    let decision = reservations.get(key)
    if (!decision) {
      const stock = this.#stock(productId, ctx)
      if (stock === undefined) decision = { state: 'SHORT', quantity, reason: 'PRODUCT_NOT_FOUND' }
      else if (stock < quantity) decision = { state: 'SHORT', quantity, reason: 'INSUFFICIENT_STOCK' }
      else {
        this.#setStock(productId, stock - quantity, ctx)
        decision = { state: 'RESERVED', quantity }
      }
      reservations.put(key, decision)
    }
    return decision.state === 'SHORT'
      ? { productId, state: 'SHORT', reason: decision.reason }
      : { productId, state: 'RESERVED', quantity: decision.quantity }
  }

  /**
   * Whether this partition owns a product: the partition its commands land on. When the topic's count
   * is unknown only the command's key can tell: its first line's product is owned, the others are not.
   */
  #owns(productId: number, keyProduct: number, ctx: StreamContext<never>): boolean {
    const partition = ownerPartition(ctx)(productId)
    return partition === undefined ? productId === keyProduct : partition === ctx.partition
  }

  /** Sends lines this partition does not own on to their owners, grouped as the saga groups them. */
  #forward(orderId: number, lines: readonly ReserveLine[], ctx: StreamContext<never>): void {
    for (const group of groupByPartition(lines, ownerPartition(ctx))) {
      const first = group[0]!.productId
      const command: StockCommand = { kind: 'reserve', orderId, lines: group, forwarded: true }
      ctx.emit(FORWARD_SINK, {
        key: String(first),
        value: command,
        id: SagaIds.forwardedReserve(orderId, first),
      })
    }
  }

  #restore(event: StockRestoreInput, ctx: StreamContext<never>): void {
    const { eventId, orderId, productId, quantity } = event
    const applied = ctx.store<KeyValueStore<string>>(StockStores.RESTORES)
    if (applied.has(eventId)) return
    const reservations = ctx.store<KeyValueStore<Reservation>>(StockStores.RESERVATIONS)
    const key = reservationKey(orderId, productId)
    const reserved = reservations.get(key)
    // Anyone may write this topic: giving back units no order took would break conservation
    // (initial stock = stock + sold), so only a live reservation of the same size is released.
    let outcome = unfailedOrder(orderId, ctx.lookup(ORDER_STATUS_LOOKUP))
    if (outcome) {
      // The order did not fail: what it reserved stays taken.
    } else if (reserved?.state !== 'RESERVED')
      outcome = 'IGNORED: the order holds no reservation of the product'
    else if (reserved.quantity !== quantity)
      outcome = `IGNORED: the order reserved ${reserved.quantity}, not ${quantity}`
    else {
      const stock = this.#stock(productId, ctx) ?? 0
      this.#setStock(productId, stock + quantity, ctx)
      reservations.put(key, { state: 'RELEASED', quantity })
      outcome = 'APPLIED'
    }
    applied.put(eventId, outcome)
    ctx.write(RESTORE_OUTCOMES, { eventId, kind: 'STOCK', orderId, outcome } satisfies RestoreOutcome)
  }

  /** Units on hand: this owner's own count, else the products row it has not changed yet. */
  #stock(productId: number, ctx: StreamContext<never>): number | undefined {
    const stocks = ctx.store<KeyValueStore<number>>(StockStores.STOCK)
    return stocks.get(String(productId)) ?? ctx.lookup<number>(StockLookups.STOCK).get(String(productId))
  }

  #setStock(productId: number, stock: number, ctx: StreamContext<never>): void {
    ctx.store<KeyValueStore<number>>(StockStores.STOCK).put(String(productId), stock)
    ctx.write(StockTables.LEVELS, { productId, stock })
  }
}

// --- Persistence on PostgreSQL, applied in the batch transaction (see coupon-issuer.ts).

const readStock: LookupReader<Database> = async (db, keys) => {
  const rows = await db
    .selectFrom('products')
    .select(['id', 'stock'])
    .where('id', '=', sql<string>`any(${arrayLiteral(idKeys(keys))}::bigint[])`)
    .execute()
  return new Map(rows.map((r) => [String(r.id), r.stock]))
}

const writeLevels: TableWriter<Database> = async (trx, rows) => {
  // A batch may move one product's stock several times, down and up: the last level is the one to keep.
  const last = new Map<number, number>()
  for (const r of rows as ReadonlyArray<TableRow & { productId: number; stock: number }>)
    last.set(r.productId, r.stock)
  await sql`
    update products set stock = v.stock
    from unnest(${arrayLiteral([...last.keys()])}::bigint[], ${arrayLiteral([...last.values()])}::integer[]) as v(id, stock)
    where products.id = v.id`.execute(trx)
}

/** The products a record names: a reserve's lines, or a restore's product. */
const productsOf = (input: StockOwnerInput): number[] =>
  input.kind === 'reserve' ? input.lines.map((l) => l.productId) : [input.productId]

/**
 * The stock owner's step, with everything it reads and writes: pipe the merged commands and restores
 * into it. `stockCommands` is the topic it reads commands from (it forwards lines it does not own there).
 */
export function stockOwner(replies: SinkSpec, stockCommands: SinkSpec, userCommands: SinkSpec) {
  return process<StockOwnerInput, never>(() => new StockOwner(), {
    name: 'own-stock',
    stores: {
      [StockStores.STOCK]: { loading: 'keyed', keys: (input) => productsOf(input).map(String) },
      [StockStores.RESERVATIONS]: {
        loading: 'keyed',
        keys: (input) => productsOf(input).map((p) => reservationKey(input.orderId, p)),
      },
      [StockStores.RESTORES]: {
        loading: 'keyed',
        keys: (input) => (input.kind === 'stock-restore' ? input.eventId : undefined),
      },
    },
    lookups: {
      [StockLookups.STOCK]: (input) => productsOf(input).map(String),
      [ORDER_STATUS_LOOKUP]: (input) => (input.kind === 'stock-restore' ? String(input.orderId) : undefined),
    },
    tables: [StockTables.LEVELS, RESTORE_OUTCOMES],
    readers: { [StockLookups.STOCK]: readStock, [ORDER_STATUS_LOOKUP]: readOrderStatus },
    writers: { [StockTables.LEVELS]: writeLevels, [RESTORE_OUTCOMES]: writeRestoreOutcomes },
    sinks: { [SAGA_REPLIES_SINK]: replies, [FORWARD_SINK]: stockCommands, [PAYMENT_SINK]: userCommands },
  })
}
