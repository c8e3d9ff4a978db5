/** The checks `build()` runs on a topology's nodes before anything runs: every problem, listed. */
import type { TopologyNode } from './builder.ts'

export function validate(nodes: TopologyNode[]): string[] {
  const problems: string[] = []
  const names = new Map<string, TopologyNode>()
  for (const node of nodes) {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(node.name)) problems.push(`${node.kind} "${node.name}": bad name`)
    if (names.has(node.name)) problems.push(`${node.kind} "${node.name}": name already used`)
    else names.set(node.name, node)
  }
  const has = (kind: TopologyNode['kind'], name: string) => names.get(name)?.kind === kind
  const readers = new Map<string, string>()
  const owners = new Map<string, string>()
  const used = new Set<string>()
  for (const node of nodes) {
    if (node.kind !== 'processor') continue
    if (node.sources.length === 0) problems.push(`processor "${node.name}": reads no source`)
    for (const source of node.sources) {
      if (!has('source', source)) problems.push(`processor "${node.name}": unknown source "${source}"`)
      else if (readers.has(source)) {
        problems.push(
          `processor "${node.name}": source "${source}" is already read by "${readers.get(source)}"`,
        )
      } else readers.set(source, node.name)
    }
    for (const store of node.stores) {
      if (!has('store', store)) problems.push(`processor "${node.name}": unknown store "${store}"`)
      // A store is partition-local state of one task; two processors sharing it would need one task.
      else if (owners.has(store)) {
        problems.push(`processor "${node.name}": store "${store}" already belongs to "${owners.get(store)}"`)
      } else owners.set(store, node.name)
    }
    for (const sink of node.sinks) {
      if (!has('sink', sink)) problems.push(`processor "${node.name}": unknown sink "${sink}"`)
    }
    for (const { name } of node.lookups) {
      if (!has('lookup', name)) problems.push(`processor "${node.name}": unknown lookup "${name}"`)
      else used.add(name)
    }
    for (const table of node.tables) {
      if (!has('table', table)) problems.push(`processor "${node.name}": unknown table "${table}"`)
      else used.add(table)
    }
    if (!Number.isInteger(node.maxAttempts) || node.maxAttempts < 1) {
      problems.push(`processor "${node.name}": maxAttempts must be a positive integer`)
    }
    const declared = new Set(
      node.sources.map((s) => names.get(s)).flatMap((s) => (s?.kind === 'source' ? [s.partitions] : [])),
    )
    declared.delete(undefined)
    if (declared.size > 1) {
      problems.push(
        `processor "${node.name}": its sources declare different partition counts, so are not co-partitioned`,
      )
    }
  }
  for (const node of nodes) {
    if (node.kind === 'source' && typeof node.deduplicate === 'object') {
      const { window } = node.deduplicate
      if (!Number.isSafeInteger(window) || window < 1)
        problems.push(`source "${node.name}": the deduplicate window must be a positive integer`)
    }
    if (node.kind === 'store' && node.loading === 'keyed') {
      if (typeof node.keys !== 'function')
        problems.push(`store "${node.name}": a keyed store needs a keys function`)
      if (!Number.isSafeInteger(node.maxCachedEntries) || node.maxCachedEntries < 1)
        problems.push(`store "${node.name}": maxCachedEntries must be a positive integer`)
    }
    if (node.kind === 'source' && !readers.has(node.name))
      problems.push(`source "${node.name}": no processor reads it`)
    if (node.kind === 'store' && !owners.has(node.name))
      problems.push(`store "${node.name}": no processor uses it`)
    if ((node.kind === 'lookup' || node.kind === 'table') && !used.has(node.name)) {
      problems.push(`${node.kind} "${node.name}": no processor uses it`)
    }
  }
  const sourceTopics = nodes.filter((n) => n.kind === 'source').map((n) => n.topic)
  if (new Set(sourceTopics).size !== sourceTopics.length) problems.push('a topic is declared by two sources')
  return problems
}
