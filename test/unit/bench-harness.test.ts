import { describe, expect, it } from 'vitest'
import { forkPhase } from '../../scripts/bench/harness/phase.ts'
import { table, withMarkedSection } from '../../scripts/bench/harness/report.ts'
import { doubling, failing } from '../support/bench-phases.ts'

describe('the benchmark harness', () => {
  it('should run a child phase in a process of its own, answering its questions, and return its result', async () => {
    const asked: unknown[] = []
    const result = await forkPhase(
      doubling,
      { label: 'x' },
      {
        label: 'doubling',
        timeoutMs: 30_000,
        answer: async (question) => {
          asked.push(question)
          return 21
        },
      },
    )
    expect(asked).toEqual(['a number, please'])
    expect(result).toMatchObject({ label: 'x', doubled: 42 })
    expect(result.pid).not.toBe(process.pid)
  })

  it("should reject with the child's error when a phase fails", async () => {
    await expect(
      forkPhase(failing, { why: 'no broker' }, { label: 'failing', timeoutMs: 30_000 }),
    ).rejects.toThrow(/failing: Error: no broker/)
  })

  it('should reject when a phase asks a question no one answers, and kill the child', async () => {
    await expect(
      forkPhase(doubling, { label: 'x' }, { label: 'unanswered', timeoutMs: 30_000 }),
    ).rejects.toThrow(/unanswered asked a question no one answers/)
  })

  it('should replace only its own section of BENCHMARKS.md, and append it when missing', () => {
    const text =
      '# Benchmarks\n\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\n\n<!-- bench:b -->\nold b\n<!-- /bench:b -->\n'
    expect(withMarkedSection(text, 'a', 'new a')).toBe(text.replace('old a', 'new a'))
    expect(withMarkedSection(text, 'c', 'new c')).toBe(
      `${text}\n<!-- bench:c -->\nnew c\n<!-- /bench:c -->\n`,
    )
  })

  it('should pad a table the way the formatter writes Markdown tables', () => {
    expect(table(['a', 'bb'], [['ccc', 'd']])).toBe('| a   | bb |\n| --- | -- |\n| ccc | d  |')
  })
})
