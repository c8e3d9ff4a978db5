/** A small JSON client for the demo: the service's HTTP API, with bounded concurrency. */
export interface Reply<T = unknown> {
  status: number
  body: T
}

export class Api {
  readonly base: string
  readonly #token: string | undefined

  constructor(base: string, adminToken?: string) {
    this.base = base
    this.#token = adminToken
  }

  async call<T = unknown>(method: string, path: string, body?: unknown, admin = false): Promise<Reply<T>> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (admin && this.#token) headers.authorization = `Bearer ${this.#token}`
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T }
  }
}

/** Runs `task` for every item with at most `concurrency` in flight; `onDone` after each. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      await task(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** Percentile of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
