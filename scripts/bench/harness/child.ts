/**
 * The child side of forkPhase (phase.ts): argv is the phase's module, its export name and its config;
 * or the module and WARM, to load it and write Node's compile cache without running anything.
 */
import { flushCompileCache } from 'node:module'
import { type Ask, type ChildMessage, type ChildPhase, WARM } from './phase.ts'

const [module = '', name = '', config = '{}'] = process.argv.slice(2)
if (name === WARM) {
  await import(module)
  flushCompileCache()
  process.exit(0)
}
const send = (message: ChildMessage) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()))

const ask: Ask = (question) => {
  // Listen before asking: the answer may come back before `send` resolves.
  const answered = new Promise<unknown>((resolve) => {
    const onMessage = (message: { type: string; answer: unknown }) => {
      if (message.type !== 'answer') return
      process.off('message', onMessage)
      resolve(message.answer)
    }
    process.on('message', onMessage)
  })
  return send({ type: 'ask', question }).then(() => answered)
}

let code = 0
try {
  const phase = (await import(module))[name] as ChildPhase<unknown, unknown> | undefined
  if (!phase?.run) throw new Error(`${module} exports no phase "${name}"`)
  await send({ type: 'result', result: await phase.run(JSON.parse(config), ask) })
} catch (error) {
  await send({ type: 'error', message: (error as Error).stack ?? String(error) })
  code = 1
}
process.exit(code)
