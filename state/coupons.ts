/**
 * The coupon aggregate: a coupon's terms and how many units were issued, and the units users hold.
 * Units (user coupons) are written by the coupon processor only; this module reads them.
 */
import type { Kysely, Selectable } from 'kysely'
import type { CouponsTable, Database } from './schema.ts'

export const DiscountTypes = ['RATE', 'AMOUNT'] as const
export type DiscountType = (typeof DiscountTypes)[number]

export interface Coupon {
  couponId: number
  name: string
  discountType: DiscountType
  discountValue: number
  totalQuantity: number
  issuedQuantity: number
  remainingQuantity: number
  expiresAt: Date | null
  minOrderAmount: number | null
}

export interface NewCoupon {
  name: string
  discountType: DiscountType
  /** A percentage 1..100 for RATE, won for AMOUNT (the table's checks enforce it too). */
  discountValue: number
  totalQuantity: number
  expiresAt?: Date | null
  minOrderAmount?: number | null
}

export interface UserCoupon {
  userCouponId: number
  couponId: number
  name: string
  discountType: DiscountType
  discountValue: number
  used: boolean
  issuedAt: Date
  usedAt: Date | null
}

const couponColumns = [
  'id',
  'name',
  'discount_type',
  'discount_value',
  'total_quantity',
  'issued_quantity',
  'expires_at',
  'min_order_amount',
] as const

type CouponRow = Pick<Selectable<CouponsTable>, (typeof couponColumns)[number]>

const toCoupon = (row: CouponRow): Coupon => ({
  couponId: Number(row.id),
  name: row.name,
  discountType: row.discount_type,
  discountValue: row.discount_value,
  totalQuantity: row.total_quantity,
  issuedQuantity: row.issued_quantity,
  remainingQuantity: row.total_quantity - row.issued_quantity,
  expiresAt: row.expires_at,
  minOrderAmount: row.min_order_amount === null ? null : Number(row.min_order_amount),
})

export async function createCoupon(db: Kysely<Database>, input: NewCoupon): Promise<Coupon> {
  const row = await db
    .insertInto('coupons')
    .values({
      name: input.name,
      discount_type: input.discountType,
      discount_value: input.discountValue,
      total_quantity: input.totalQuantity,
      expires_at: input.expiresAt ?? null,
      min_order_amount: input.minOrderAmount ?? null,
    })
    .returning(couponColumns)
    .executeTakeFirstOrThrow()
  return toCoupon(row)
}

export async function findCoupon(db: Kysely<Database>, couponId: number): Promise<Coupon | undefined> {
  const row = await db
    .selectFrom('coupons')
    .select(couponColumns)
    .where('id', '=', String(couponId))
    .executeTakeFirst()
  return row && toCoupon(row)
}

/** The coupons a user holds, oldest first. Empty for a user without coupons (or without a row). */
export async function listUserCoupons(db: Kysely<Database>, userId: number): Promise<UserCoupon[]> {
  const rows = await db
    .selectFrom('user_coupons as uc')
    .innerJoin('coupons as c', 'c.id', 'uc.coupon_id')
    .select([
      'uc.id',
      'uc.coupon_id',
      'c.name',
      'c.discount_type',
      'c.discount_value',
      'uc.used',
      'uc.issued_at',
      'uc.used_at',
    ])
    .where('uc.user_id', '=', String(userId))
    .orderBy('uc.issued_at')
    .orderBy('uc.id')
    .execute()
  return rows.map((row) => ({
    userCouponId: Number(row.id),
    couponId: Number(row.coupon_id),
    name: row.name,
    discountType: row.discount_type,
    discountValue: row.discount_value,
    used: row.used,
    issuedAt: row.issued_at,
    usedAt: row.used_at,
  }))
}
