/** The records and rows a task produces, as data: DLQ records, output ids, table rows by table. */
import type { TableRow } from '../api.ts'
import type { RecordErrorCode } from '../errors.ts'
import type { RawRecord } from '../record.ts'
import type { OutboxRecord } from './backend.ts'
import { headerText } from './header-text.ts'

export const Headers = {
  ERROR_CODE: 'error.code',
  ERROR_MESSAGE: 'error.message',
  ORIGINAL_TOPIC: 'original.topic',
  ORIGINAL_PARTITION: 'original.partition',
  ORIGINAL_OFFSET: 'original.offset',
  ORIGINAL_TIMESTAMP: 'original.timestamp',
} as const

/**
 * The DLQ record for a record that cannot be read or processed: the original key and value bytes,
 * untouched, with the cause and the original position in headers — and a deterministic id, like every
 * output. The message can quote the bad input, so it is made header-safe (see `headerText`).
 */
export function deadLetter(
  ids: { applicationId: string; outputIdHeader: string },
  raw: RawRecord,
  code: RecordErrorCode,
  message: string,
): OutboxRecord {
  return {
    topic: `${raw.topic}.dlq`,
    key: raw.key === null ? null : Buffer.from(raw.key),
    value: raw.value === null ? Buffer.alloc(0) : Buffer.from(raw.value),
    headers: {
      ...raw.headers,
      [ids.outputIdHeader]: `${ids.applicationId}/${raw.topic}/${raw.partition}/${raw.offset}/dlq`,
      [Headers.ERROR_CODE]: code,
      [Headers.ERROR_MESSAGE]: headerText(message),
      [Headers.ORIGINAL_TOPIC]: raw.topic,
      [Headers.ORIGINAL_PARTITION]: String(raw.partition),
      [Headers.ORIGINAL_OFFSET]: String(raw.offset),
      [Headers.ORIGINAL_TIMESTAMP]: String(raw.timestamp),
    },
  }
}

export function groupRows(
  rows: Array<{ table: string; row: TableRow }>,
): Array<{ table: string; rows: TableRow[] }> {
  const byTable = new Map<string, TableRow[]>()
  for (const { table, row } of rows) {
    const list = byTable.get(table)
    if (list) list.push(row)
    else byTable.set(table, [row])
  }
  return [...byTable].map(([table, tableRows]) => ({ table, rows: tableRows }))
}
