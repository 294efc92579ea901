// The embedded default end to end: `strata start` with no --brokers (the README quick start) on the
// pageviews example, fed POST /events in NDJSON batches; the rate is events over the time from
// the first request until the speed layer has folded every one (/health: every speed partition
// at lag 0), so ingest, the embedded log and the speed layer's fold all count. Before/after in
// one run: each checkout in turn, alternating, --rounds rounds, a fresh data folder each time.
// Beside the rate, the server's CPU per event (every thread of the process, user + system, from
// /proc/<pid>/stat over the same span): steadier than the rate on a shared machine.
//
//   node bench/embedded-ingest.ts --checkouts=<dir>[,<dir>…] [--events=200000] [--batch=1000]
//     [--concurrency=8] [--rounds=3] [--port=19480]
import './lib/help.ts' // --help: the comment above, then exit
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=')
    return [k!, v ?? '1']
  }),
)
const checkouts = String(args.checkouts ?? process.cwd()).split(',')
const events = Number(args.events ?? 200_000)
const batch = Number(args.batch ?? 1000)
const concurrency = Number(args.concurrency ?? 8)
const rounds = Number(args.rounds ?? 3)
const port = Number(args.port ?? 19480)
const base = `http://127.0.0.1:${port}`

function body(from: number): string {
  const lines: string[] = []
  for (let i = from; i < Math.min(events, from + batch); i++) {
    lines.push(
      JSON.stringify({
        type: i % 5 === 0 ? 'click' : 'page_view',
        url: `/p${i % 500}`,
        user: `u${i % 10_000}`,
        ts: 1_767_225_600_000 + i,
      }),
    )
  }
  return lines.join('\n')
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** CPU seconds (user + system, every thread) the process has used so far (Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function round(checkout: string): Promise<{ rate: number; cpuUs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-embedded-ingest-'))
  const config = join(checkout, 'examples/pageviews/strata.config.ts')
  const child = spawn(
    process.execPath,
    [
      join(checkout, 'bin/strata.js'),
      'start',
      '--config',
      config,
      '--data',
      dir,
      '--port',
      String(port),
      '--batch-interval',
      '1h',
    ],
    { stdio: 'ignore' },
  )
  try {
    await until(async () => (await fetch(`${base}/health`)).status < 500)
    const bodies: string[] = []
    for (let i = 0; i < events; i += batch) bodies.push(body(i))
    const cpuBefore = await cpuSeconds(child.pid!)
    const started = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const payload = bodies[next++]!
          const response = await fetch(`${base}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: payload,
          })
          if (response.status !== 202)
            throw new Error(`POST /events ${response.status}: ${await response.text()}`)
        }
      }),
    )
    await until(async () => {
      const health = (await (await fetch(`${base}/health`)).json()) as {
        roles: Array<{ role: string; partitions?: Array<{ lag: number | null }> }>
      }
      const speed = health.roles.find((r) => r.role === 'speed')
      return (speed?.partitions ?? []).length > 0 && speed!.partitions!.every((p) => p.lag === 0)
    })
    const seconds = (performance.now() - started) / 1000
    const cpuUs = (((await cpuSeconds(child.pid!)) - cpuBefore) * 1e6) / events
    return { rate: events / seconds, cpuUs }
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    await rm(dir, { recursive: true, force: true })
  }
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = sorted.length / 2
  return sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const results = new Map<string, { rates: number[]; cpu: number[] }>(
  checkouts.map((c) => [c, { rates: [], cpu: [] }]),
)
for (let r = 0; r < rounds; r++) {
  for (const checkout of checkouts) {
    const { rate, cpuUs } = await round(checkout)
    results.get(checkout)!.rates.push(rate)
    results.get(checkout)!.cpu.push(cpuUs)
    console.log(`round ${r + 1} ${checkout}: ${Math.round(rate)} events/s, ${cpuUs.toFixed(2)} µs CPU/event`)
  }
}
for (const [checkout, { rates, cpu }] of results) {
  console.log(
    `${checkout}: median ${Math.round(median(rates))} events/s (${Math.round(Math.min(...rates))}-${Math.round(Math.max(...rates))}), ${median(cpu).toFixed(2)} µs CPU/event (${Math.min(...cpu).toFixed(2)}-${Math.max(...cpu).toFixed(2)}) over ${rates.length} rounds`,
  )
}
