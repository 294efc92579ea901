// Where a fresh event's time goes: reads the trace a freshness run wrote with
// STRATA_FRESH_TRACE=<file> (src/core/fresh-trace.ts: the bench's probes, and the speed layer's
// stages, the serving thread's snapshot reads and GC pauses of 1 ms or more of every Strata process
// it started, on one clock; compactor passes too when a `{ e: 'pass', held }` line is added to
// lmdb-compactor.ts's pass, as session 19 did for its runs) and prints, per probe of the Strata contender, the stages from the produce call to the GET
// that saw it: the median, the mean of the slowest 10 %, and the slowest probes; then what of the
// slowest 10 % overlapped a GC pause (per thread) or a compactor pass.
//
//   STRATA_FRESH_TRACE=/tmp/x.jsonl node bench/freshness.ts --rate=10000 --seconds=15 --rounds=3
//   node bench/freshness-trace.ts /tmp/x.jsonl
//
// Stages (ms): ack (the produce call to its ack); fetch (the produce call to the speed thread
// taking the batch that carried it); queue (taken to its fold started: behind the partition's
// commit); send (fold started to its window's commit started); contents (the fold thread's deltas
// back); lock (deltas back to the commit's LMDB transaction callback: the write lock, behind other
// transactions, a compactor pass or a flush); poll (the callback to the start of the GET that saw
// it: the commit's own write, the serving thread's read snapshot, and the bench's 2 ms polls);
// get (that GET's own time: toRead, read and afterRead split it when the serving thread's reads
// were traced); landed (the callback to commitSpeed's promise: the flush). One
// Strata process per trace: run it without --baseline.
import './lib/help.ts' // --help: the comment above, then exit
import { readFileSync } from 'node:fs'
import { table } from './lib/stats.ts'

type Line = Record<string, number> & { e: string; topic?: string }
const file = process.argv.slice(2).find((a) => !a.startsWith('--'))
if (file === undefined) throw new Error('usage: node bench/freshness-trace.ts <trace file>')
const lines: Line[] = []
for (const text of readFileSync(file, 'utf8').split('\n')) {
  try {
    lines.push(JSON.parse(text))
  } catch {}
}
const byPartition = new Map<string, Line[]>()
for (const l of lines) {
  if (l.p === undefined || l.e === 'probe') continue
  const k = `${l.e}/${l.p}`
  byPartition.set(k, [...(byPartition.get(k) ?? []), l])
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
// The Strata contender's topic: its probes take longer than the Kafka consumer's.
const probesByTopic = new Map<string, Line[]>()
for (const l of lines)
  if (l.e === 'probe') probesByTopic.set(l.topic!, [...(probesByTopic.get(l.topic!) ?? []), l])
const probes = [...probesByTopic.values()].sort(
  (a, b) => median(b.map((p) => p.seen - p.sent)) - median(a.map((p) => p.seen - p.sent)),
)[0]!
const stages = [
  'total',
  'ack',
  'fetch',
  'queue',
  'send',
  'contents',
  'lock',
  'poll',
  'get',
  'toRead',
  'read',
  'afterRead',
  'landed',
] as const
// The serving thread's snapshot reads (lmdb-speed.ts), to split a GET: sent to its read started
// (the bench's and the server's loops, the request), the read, its end to the answer.
const reads = lines.filter((l) => l.e === 'read' && l.found! > 0).sort((a, b) => a.t - b.t)
type Row = Record<(typeof stages)[number], number> & { sent: number; seen: number }
const rows: Row[] = []
for (const pr of probes) {
  const first = (e: string, key: string, after = 0) =>
    byPartition.get(`${e}/${pr.p}`)?.find((l) => l[key]! > pr.off! && l.t >= after)
  const take = first('take', 'to', pr.sent - 1)
  const fold = take && first('fold', 'to', take.t)
  const send = fold && first('send', 'off', fold.t)
  if (!take || !fold || !send) continue
  const same = (e: string) =>
    byPartition.get(`${e}/${pr.p}`)?.find((l) => l.off === send.off && l.t >= send.t)
  const [contents, txn, landed] = [same('contents'), same('txn'), same('landed')]
  if (!contents || !txn || !landed) continue
  const asked = pr.asked ?? pr.seen
  const read = reads.find((r) => r.t - r.ms! >= asked - 0.05 && r.t <= pr.seen)
  rows.push({
    sent: pr.sent,
    seen: pr.seen,
    total: pr.seen - pr.sent,
    ack: pr.ack - pr.sent,
    fetch: take.t - pr.sent,
    queue: fold.t - take.t,
    send: send.t - fold.t,
    contents: contents.t - send.t,
    lock: txn.t - contents.t,
    // (Traces written before the bench noted the GET's start: all of it in poll.)
    poll: (pr.asked ?? pr.seen) - txn.t,
    get: pr.asked === undefined ? 0 : pr.seen - pr.asked,
    toRead: read ? read.t - read.ms! - asked : Number.NaN,
    read: read ? read.ms! : Number.NaN,
    afterRead: read ? pr.seen - read.t : Number.NaN,
    landed: landed.t - txn.t,
  })
}
rows.sort((a, b) => a.total - b.total)
const slowest = rows.slice(-Math.max(1, Math.floor(rows.length / 10)))
const mean = (rs: Row[], k: (typeof stages)[number]) => rs.reduce((s, r) => s + r[k], 0) / rs.length
console.log(`${rows.length} of ${probes.length} probes traced through every stage (ms)\n`)
console.log(
  table(
    ['', ...stages],
    [
      ['median', ...stages.map((k) => median(rows.map((r) => r[k])).toFixed(1))],
      ['slowest 10 %, mean', ...stages.map((k) => mean(slowest, k).toFixed(1))],
      ...rows.slice(-8).map((r) => ['', ...stages.map((k) => r[k].toFixed(1))]),
    ],
  ),
)
const overlap = (r: Row, spans: Array<[number, number]>) =>
  spans.reduce((s, [a, b]) => s + Math.max(0, Math.min(r.seen, b) - Math.max(r.sent, a)), 0)
const roles = new Map(lines.filter((l) => l.e === 'thread').map((l) => [l.th, String(l.role ?? '')]))
const spansOf = new Map<string, Array<[number, number]>>()
for (const l of lines) {
  if (l.e === 'gc') {
    const k = `GC, thread ${l.th}${roles.get(l.th) ? ` (${roles.get(l.th)})` : ''}`
    spansOf.set(k, [...(spansOf.get(k) ?? []), [l.t, l.t + l.ms]])
  } else if (l.e === 'pass') {
    spansOf.set('compactor pass', [...(spansOf.get('compactor pass') ?? []), [l.t - l.held, l.t]])
  }
}
console.log(
  `\n${table(
    ['overlapping a probe', 'count', 'longest ms', 'ms per probe, slowest 10 %', 'ms per probe, all'],
    [...spansOf].map(([k, spans]) => [
      k,
      spans.length,
      Math.max(...spans.map(([a, b]) => b - a)).toFixed(1),
      (slowest.reduce((s, r) => s + overlap(r, spans), 0) / slowest.length).toFixed(2),
      (rows.reduce((s, r) => s + overlap(r, spans), 0) / rows.length).toFixed(2),
    ]),
  )}`,
)
