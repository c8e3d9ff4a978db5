import { pino } from 'pino'
import type { LogLevel } from './config.ts'

/** JSON lines on stdout (pino), shared by fastify and the runtime so every line has the same shape. */
export function createLogger(level: LogLevel) {
  return pino({ level, base: { service: 'commerce-streams' } })
}
