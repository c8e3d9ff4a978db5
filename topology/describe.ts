/** The topology as data for people: JSON for `GET /topology`, Mermaid for docs and dashboards. */
import type { Topology } from './builder.ts'

export interface TopologyDescription {
  applicationId: string
  sources: Array<{ name: string; topic: string; processor: string }>
  processors: Array<{
    name: string
    sources: string[]
    stores: string[]
    sinks: string[]
    lookups: string[]
    tables: string[]
    onError: string
  }>
  /** `loading`: eager (loaded whole when a task opens) or keyed (by the keys each batch needs). */
  stores: Array<{ name: string; type: string; loading: string; processor: string }>
  sinks: Array<{ name: string; topic: string }>
  lookups: string[]
  tables: string[]
  dlqs: string[]
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
  }
  for (const node of topology.nodes) {
    switch (node.kind) {
      case 'source':
        description.sources.push({ name: node.name, topic: node.topic, processor: readerOf(node.name) })
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
        description.sinks.push({ name: node.name, topic: node.topic })
        break
    }
  }
  return description
}

/** A Mermaid flowchart: topics as stadiums, processors as boxes, stores as cylinders. */
export function topologyToMermaid(topology: Topology): string {
  const id = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`
  const lines = ['flowchart LR']
  for (const node of topology.nodes) {
    if (node.kind === 'source') lines.push(`  ${id('topic', node.topic)}(["${node.topic}"])`)
    if (node.kind === 'sink') lines.push(`  ${id('topic', node.topic)}(["${node.topic}"])`)
    if (node.kind === 'store') lines.push(`  ${id('store', node.name)}[("${node.name}")]`)
    if (node.kind === 'lookup') lines.push(`  ${id('lookup', node.name)}[/"${node.name}"/]`)
    if (node.kind === 'table') lines.push(`  ${id('table', node.name)}[("table ${node.name}")]`)
  }
  for (const p of topology.processors) {
    lines.push(`  ${id('processor', p.name)}["${p.name}"]`)
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
