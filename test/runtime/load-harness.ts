// Issue 7, part 3: sustained ingest, backpressure and a graceful shutdown, against a real
// `strata start --brokers` child process. Used by the short test in the normal suite
// (sigterm-drain.integration.test.ts) and by the long run (`npm run test:load`, load.ts).
//
//   1. POST /events NDJSON batches at a paced rate, from several loops, one connection per
//      request (a keep-alive connection closed under a request would make its fate unknowable);
//      the server's RSS is sampled every second from /proc.
//   2. Halfway: the HTTP load pauses, the process is SIGSTOPped, events go straight to Kafka, the
//      process is SIGCONTed: the speed layer has fallen behind; the time until the views cover the
//      log's end again is the catch-up time.
//   3. SIGTERM while requests are in flight: every request on a connection the server accepted
//      gets 202 or 503 STRATA_ERR_SHUTTING_DOWN (serving/drain.ts); new connections are refused
//      (ECONNREFUSED); the process exits 0. A reset could still come from the kernel (a
//      handshake completed between the server's last accept and its close: microseconds, or
//      longer when the machine deschedules the process there): its fate is "unknown" to the
//      client, so the topic is checked to hold all of it or none, and none is required (the
//      server never read it); the short test allows one such reset.
//   4. The speed layer's committed offsets are read from the store, the process is started again,
//      and once it covers the log: records folded + skipped since the restart equal the log end
//      minus those offsets (nothing re-folded); every acknowledged event is in the topic once;
//      the views equal a plain count over the topic.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { createAdmin, createPartitionReader, createProducer } from '../../src/log/kafka/index.ts'
import { readRecords } from '../../src/master-dataset/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { answer, covered, type Started, startStrata, waitFor, writePageviewsConfig } from './start-helpers.ts'

export interface LoadOptions {
  brokers: string
  /** A fresh folder for the config, the data and the logs. */
  dir: string
  seconds: number
  /** Events per second over HTTP. */
  rate: number
  /** Events per request. */
  batch?: number
  /** Loops sending at once. */
  concurrency?: number
  /** How long the process stays stopped while events go straight to Kafka. */
  pauseSeconds?: number
  partitions?: number
  log?: (line: string) => void
}

export interface LoadFigures {
  topic: string
  seconds: number
  httpEventsAcked: number
  directEvents: number
  achievedRate: number
  /**
   * unknown: no answer and not refused (a connection reset); unknownWritten: how many of those
   * reached the topic anyway (then whole: a reset never half-writes, checked in mismatches).
   */
  requests: {
    accepted: number
    unavailable: number
    refused: number
    other: string[]
    unknown: number
    unknownErrors: string[]
    unknownWritten: number
  }
  /** anon*: RssAnon (heaps); the rest of RSS is mapped files (LMDB, code). */
  rssMb: {
    min: number
    max: number
    last: number
    slopeMbPerMinSecondHalf: number
    anonMax: number
    anonLast: number
    samples: number
  }
  /**
   * The main thread's V8 heap and Node's external memory (the server's /metrics, every 5 s), MB:
   * what RSS holds beyond them is worker threads' heaps, native buffers and malloc's free lists.
   */
  heapMb: { usedMin: number; usedMax: number; usedLast: number; externalMax: number; externalLast: number }
  catchUp: { backlog: number; ms: number }
  shutdown: { exitCode: number | null; drainMs: number; inFlightAtSigterm: number }
  restart: { committedAtShutdown: number; logEnd: number; foldedAfter: number; skippedAfter: number }
  topicEvents: number
  viewsEqualReference: boolean
  mismatches: string[]
}

const URLS = Array.from({ length: 20 }, (_, i) => `/p${i}`)
const BASE = Date.UTC(2025, 10, 24, 10)

type Outcome = { status: number } | { error: string }

function post(url: string, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/events`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }))
        res.on('error', () => resolve({ status: res.statusCode ?? 0 }))
      },
    )
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }))
    req.end(body)
  })
}

/** VmRSS and its anonymous part (heaps, not mapped files), in MB. */
function rssMb(pid: number): { rss: number; anon: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name: string) =>
      Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) / 1024
    const rss = kb('VmRSS')
    return Number.isNaN(rss) ? undefined : { rss, anon: kb('RssAnon') }
  } catch {
    return undefined
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, p) => s + p[0], 0) / n
  const my = points.reduce((s, p) => s + p[1], 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line ? Number(line.split(' ').at(-1)) : 0
}

/** heapUsed and external of the server's main thread, MB; undefined while it does not answer. */
async function sampleHeap(url: string): Promise<{ used: number; external: number } | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })
    const text = await res.text()
    const value = (name: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1] ?? Number.NaN,
      ) /
      2 ** 20
    return { used: value('nodejs_heap_size_used_bytes'), external: value('nodejs_external_memory_bytes') }
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const log = options.log ?? (() => {})
  const { brokers, dir, rate } = options
  const batch = options.batch ?? 100
  const concurrency = options.concurrency ?? 8
  const partitions = options.partitions ?? 3
  const topic = `load-${randomUUID()}`
  const prefix = `load-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, partitions)
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--group-prefix', prefix]
  args.push('--batch-interval', '15s', '--segment-age', '2s')
  const admin = createAdmin({ brokers })
  let strata: Started | undefined
  try {
    strata = await startStrata(dir, args, 1)
    const first = strata
    const pid = first.child.pid!
    const t0 = Date.now()
    const rss: Array<[number, number]> = []
    const anon: number[] = []
    const heap: Array<{ used: number; external: number }> = []
    let ticks = 0
    const sampler = setInterval(() => {
      const mb = rssMb(pid)
      if (mb === undefined) return
      rss.push([(Date.now() - t0) / 1000, mb.rss])
      anon.push(mb.anon)
      if (ticks++ % 5 === 0) void sampleHeap(first.url).then((h) => h && heap.push(h))
    }, 1000)

    // Requests by id; their events are {type, url, user, ts, req, i}.
    const acked = new Set<string>()
    const unknown = new Set<string>()
    const requests = {
      accepted: 0,
      unavailable: 0,
      refused: 0,
      other: [] as string[],
      unknown: 0,
      unknownErrors: [] as string[],
      unknownWritten: 0,
    }
    let seq = 0
    let stopped = false
    let paused = false
    let inFlight = 0
    const body = (req: string) => {
      const lines: string[] = []
      for (let i = 0; i < batch; i++) {
        const n = seq * batch + i
        const e = {
          type: 'page_view',
          url: URLS[n % URLS.length],
          user: `u${n % 97}`,
          ts: BASE + (n % 3_000_000),
          req,
          i,
        }
        lines.push(JSON.stringify(e))
      }
      return lines.join('\n')
    }
    let paceStart = Date.now()
    let paceSent = 0
    const loop = async () => {
      while (!stopped) {
        if (paused) {
          await sleep(20)
          continue
        }
        const due = paceStart + ((paceSent * batch) / rate) * 1000
        paceSent++
        if (due > Date.now()) await sleep(due - Date.now())
        if (stopped) break
        const req = `h${seq}`
        const text = body(req)
        seq++
        inFlight++
        const outcome = await post(first.url, text)
        inFlight--
        if ('status' in outcome && outcome.status === 202) {
          requests.accepted++
          acked.add(req)
        } else if ('status' in outcome && outcome.status === 503) requests.unavailable++
        else if ('error' in outcome && outcome.error === 'ECONNREFUSED') requests.refused++
        else if ('status' in outcome) requests.other.push(`${req}: HTTP ${outcome.status}`)
        else {
          requests.unknown++
          requests.unknownErrors.push(`${req}: ${outcome.error}`)
          unknown.add(req)
        }
      }
    }
    const loops = Array.from({ length: concurrency }, loop)

    // 2. Halfway: stop the process, write straight to Kafka, let it catch up.
    await sleep((options.seconds * 1000) / 2)
    paused = true
    while (inFlight > 0) await sleep(10)
    const pauseSeconds = options.pauseSeconds ?? 5
    const backlog = Math.round(pauseSeconds * rate)
    process.kill(pid, 'SIGSTOP')
    const producer = createProducer({ brokers, clientId: 'load-direct' })
    const pauseEnd = Date.now() + pauseSeconds * 1000
    let direct = 0
    while (direct < backlog) {
      const records = []
      for (let i = 0; i < 1000 && direct < backlog; i++, direct++) {
        const e = {
          type: 'page_view',
          url: URLS[direct % URLS.length],
          user: 'd',
          ts: BASE + direct,
          req: `d${direct}`,
          i: 0,
        }
        records.push({ key: null, value: JSON.stringify(e) })
      }
      await producer.send(topic, records)
    }
    await producer.close()
    for (let i = 0; i < direct; i++) acked.add(`d${i}`)
    if (Date.now() < pauseEnd) await sleep(pauseEnd - Date.now())
    const endAtResume = (await admin.listOffsets(topic)).reduce((s, p) => s + p.latest, 0)
    process.kill(pid, 'SIGCONT')
    const resumedAt = Date.now()
    paceStart = Date.now()
    paceSent = 0
    paused = false
    await waitFor(
      async () => covered(await answer(first.url, 'pageviews_by_url', URLS[0])) >= endAtResume,
      'the speed layer to catch up after the pause',
      120_000,
    )
    const catchUpMs = Date.now() - resumedAt
    log(`caught up ${backlog} direct events (+ HTTP meanwhile) in ${catchUpMs} ms`)

    // 3. SIGTERM under load.
    const remaining = t0 + options.seconds * 1000 - Date.now()
    if (remaining > 0) await sleep(remaining)
    const inFlightAtSigterm = inFlight
    const termAt = Date.now()
    first.child.kill('SIGTERM')
    const exitCode = await first.exited
    const drainMs = Date.now() - termAt
    stopped = true
    await Promise.all(loops)
    clearInterval(sampler)
    const elapsed = (termAt - t0) / 1000 - pauseSeconds
    log(`SIGTERM with ${inFlightAtSigterm} requests in flight: exit ${exitCode} after ${drainMs} ms`)

    // 4. What the speed layer committed, then a restart.
    const offsets = await admin.listOffsets(topic)
    const logEnd = offsets.reduce((s, p) => s + p.latest, 0)
    const store = await openLmdbStore(join(dir, 'store'))
    const committedAtShutdown = (await store.speedPartitions()).reduce((s, p) => s + p.offset, 0)
    await store.close()
    strata = await startStrata(dir, args, 2)
    const second = strata
    await waitFor(
      async () => covered(await answer(second.url, 'pageviews_by_url', URLS[0])) >= logEnd,
      'the restarted speed layer to cover the log',
      120_000,
    )
    const foldedAfter = await metric(second.url, 'strata_speed_records_folded_total')
    const skippedAfter = await metric(second.url, 'strata_speed_records_skipped_total')

    // The topic as it is: each event once; every acknowledged request whole; unknown ones whole or absent.
    const perRequest = new Map<string, Set<number>>()
    const reference = new Map<string, number>()
    const mismatches: string[] = []
    let topicEvents = 0
    for (const { partition, latest } of offsets) {
      const reader = createPartitionReader({ brokers })
      try {
        for await (const records of reader.read(topic, partition, 0, latest)) {
          for (const record of records) {
            const e = JSON.parse(record.value.toString()) as { url: string; req: string; i: number }
            topicEvents++
            const seen = perRequest.get(e.req) ?? new Set<number>()
            perRequest.set(e.req, seen)
            if (seen.has(e.i)) mismatches.push(`${e.req}#${e.i} is in the topic twice`)
            seen.add(e.i)
            reference.set(e.url, (reference.get(e.url) ?? 0) + 1)
          }
        }
      } finally {
        await reader.close()
      }
    }
    for (const req of acked) {
      const want = req.startsWith('d') ? 1 : batch
      const got = perRequest.get(req)?.size ?? 0
      if (got !== want) mismatches.push(`acknowledged ${req} has ${got} of ${want} events in the topic`)
    }
    for (const [req, seen] of perRequest) {
      if (acked.has(req)) continue
      if (unknown.has(req)) requests.unknownWritten++
      if (!unknown.has(req)) mismatches.push(`${req} is in the topic but was not acknowledged`)
      else if (seen.size !== batch) mismatches.push(`${req} (unknown fate) is half-written: ${seen.size}`)
    }
    // The master dataset: every partition archived to the log's end, each offset once.
    const root = join(dir, 'master', topic)
    let archived = 0
    for (const { partition, latest } of offsets) {
      let last = -1
      await waitFor(
        async () => {
          last = -1
          for await (const records of readRecords(root, partition, { to: latest }))
            last = records.at(-1)!.offset
          return last === latest - 1
        },
        `partition ${partition} archived`,
        120_000,
      )
      const seen = new Set<number>()
      for await (const records of readRecords(root, partition, { to: latest })) {
        for (const r of records) seen.add(r.offset)
        archived += records.length
      }
      if (seen.size !== latest)
        mismatches.push(`partition ${partition}: ${seen.size} offsets archived of ${latest}`)
    }
    if (archived !== topicEvents) mismatches.push(`${archived} events archived, ${topicEvents} in the topic`)
    for (const url of URLS) {
      const got = (await answer(second.url, 'pageviews_by_url', url)).windows.reduce((s, w) => s + w.value, 0)
      if (got !== (reference.get(url) ?? 0))
        mismatches.push(`${url}: view ${got}, topic ${reference.get(url)}`)
    }
    if (foldedAfter + skippedAfter !== logEnd - committedAtShutdown) {
      mismatches.push(
        `after the restart the speed layer read ${foldedAfter + skippedAfter} records, not ${logEnd - committedAtShutdown}`,
      )
    }
    second.child.kill('SIGTERM')
    const secondExit = await second.exited
    if (secondExit !== 0) mismatches.push(`second SIGTERM: exit ${secondExit}`)

    const used = heap.map((h) => h.used)
    const half = rss.filter(([t]) => t >= rss.at(-1)![0] / 2)
    const mbs = rss.map(([, mb]) => mb)
    const httpEventsAcked = requests.accepted * batch
    return {
      topic,
      seconds: Math.round(elapsed),
      httpEventsAcked,
      directEvents: direct,
      achievedRate: Math.round(httpEventsAcked / elapsed),
      requests,
      rssMb: {
        min: Math.round(Math.min(...mbs)),
        max: Math.round(Math.max(...mbs)),
        last: Math.round(mbs.at(-1)!),
        slopeMbPerMinSecondHalf: Math.round(slope(half) * 60 * 10) / 10,
        anonMax: Math.round(Math.max(...anon)),
        anonLast: Math.round(anon.at(-1)!),
        samples: mbs.length,
      },
      heapMb: {
        usedMin: Math.round(Math.min(...used)),
        usedMax: Math.round(Math.max(...used)),
        usedLast: Math.round(used.at(-1) ?? Number.NaN),
        externalMax: Math.round(Math.max(...heap.map((h) => h.external))),
        externalLast: Math.round(heap.at(-1)?.external ?? Number.NaN),
      },
      catchUp: { backlog, ms: catchUpMs },
      shutdown: { exitCode, drainMs, inFlightAtSigterm },
      restart: { committedAtShutdown, logEnd, foldedAfter, skippedAfter },
      topicEvents,
      viewsEqualReference: mismatches.length === 0,
      mismatches: mismatches.slice(0, 20),
    }
  } finally {
    if (strata && strata.child.exitCode === null) {
      strata.child.kill('SIGKILL')
      await strata.exited
    }
    for (const group of [`${prefix}-speed`, `${prefix}-archiver`])
      await admin.deleteGroup(group).catch(() => {})
    for (const t of [topic, `${topic}.dead-letter`]) await admin.deleteTopic(t).catch(() => {})
    await admin.close()
  }
}
