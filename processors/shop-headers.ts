/** Record headers the shop itself sets on what it produces (the library's own live in topology/). */
export const ShopHeaders = {
  /** Every output's id (the library's outputIdHeader, named for the shop). */
  OUTPUT_ID: 'commerce.output-id',
  /** Who accepted a coupon issue request: `api` when our HTTP API did (see `judgedAt`). */
  ACCEPTED_BY: 'commerce.accepted-by',
} as const

export const ACCEPTED_BY_API = 'api'
