/** The topology as data for people: JSON for `GET /topology`, Mermaid for docs and dashboards. */
import type { OperatorDescription, Topology } from './builder.ts'

export interface TopologyDescription {
  applicationId: string
  /** `internal`: the topology's own topic (a DSL `repartition`'s), created by the runtime. */
  sources: Array<{
    name: string
    topic: string
    processor: string
    internal: boolean
    /** Records whose output id the partition already applied are skipped within this many offsets; null: off. */
    deduplicationWindow: number | null
  }>
  processors: Array<{
    name: string
    sources: string[]
    stores: string[]
    sinks: string[]
    lookups: string[]
    tables: string[]
    onError: string
    /** The DSL operators it runs, from its source on (empty for a Processor API processor). */
    operators: OperatorDescription[]
  }>
  /** `loading`: eager (loaded whole when a task opens) or keyed (by the keys each batch needs). */
  stores: Array<{ name: string; type: string; loading: string; processor: string }>
  sinks: Array<{ name: string; topic: string; internal: boolean }>
  lookups: string[]
  tables: string[]
  dlqs: string[]
  /** Every topic, who reads and writes it, and whether the topology owns it (internal). */
  topics: Array<{ topic: string; internal: boolean; readBy: string | null; writtenBy: string[] }>
}

export function describeTopology(topology: Topology): TopologyDescription {
  const processors = topology.processors
  const readerOf = (source: string) => processors.find((p) => p.sources.includes(source))?.name ?? ''
  const ownerOf = (store: string) => processors.find((p) => p.stores.includes(store))?.name ?? ''
  const description: TopologyDescription = {
    applicationId: topology.applicationId,
    sources: [],
    processors: [],
    stores: [],
    sinks: [],
    lookups: [],
    tables: [],
    dlqs: [],
    topics: describeTopics(topology),
  }
  for (const node of topology.nodes) {
    switch (node.kind) {
      case 'source':
        description.sources.push({
          name: node.name,
          topic: node.topic,
          processor: readerOf(node.name),
          internal: node.internal === true,
          deduplicationWindow: topology.deduplication(node) ?? null,
        })
        description.dlqs.push(`${node.topic}.dlq`)
        break
      case 'processor':
        description.processors.push({
          name: node.name,
          sources: [...node.sources],
          stores: [...node.stores],
          sinks: [...node.sinks],
          lookups: node.lookups.map((l) => l.name),
          tables: [...node.tables],
          onError: node.onError,
          operators: (node.operators ?? []).map((o) => ({ ...o, next: [...o.next], uses: [...o.uses] })),
        })
        break
      case 'store':
        description.stores.push({
          name: node.name,
          type: node.type,
          loading: node.loading,
          processor: ownerOf(node.name),
        })
        break
      case 'lookup':
        description.lookups.push(node.name)
        break
      case 'table':
        description.tables.push(node.name)
        break
      case 'sink':
        description.sinks.push({ name: node.name, topic: node.topic, internal: node.internal === true })
        break
    }
  }
  return description
}

function describeTopics(topology: Topology): TopologyDescription['topics'] {
  const { inputs, outputs, internal } = topology.topics()
  return [...new Set([...inputs, ...outputs])].map((topic) => {
    const source = topology.nodes.find((n) => n.kind === 'source' && n.topic === topic)
    const sinks = new Set(
      topology.nodes.filter((n) => n.kind === 'sink' && n.topic === topic).map((n) => n.name),
    )
    const dlqOf = topic.endsWith('.dlq') ? topic.slice(0, -'.dlq'.length) : undefined
    const writtenBy = topology.processors.filter(
      (p) =>
        p.sinks.some((s) => sinks.has(s)) ||
        (dlqOf !== undefined && topology.sourceTopics(p).includes(dlqOf)),
    )
    return {
      topic,
      internal: internal.includes(topic),
      readBy: source
        ? (topology.processors.find((p) => p.sources.includes(source.name))?.name ?? null)
        : null,
      writtenBy: writtenBy.map((p) => p.name),
    }
  })
}

/** A Mermaid flowchart: topics as stadiums, processors as boxes, stores as cylinders. */
export function topologyToMermaid(topology: Topology): string {
  const id = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`
  const lines = ['flowchart LR']
  const label = (topic: string, internal?: boolean) => (internal ? `${topic} (internal)` : topic)
  for (const node of topology.nodes) {
    if (node.kind === 'source')
      lines.push(`  ${id('topic', node.topic)}(["${label(node.topic, node.internal)}"])`)
    if (node.kind === 'sink')
      lines.push(`  ${id('topic', node.topic)}(["${label(node.topic, node.internal)}"])`)
    if (node.kind === 'store') lines.push(`  ${id('store', node.name)}[("${node.name}")]`)
    if (node.kind === 'lookup') lines.push(`  ${id('lookup', node.name)}[/"${node.name}"/]`)
    if (node.kind === 'table') lines.push(`  ${id('table', node.name)}[("table ${node.name}")]`)
  }
  for (const p of topology.processors) {
    // A DSL processor shows its operators in order: source, then each one's kind.
    const operators = (p.operators ?? []).slice(1).map((o) => o.name)
    lines.push(`  ${id('processor', p.name)}["${[p.name, ...operators].join(' → ')}"]`)
    for (const topic of topology.sourceTopics(p)) {
      lines.push(`  ${id('topic', topic)} --> ${id('processor', p.name)}`)
      lines.push(
        `  ${id('processor', p.name)} -. poison .-> ${id('topic', `${topic}.dlq`)}(["${topic}.dlq"])`,
      )
    }
    for (const store of p.stores) lines.push(`  ${id('processor', p.name)} <--> ${id('store', store)}`)
    for (const { name } of p.lookups) lines.push(`  ${id('lookup', name)} -.-> ${id('processor', p.name)}`)
    for (const table of p.tables) lines.push(`  ${id('processor', p.name)} --> ${id('table', table)}`)
    for (const sink of p.sinks)
      lines.push(`  ${id('processor', p.name)} --> ${id('topic', topology.node('sink', sink).topic)}`)
  }
  return `${lines.join('\n')}\n`
}
