// The busy time of a .cpuprofile of `strata worker serve` grouped into the parts of a request
// (BENCHMARKS.md, "Query latency under load"): each sample goes to the innermost frame of its
// stack that names a part (the LMDB store, the request log, Fastify, …); start-up (module loading,
// schema compiling) is left out.
//
//   node bench/lib/profile-parts.ts FILE.cpuprofile
import { readFileSync } from 'node:fs'

const file = process.argv[2]!
const p = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map<number, any>()
for (const n of p.nodes) byId.set(n.id, n)
const parent = new Map<number, number>()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const parts: Array<[string, (f: any) => boolean]> = [
  [
    'start-up',
    (f) =>
      /node:internal\/modules|amaro|ajv\/dist|avvio|node:internal\/bootstrap/.test(f.url) ||
      /^(compileSourceTextModule|Module|wrapSafe|internalModuleStat)$/.test(f.functionName),
  ],
  ['gc', (f) => f.functionName === '(garbage collector)'],
  ['request log', (f) => /request-log|pino|logger|scrub/.test(f.url)],
  ['store snapshot', (f) => /src\/store\/|\/lmdb\/|msgpackr|ordered-binary/.test(f.url)],
  ['answerFrom (merge)', (f) => /src\/serving\/query\.ts/.test(f.url) || /src\/core\//.test(f.url)],
  ['serialization', (f) => /fast-json-stringify|serializ/.test(f.url + f.functionName)],
  ['metrics', (f) => /metrics|prom-client/.test(f.url)],
  [
    'socket write',
    (f) =>
      /^(writev|writeBuffer|writeUtf8String|writeLatin1String|_writeGeneric|_writev)$/.test(f.functionName),
  ],
  ['HTTP parsing', (f) => /parserOn|^execute$|_http_common|HTTPParser/.test(f.functionName + ' ' + f.url)],
  ['fastify', (f) => /fastify|avvio|find-my-way|light-my-request|src\/serving\//.test(f.url)],
  ['node http', (f) => /node:_http|node:net|node:stream|node:internal\/streams/.test(f.url)],
]
const times = new Map<string, number>()
let busy = 0
for (let i = 0; i < p.samples.length; i++) {
  let id = p.samples[i]
  const leaf = byId.get(id).callFrame
  if (leaf.functionName === '(idle)' || leaf.functionName === '(program)') continue
  const dt = p.timeDeltas[i + 1] ?? 0
  busy += dt
  let part = 'other'
  for (; id !== undefined; id = parent.get(id)!) {
    const f = byId.get(id).callFrame
    const hit = parts.find(([, m]) => m(f))
    if (hit) {
      part = hit[0]
      break
    }
  }
  times.set(part, (times.get(part) ?? 0) + dt)
}
const dur = (p.endTime - p.startTime) / 1e6
const startup = times.get('start-up') ?? 0
times.delete('start-up')
busy -= startup
console.log(`profile ${dur.toFixed(1)} s; busy outside start-up: ${(busy / 1000).toFixed(0)} ms`)
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1]))
  console.log(`${k.padEnd(20)} ${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / busy).toFixed(1)}%`)
