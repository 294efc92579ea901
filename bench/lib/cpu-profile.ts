// Reading a V8 .cpuprofile (node --cpu-prof, or inspector's Profiler.stop): self time per
// function, and the folded stacks a flame graph is drawn from (bench/lib/flame-svg.ts).
//
//   node bench/lib/cpu-profile.ts FILE.cpuprofile [--top=25] [--folded=OUT.folded]
import { readFileSync, writeFileSync } from 'node:fs'
import { relative } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const root = new URL('../..', import.meta.url).pathname

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const name = functionName || '(anonymous)'
  if (!url) return name
  const file = url.startsWith('file://')
    ? relative(root, new URL(url).pathname)
    : url.replace(/^node:/, 'node:')
  return `${name} ${file.includes('node_modules/') ? file.slice(file.lastIndexOf('node_modules/') + 13) : file}:${lineNumber + 1}`
}

/** Microseconds of self time per node id (each sample's delta charged to the node it hit). */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0))
  }
  return self
}

export interface SelfRow {
  name: string
  ms: number
  share: number
}

/** Self time per function (summed over call sites), idle and program excluded from the share. */
export function selfTable(profile: CpuProfile): { rows: SelfRow[]; busyMs: number; idleMs: number } {
  const self = selfTimes(profile)
  const byName = new Map<string, number>()
  let idle = 0
  let busy = 0
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0
    if (us === 0) continue
    const name = frameName(node)
    if (node.callFrame.functionName === '(idle)') {
      idle += us
      continue
    }
    busy += us
    byName.set(name, (byName.get(name) ?? 0) + us)
  }
  const rows = [...byName]
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }))
    .sort((a, b) => b.ms - a.ms)
  return { rows, busyMs: busy / 1000, idleMs: idle / 1000 }
}

/** Folded stacks ("a;b;c <µs>" per line), the input of flame graph tools. */
export function foldedStacks(profile: CpuProfile): string {
  const self = selfTimes(profile)
  const parent = new Map<number, number>()
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const lines: string[] = []
  for (const [id, us] of self) {
    const node = byId.get(id)!
    if (node.callFrame.functionName === '(idle)' || us === 0) continue
    const stack: string[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!
      if (n.callFrame.functionName !== '(root)') stack.push(frameName(n).replaceAll(';', ','))
    }
    lines.push(`${stack.reverse().join(';')} ${us}`)
  }
  return lines.join('\n')
}

if (import.meta.main) {
  const file = process.argv[2]
  if (!file) throw new Error('usage: node bench/lib/cpu-profile.ts FILE.cpuprofile [--top=25] [--folded=OUT]')
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25)
  const folded = process.argv.find((a) => a.startsWith('--folded='))?.slice(9)
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const { rows, busyMs, idleMs } = selfTable(profile)
  console.log(`busy ${busyMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms\n`)
  console.log('| self ms | share | function |\n| --- | --- | --- |')
  for (const r of rows.slice(0, top))
    console.log(`| ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% | ${r.name} |`)
  if (folded) writeFileSync(folded, foldedStacks(profile))
}
