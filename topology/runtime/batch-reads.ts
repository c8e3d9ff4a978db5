/** A batch's reads, made before it runs: lookup keys and keyed-store keys its records name. */
import type { ProcessorNode, RecordKeys, Topology } from '../builder.ts'
import { RecordError, StreamsError } from '../errors.ts'
import type { StreamRecord } from '../record.ts'
import type { BufferedKeyValueStore } from '../stores/key-value.ts'
import { KeyedKeyValueStore } from '../stores/keyed-store.ts'
import type { StateBackend, TaskId } from './backend.ts'

/** The distinct keys a key function names for the batch's parsed records. */
function keysOf(parsed: ReadonlyArray<StreamRecord | RecordError>, keys: RecordKeys<unknown>): Set<string> {
  const wanted = new Set<string>()
  for (const record of parsed) {
    if (record instanceof RecordError) continue
    const k = keys(record.value, record)
    if (typeof k === 'string') wanted.add(k)
    else if (k) for (const one of k) wanted.add(one)
  }
  return wanted
}

/**
 * Fetches every lookup key and keyed-store key the batch's records name, in one request per lookup
 * and per keyed store (only the store keys its cache lacks); returns the lookups' data by name.
 */
export async function readBatch(
  task: TaskId,
  options: { processor: ProcessorNode; backend: StateBackend; topology: Topology },
  stores: ReadonlyMap<string, BufferedKeyValueStore<unknown>>,
  parsed: ReadonlyArray<StreamRecord | RecordError>,
): Promise<Map<string, Map<string, unknown>>> {
  const { processor, backend, topology } = options
  // Every read of the batch at once: each is a round trip of its own, and the batch waits for all.
  const lookups = processor.lookups.map(async ({ name, keys }): Promise<[string, Map<string, unknown>]> => {
    const wanted = keysOf(parsed, keys)
    if (!backend.lookup)
      throw new StreamsError('NO_READER', `the state backend cannot serve lookup "${name}"`)
    return [name, wanted.size > 0 ? await backend.lookup(name, [...wanted]) : new Map()]
  })
  const loads = [...stores].map(async ([name, store]) => {
    if (!(store instanceof KeyedKeyValueStore)) return
    const node = topology.node('store', name)
    if (node.loading !== 'keyed') return
    const missing = store.declare(keysOf(parsed, node.keys))
    if (missing.length > 0) store.loaded(missing, await backend.loadKeys(task, name, missing))
  })
  const [found] = await Promise.all([Promise.all(lookups), Promise.all(loads)])
  return new Map(found)
}
