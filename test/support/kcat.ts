/** kcat (librdkafka) as an independent Kafka client: what it writes, our client must read the same way. */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Produces `key<TAB>value` lines, keyed, with librdkafka's `murmur2_random` partitioner — the same
 * hash as the Java client's default partitioner.
 */
export async function kcatProduce(
  brokers: string[],
  topic: string,
  records: Array<{ key: string; value: string }>,
) {
  const input = records.map((r) => `${r.key}\t${r.value}`).join('\n')
  const child = run('kcat', [
    '-P',
    '-b',
    brokers.join(','),
    '-t',
    topic,
    '-K',
    '\t',
    '-X',
    'partitioner=murmur2_random',
  ])
  child.child.stdin?.end(`${input}\n`)
  await child
}

/** Reads a whole topic from the beginning: every record's key, partition, offset, headers and value. */
export async function kcatConsume(brokers: string[], topic: string) {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%p\t%o\t%h\t%s\n'],
    { maxBuffer: 256 * 1024 * 1024 },
  )
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [key, partition, offset, headers, value] = line.split('\t')
      return {
        key: key!,
        partition: Number(partition),
        offset: Number(offset),
        headers: headers!,
        value: value!,
      }
    })
}

/** One header's value from kcat's `%h` rendering (`name=value,name=value`). */
export function headerValue(headers: string, name: string): string | undefined {
  const start = headers.indexOf(`${name}=`)
  if (start < 0) return undefined
  const end = headers.indexOf(',', start)
  return headers.slice(start + name.length + 1, end < 0 ? undefined : end)
}
