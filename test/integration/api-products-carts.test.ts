/** The catalogue and carts on a real PostgreSQL: admin product creation, product reads, cart changes. */
import { describe, expect, it } from 'vitest'
import { useApiFixture } from '../support/api-fixture.ts'

const { get, admin, newUser, newProduct, api, TOKEN } = useApiFixture()

const send = (method: 'PUT' | 'DELETE' | 'POST', url: string, payload?: unknown, headers = {}) =>
  api.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }), headers })
const put = (userId: number | string, productId: number | string, quantity: unknown) =>
  send('PUT', `/users/${userId}/carts/${productId}`, { quantity })

describe('POST /admin/products', () => {
  it('POST /admin/products should create a product and answer 201 with it, recording its starting stock', async () => {
    const body = await admin('/admin/products', {
      name: 'Desk',
      description: 'Oak',
      price: 250_000,
      stock: 7,
    })
    expect(body).toEqual({
      productId: expect.any(Number),
      name: 'Desk',
      description: 'Oak',
      price: 250_000,
      stock: 7,
    })
    const row = await api.db
      .selectFrom('products')
      .selectAll()
      .where('id', '=', String(body.productId))
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ name: 'Desk', price: '250000', stock: 7, initial_stock: 7 })
  })

  it('POST /admin/products should default the description to null', async () => {
    expect(await admin('/admin/products', { name: 'Lamp', price: 0, stock: 0 })).toMatchObject({
      description: null,
      price: 0,
      stock: 0,
    })
  })

  it.each([
    ['a missing name', { price: 1, stock: 1 }, 'body.name'],
    ['an empty name', { name: '', price: 1, stock: 1 }, 'body.name'],
    ['a negative price', { name: 'x', price: -1, stock: 1 }, 'body.price'],
    ['a fractional price', { name: 'x', price: 1.5, stock: 1 }, 'body.price'],
    ['a missing price', { name: 'x', stock: 1 }, 'body.price'],
    ['a negative stock', { name: 'x', price: 1, stock: -1 }, 'body.stock'],
    ['a stock past the integer column', { name: 'x', price: 1, stock: 2 ** 31 }, 'body.stock'],
    ['a description that is a number', { name: 'x', price: 1, stock: 1, description: 5 }, 'body.description'],
  ])('POST /admin/products should answer 400 VALIDATION_FAILED for %s', async (_what, body, field) => {
    const res = await send('POST', '/admin/products', body, { authorization: `Bearer ${TOKEN}` })
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    expect(res.json().message).toContain(field)
  })
})

describe('GET /products', () => {
  it('GET /products/:productId should answer the product', async () => {
    const productId = await newProduct({ name: 'Chair', price: 40_000, stock: 3 })
    const res = await get(`/products/${productId}`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ productId, name: 'Chair', description: null, price: 40_000, stock: 3 })
  })

  it('GET /products/:productId should answer 404 PRODUCT_NOT_FOUND for an unknown product', async () => {
    const res = await get('/products/987654321')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ code: 'PRODUCT_NOT_FOUND', message: 'no product 987654321' })
  })

  it.each(['abc', '0', '1.5'])(
    'GET /products/:productId should answer 400 naming params.productId for %s',
    async (id) => {
      const res = await get(`/products/${id}`)
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toContain('params.productId')
    },
  )

  it('GET /products should page through every product in id order', async () => {
    const ids = [await newProduct({ name: 'p1' }), await newProduct({ name: 'p2' }), await newProduct()]
    const seen: number[] = []
    let after: number | undefined
    for (;;) {
      const res = await get(`/products?limit=2${after ? `&after=${after}` : ''}`)
      expect(res.statusCode).toBe(200)
      const page = res.json() as Array<{ productId: number }>
      expect(page.length).toBeLessThanOrEqual(2)
      if (page.length === 0) break
      seen.push(...page.map((p) => p.productId))
      after = page.at(-1)!.productId
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b))
    expect(seen).toEqual(expect.arrayContaining(ids))
    expect(new Set(seen).size).toBe(seen.length)
  })

  it.each([
    ['limit=0', 'querystring.limit'],
    ['limit=1001', 'querystring.limit'],
    ['after=x', 'querystring.after'],
  ])('GET /products should answer 400 VALIDATION_FAILED for %s', async (query, field) => {
    const res = await get(`/products?${query}`)
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain(field)
  })
})

describe('carts', () => {
  it('a cart should start empty, take quantities, total at the current prices, and drop a line set to 0', async () => {
    const userId = await newUser()
    const keyboard = await newProduct({ name: 'Keyboard', price: 1_500 })
    const mouse = await newProduct({ name: 'Mouse', price: 700 })
    expect((await get(`/users/${userId}/carts`)).json()).toEqual({ items: [], totalAmount: 0 })

    expect((await put(userId, mouse, 3)).statusCode).toBe(200)
    const res = await put(userId, keyboard, 2)
    expect(res.json()).toEqual({
      items: [
        { productId: keyboard, name: 'Keyboard', price: 1_500, quantity: 2 },
        { productId: mouse, name: 'Mouse', price: 700, quantity: 3 },
      ],
      totalAmount: 5_100,
    })
    // PUT sets the quantity; it does not add to it.
    expect((await put(userId, keyboard, 5)).json().items[0].quantity).toBe(5)
    expect((await put(userId, keyboard, 0)).json()).toEqual({
      items: [{ productId: mouse, name: 'Mouse', price: 700, quantity: 3 }],
      totalAmount: 2_100,
    })
    expect((await get(`/users/${userId}/carts`)).json().totalAmount).toBe(2_100)
  })

  it('DELETE /users/:userId/carts/:productId should remove the line, and answer the same when it is absent', async () => {
    const userId = await newUser()
    const productId = await newProduct()
    await put(userId, productId, 4)
    const removed = await send('DELETE', `/users/${userId}/carts/${productId}`)
    expect(removed.statusCode).toBe(200)
    expect(removed.json()).toEqual({ items: [], totalAmount: 0 })
    const again = await send('DELETE', `/users/${userId}/carts/${productId}`)
    expect(again.statusCode).toBe(200)
    expect(
      await api.db.selectFrom('cart_items').selectAll().where('user_id', '=', String(userId)).execute(),
    ).toEqual([])
  })

  it('a cart should be the user’s own: another user’s lines do not show', async () => {
    const [alice, bob] = [await newUser('alice'), await newUser('bob')]
    const productId = await newProduct()
    await put(alice, productId, 1)
    expect((await get(`/users/${bob}/carts`)).json().items).toEqual([])
  })

  it.each([
    ['GET', (u: number, _p: number) => get(`/users/${u + 1_000_000}/carts`), 'USER_NOT_FOUND'],
    ['PUT', (u: number, p: number) => put(u + 1_000_000, p, 1), 'USER_NOT_FOUND'],
    ['PUT', (u: number, p: number) => put(u, p + 1_000_000, 1), 'PRODUCT_NOT_FOUND'],
    ['PUT 0', (u: number, p: number) => put(u, p + 1_000_000, 0), 'PRODUCT_NOT_FOUND'],
    [
      'DELETE',
      (u: number, p: number) => send('DELETE', `/users/${u + 1_000_000}/carts/${p}`),
      'USER_NOT_FOUND',
    ],
    [
      'DELETE',
      (u: number, p: number) => send('DELETE', `/users/${u}/carts/${p + 1_000_000}`),
      'PRODUCT_NOT_FOUND',
    ],
  ])('%s on a cart should answer 404 %s for an unknown one', async (_method, call, code) => {
    const userId = await newUser()
    const productId = await newProduct()
    const res = await call(userId, productId)
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe(code)
    expect(
      await api.db.selectFrom('cart_items').selectAll().where('user_id', '=', String(userId)).execute(),
    ).toEqual([])
  })

  it.each([
    ['a negative quantity', 1, 1, { quantity: -1 }, 'body.quantity'],
    ['a fractional quantity', 1, 1, { quantity: 0.5 }, 'body.quantity'],
    ['a quantity above 1,000,000', 1, 1, { quantity: 1_000_001 }, 'body.quantity'],
    ['a missing quantity', 1, 1, {}, 'body.quantity'],
    ['a quantity as text', 1, 1, { quantity: '2' }, 'body.quantity'],
    ['a bad userId', 'x', 1, { quantity: 1 }, 'params.userId'],
    ['a bad productId', 1, 0, { quantity: 1 }, 'params.productId'],
  ])(
    'PUT /users/:userId/carts/:productId should answer 400 VALIDATION_FAILED for %s',
    async (_w, u, p, body, field) => {
      const res = await send('PUT', `/users/${u}/carts/${p}`, body)
      expect(res.statusCode).toBe(400)
      expect(res.json().code).toBe('VALIDATION_FAILED')
      expect(res.json().message).toContain(field)
    },
  )
})
