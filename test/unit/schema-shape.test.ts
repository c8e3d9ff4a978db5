import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { shapeOf } from '../../topology/schema-shape.ts'

describe('shapeOf', () => {
  it('should drop the properties an object does not declare, at every depth', () => {
    const shape = shapeOf(
      Type.Object({ id: Type.Integer(), items: Type.Array(Type.Object({ sku: Type.String() })) }),
    )
    expect(shape({ id: 1, x: 1, items: [{ sku: 'a', y: 2 }] })).toEqual({ id: 1, items: [{ sku: 'a' }] })
  })

  it('should leave an absent optional property absent', () => {
    const shape = shapeOf(Type.Object({ id: Type.Integer(), note: Type.Optional(Type.String()) }))
    expect(Object.keys(shape({ id: 1 }) as object)).toEqual(['id'])
  })

  it("should shape a union's value by the branch it matches", () => {
    const shape = shapeOf(
      Type.Union([
        Type.Object({ status: Type.Literal('ISSUED'), userCouponId: Type.Integer() }),
        Type.Object({ status: Type.Literal('REJECTED'), reason: Type.String() }),
      ]),
    )
    expect(shape({ status: 'REJECTED', reason: 'SOLD_OUT', userCouponId: 9 })).toEqual({
      status: 'REJECTED',
      reason: 'SOLD_OUT',
    })
    expect(shape({ status: 'ISSUED', userCouponId: 9, reason: 'x' })).toEqual({
      status: 'ISSUED',
      userCouponId: 9,
    })
  })

  it('should keep the entries of a schema that admits other properties', () => {
    const counts = Type.Record(Type.String(), Type.Integer())
    expect(shapeOf(counts)({ a: 1, b: 2 })).toEqual({ a: 1, b: 2 })
    const open = Type.Object({ id: Type.Integer() }, { additionalProperties: Type.String() })
    expect(shapeOf(open)({ id: 1, tag: 'x' })).toEqual({ id: 1, tag: 'x' })
  })

  it('should apply codecs innermost first, inside arrays and optional properties', () => {
    const Upper = Type.Decode(Type.String(), (s) => s.toUpperCase())
    const shape = shapeOf(
      Type.Decode(Type.Object({ tags: Type.Array(Upper), note: Type.Optional(Upper) }), (v) => ({
        ...v,
        count: v.tags.length,
      })),
    )
    expect(shape({ tags: ['a', 'b'], note: 'n' })).toEqual({ tags: ['A', 'B'], note: 'N', count: 2 })
  })

  it('should keep a property named __proto__ as a property, not a prototype', () => {
    const shape = shapeOf(Type.Object({ ['__proto__']: Type.Object({ polluted: Type.Boolean() }) }))
    const shaped = shape(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(shaped)).toBe(Object.prototype)
    expect(Object.hasOwn(shaped, '__proto__')).toBe(true)
    expect((shaped as { polluted?: boolean }).polluted).toBeUndefined()
  })
})
