/**
 * The relay's producer: @platformatic/kafka's `Producer` (its metadata, connections, retries and
 * idempotence: producer id, epoch, sequences) with the Produce request written by
 * `encodeProduceRequest` instead of the library's per-field Buffers (produce-request.ts says why).
 *
 * The library asks its clients for an API by name through `kGetApi`, a protected hook its clients
 * share (its base class documents the symbols as "protected/friend"). For `Produce`, this asks the
 * library first, so the version stays the one the broker and the library agreed on; only when that is
 * v11 does it answer with the same API whose request is encoded here. Any other version, and any
 * compressed send, stays the library's.
 */
import { promisify } from 'node:util'
import {
  type API,
  type Callback,
  createAPI,
  kGetApi,
  Producer,
  produceV11,
  Writer,
} from '@platformatic/kafka'
import { encodeProduceRequest, type ProduceMessage, type ProduceRequestOptions } from './produce-request.ts'

type ProduceArguments = [
  acks: number,
  timeout: number,
  messages: ProduceMessage[],
  options: ProduceRequestOptions & { compression?: string },
]

const NO_RESPONSE = 0

type ProduceResponse = Awaited<ReturnType<typeof produceV11.parseResponse>>

function createRequest(...[acks, timeout, messages, options]: ProduceArguments): Writer {
  const writer = Writer.create().append(encodeProduceRequest(acks, timeout, messages, options))
  if (acks === NO_RESPONSE) writer.context.noResponse = true
  return writer
}

const compactApi = createAPI<ProduceArguments, ProduceResponse>(
  0,
  11,
  createRequest,
  produceV11.parseResponse,
)

/** Produce v11 with the compact encoding, or the library's when the send is compressed. */
function produce(
  connection: Parameters<typeof compactApi>[0],
  ...args: [...ProduceArguments, Callback<ProduceResponse>?]
): void {
  const compression = args[3]?.compression
  const api = compression && compression !== 'none' ? produceV11.api : compactApi
  ;(api as (...a: unknown[]) => void)(connection, ...args)
}

/** `produce` as the library's APIs are shaped; `async` takes the same branch as the callback form. */
export const compactProduceApi: API<ProduceArguments, ProduceResponse> = Object.assign(produce, {
  async: promisify(produce) as API<ProduceArguments, ProduceResponse>['async'],
  key: compactApi.key,
  version: compactApi.version,
})

export class CompactProducer extends Producer {
  override [kGetApi]<RequestArguments extends Array<unknown>, ResponseType>(
    name: string,
    callback: Callback<API<RequestArguments, ResponseType>>,
  ): void {
    super[kGetApi]<RequestArguments, ResponseType>(name, (error, api) => {
      if (error || name !== 'Produce' || api?.version !== compactProduceApi.version) callback(error, api)
      else callback(null, compactProduceApi as unknown as API<RequestArguments, ResponseType>)
    })
  }
}
