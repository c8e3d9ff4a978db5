/**
 * One guard for every route: text that is not valid UTF-8, or that PostgreSQL cannot store as sent
 * (see topology/storable.ts), is 400 VALIDATION_FAILED naming the field — in the body, the path, the
 * query string or a header — before any handler or schema sees it. Routes need do nothing.
 *
 * Three places decode text before our code runs, and each replaced what it could not decode
 * silently: the JSON body (U+FFFD), the path (fastify's own FST_ERR_BAD_URL, outside our error
 * catalogue) and the query string (the raw "%ED%A0%80" kept as the value). Each is taken over here.
 */
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify'
import { CommerceError } from '../service/errors.ts'
import { findUnstorable } from '../topology/storable.ts'
import { replyWithError } from './errors.ts'

/** Field paths as the schema errors name them: `body.items.0.name`. */
const dotted = (path: string, segment: string | number) => `${path}.${segment}`

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A path that long is someone probing, not a field name worth echoing whole. */
const MAX_PATH_IN_MESSAGE = 200

const refusal = (path: string, reason: string) => {
  const shown = path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE)}…` : path
  return new CommerceError('VALIDATION_FAILED', `${shown}: ${reason}`)
}

/** The decoded component, or undefined when it is not percent-encoded UTF-8. */
const decoded = (component: string): string | undefined => {
  try {
    return decodeURIComponent(component)
  } catch {
    return undefined
  }
}

/** Query components that did not decode, by the object the parser returned (read by the hook). */
const undecodedKeys = new WeakMap<object, string[]>()

/**
 * fast-querystring's semantics ("+" is a space, a repeated key becomes an array), but a component
 * that is not percent-encoded UTF-8 is remembered rather than kept raw. The parser cannot refuse
 * the request itself: it runs inside the router, before there is a reply to answer with.
 */
export function parseQuerystring(text: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null)
  const undecoded: string[] = []
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const at = pair.indexOf('=')
    const [rawKey, rawValue] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)]
    const key = decoded(rawKey.replaceAll('+', ' '))
    const value = decoded(rawValue.replaceAll('+', ' '))
    if (key === undefined || value === undefined) {
      undecoded.push(key ?? rawKey)
      continue
    }
    const previous = query[key]
    query[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value]
  }
  if (undecoded.length > 0) undecodedKeys.set(query, undecoded)
  return query
}

/** The route parameter a URL's undecodable segment would have filled, or "url" when none fits. */
function badSegmentName(url: string, method: string, routes: ReadonlyArray<{ method: string; url: string }>) {
  const segments = (url.split(/[?#]/, 1)[0] ?? '').split('/')
  const bad = segments.findIndex((s) => decoded(s) === undefined)
  for (const route of routes) {
    const parts = route.url.split('/')
    if (route.method !== method || parts.length !== segments.length || !parts[bad]?.startsWith(':')) continue
    const fits = parts.every((part, i) => part.startsWith(':') || part === decoded(segments[i]!))
    if (fits) return `params.${parts[bad].slice(1)}`
  }
  return 'url'
}

/**
 * Builds the guard. `serverOptions` go to `Fastify(...)` (the router's hooks can only be set
 * there); `install` adds the body parser and the hook, before any route is registered.
 */
export function textGuard() {
  const routes: Array<{ method: string; url: string }> = []

  const serverOptions = {
    routerOptions: { querystringParser: parseQuerystring },
    frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
      if (error.code !== 'FST_ERR_BAD_URL') return replyWithError(error, request, reply)
      const field = badSegmentName(request.url, request.method, routes)
      return replyWithError(refusal(field, 'not valid percent-encoded UTF-8'), request, reply)
    },
  } satisfies Partial<FastifyServerOptions>

  function install(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url })
    })

    // fastify decodes JSON bodies leniently (invalid bytes become U+FFFD); decode strictly, then
    // hand the text to fastify's own parser, which keeps its prototype-poisoning protection.
    const parseJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      let text: string
      try {
        text = utf8.decode(body as Buffer)
      } catch {
        done(refusal('body', 'not valid UTF-8'), undefined)
        return
      }
      parseJson(request, text, done)
    })

    // preValidation: after the body is parsed (and after the admin routes' bearer check, so an
    // anonymous caller learns nothing), before the schemas and the handler.
    app.addHook('preValidation', async (request) => {
      const undecoded = undecodedKeys.get(request.query as object)?.[0]
      if (undecoded !== undefined)
        throw refusal(`querystring.${undecoded}`, 'not valid percent-encoded UTF-8')
      const parts = {
        body: request.body,
        params: request.params,
        querystring: request.query,
        headers: request.headers,
      }
      for (const [root, value] of Object.entries(parts)) {
        const found = findUnstorable(value, { root, join: dotted, maxDepth: Number.POSITIVE_INFINITY })
        if (found) throw refusal(found.path, found.reason)
      }
    })
  }

  return { serverOptions, install }
}
