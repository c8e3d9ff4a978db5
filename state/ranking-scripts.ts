/**
 * The ranking's Lua scripts. Each runs atomically in Redis, so "is the view ready", "was this order
 * counted" and the writes can never interleave with a rebuild or another instance's copy of an event.
 * Ids and quantities travel as strings: Lua numbers would print large ids in exponent form.
 */

/** Script answers that are not data. */
export const NOT_READY = -1

/**
 * The view is ready for a database when the marker names it (ARGV[1] of every script): a marker of
 * another database (dropped and created again, or another one behind the same Redis) is not ready.
 * GET of a missing key is false in Lua, never equal to a name.
 */
const NOT_READY_UNLESS_MARKED = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return ${NOT_READY} end`

/**
 * KEYS: ready, orders:<day>, sales:<day>. ARGV: database, orderId, expireAt (unix s), then productId,
 * quantity pairs. Counts the order once: its quantities are added only when SADD added it. Refuses (-1)
 * while the view is not ready: a write into a Redis that came back empty would be deleted by the
 * rebuild anyway.
 */
export const APPLY_ORDER = `
${NOT_READY_UNLESS_MARKED}
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
for i = 4, #ARGV, 2 do redis.call('ZINCRBY', KEYS[3], ARGV[i + 1], ARGV[i]) end
redis.call('EXPIREAT', KEYS[2], ARGV[3])
redis.call('EXPIREAT', KEYS[3], ARGV[3])
return 1
`

/**
 * KEYS: ready, scratch, then the days' sales keys. ARGV: database, limit. The top products over the
 * days, as [member, score, ...], highest first (ties: the larger id string first); -1 while not ready.
 */
export const TOP = `
${NOT_READY_UNLESS_MARKED}
redis.call('ZUNIONSTORE', KEYS[2], #KEYS - 2, unpack(KEYS, 3))
local top = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'REV', 'WITHSCORES')
redis.call('DEL', KEYS[2])
return top
`

/**
 * KEYS: ready, then orders:<day>, sales:<day> for each day of the window. ARGV: the database the
 * snapshot was read from; JSON, one entry per day in the same order, { expireAt, orders: [id], sales:
 * [quantity, productId, ...] }. Replaces the window with the snapshot and marks the view ready for
 * that database — unless another rebuild from it already did (0): its snapshot is at least as new,
 * and events after it may already be applied on top of it. Another database's view is replaced.
 */
export const REBUILD = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
local days = cjson.decode(ARGV[2])
for d = 1, #days do
  local ordersKey, salesKey, day = KEYS[2 * d], KEYS[2 * d + 1], days[d]
  redis.call('DEL', ordersKey, salesKey)
  -- unpack() is bounded by Lua's C stack: write in chunks.
  for i = 1, #day.orders, 1000 do
    redis.call('SADD', ordersKey, unpack(day.orders, i, math.min(i + 999, #day.orders)))
  end
  for i = 1, #day.sales, 1000 do
    redis.call('ZADD', salesKey, unpack(day.sales, i, math.min(i + 999, #day.sales)))
  end
  redis.call('EXPIREAT', ordersKey, day.expireAt)
  redis.call('EXPIREAT', salesKey, day.expireAt)
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`
