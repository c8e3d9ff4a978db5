/** What the global setup hands to every integration test file (through vitest's provide/inject). */
export interface Endpoints {
  kafkaBrokers: string[]
  /** A server-level URL; each test file creates its own database on this server. */
  postgresUrl: string
  redisUrl: string
  /** Where they came from, printed once so a run says what it really talked to. */
  source: { kafka: string; postgres: string; redis: string }
}

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: Endpoints
  }
}
