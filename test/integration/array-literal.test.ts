/**
 * The array literals the runtime and the shop send in place of driver-built arrays mean to PostgreSQL
 * exactly what they held: every string a producer can send (quotes, backslashes, braces, commas, blanks,
 * the words NULL and null, the empty string, any Unicode), SQL NULLs, numbers and bytes.
 */
import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { type ArrayElement, arrayLiteral } from '../../topology/postgres/array-literal.ts'
import { useInfra } from '../support/infra.ts'
import { migratedDb } from '../support/runtime-fixtures.ts'

const infra = useInfra()
let destroy: () => Promise<void> = async () => {}
afterAll(() => destroy())

const hostile = [
  '',
  'NULL',
  'null',
  'a,b',
  '{x}',
  '{',
  '}',
  ' lead',
  'trail ',
  ' ',
  'quo"te',
  '"',
  'back\\slash',
  '\\',
  '\\"',
  '"\\',
  "it's",
  'tab\there',
  'new\nline',
  'ünï ☃ 💥',
  '2026-12-02T19:30:00.000Z',
  '0f3c6d1e-5a7b-4c2d-9e8f-1a2b3c4d5e6f',
]

describe('arrayLiteral', () => {
  it('should round-trip every string, NULL among them, through text[], element for element', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const values: ArrayElement[] = [...hostile, null, ...hostile.map((s) => `${s}${s}`), undefined]
    const { rows } = await sql<{ back: Array<string | null>; n: number }>`
      select ${arrayLiteral(values)}::text[] as back,
        array_length(${arrayLiteral(values)}::text[], 1) as n`.execute(db)
    expect(rows[0]!.n).toBe(values.length)
    expect(rows[0]!.back).toEqual(values.map((v) => v ?? null))
    // And it is the array the driver would have sent for the same values.
    const { rows: same } = await sql<{ same: boolean }>`
      select ${arrayLiteral(values)}::text[] is not distinct from ${values.map((v) => v ?? null)}::text[] as same`.execute(
      db,
    )
    expect(same[0]!.same).toBe(true)
  })

  it('should read numbers, bigints and booleans as their types, and an empty array as empty', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const { rows } = await sql<{ ids: string[]; amounts: number[]; flags: boolean[]; empty: string[] }>`
      select ${arrayLiteral([1, -7, 9_007_199_254_740_993n, 0])}::bigint[] as ids,
        ${arrayLiteral([1.5, -0.25, 1e21])}::float8[] as amounts,
        ${arrayLiteral([true, false, null])}::boolean[] as flags,
        ${arrayLiteral([])}::text[] as empty`.execute(db)
    expect(rows[0]).toEqual({
      ids: ['1', '-7', '9007199254740993', '0'],
      amounts: [1.5, -0.25, 1e21],
      flags: [true, false, null],
      empty: [],
    })
  })

  it('should send Buffers as bytea, every byte value kept', async () => {
    const db = await migratedDb(infra.databaseUrl)
    destroy = () => db.destroy()
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    const values = [all, Buffer.alloc(0), null, Buffer.from('"\\{},')]
    const { rows } = await sql<{ back: Array<Buffer | null> }>`
      select ${arrayLiteral(values)}::bytea[] as back`.execute(db)
    expect(rows[0]!.back).toEqual(values)
  })
})
