/**
 * CPU over a load phase of bench:edge, by who used it: the service under test and wrk are processes of
 * their own here, not the harness's measured process, so the harness's meter would count both in
 * "other". The service is read from its /proc stat (all its threads: the relay's worker too); wrk,
 * which exits at the end of the phase, from this process's children's time, which counts a child once
 * it has been waited for (Node waits for wrk on exit; the service is still running, so not counted).
 */
import { readFileSync } from 'node:fs'
import { type CpuUse, cpuMeter } from '../harness/measure.ts'

const TICK = 100 // USER_HZ on Linux

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [11] utime, [12] stime … */
function statFields(pid: number | 'self'): number[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number)
}

/** CPU seconds a live process used so far, all its threads. */
const processSeconds = (pid: number) => {
  const f = statFields(pid)
  return (f[11]! + f[12]!) / TICK
}

/** CPU seconds of this process's children that ended and were waited for (cutime + cstime). */
const reapedChildrenSeconds = () => {
  const f = statFields('self')
  return (f[13]! + f[14]!) / TICK
}

export interface EdgeCpu {
  seconds: number
  cores: number
  service: number
  wrk: number
  postgres: number
  kafka: number
  /** Everything else busy, this benchmark's own process included. */
  other: number
  idle: number
}

/** Starts measuring; `stop()` (after wrk exited) returns the CPU seconds each used since. */
export function edgeCpuMeter(database: string, servicePid: number): { stop: () => EdgeCpu } {
  const machine = cpuMeter(database)
  const service = processSeconds(servicePid)
  const children = reapedChildrenSeconds()
  return {
    stop: () => {
      const m: CpuUse = machine.stop()
      const s = processSeconds(servicePid) - service
      const w = reapedChildrenSeconds() - children
      const { seconds, cores, postgres, kafka, idle } = m
      return {
        seconds,
        cores,
        service: s,
        wrk: w,
        postgres,
        kafka,
        other: Math.max(0, m.other + m.node - s - w),
        idle,
      }
    },
  }
}

/** The peak resident memory of a live process (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb ?? Number.NaN) * 1024
}
