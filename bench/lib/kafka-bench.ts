// What the Kafka-side benchmarks share: a fresh topic of page-view events, a one-view config
// file on it, and a child process whose JSON output line is the measurement.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createProducer, type KafkaAdmin } from '../../src/log/kafka/index.ts'

export const brokers = process.env.STRATA_BROKERS ?? '127.0.0.1:9092'
export const HOUR = 3_600_000

/**
 * Event i: one in five is a click, the rest page views, over `urls` urls and 100 k users, event
 * times spread evenly over the last 24 hours (recent, so the topic's retention keeps them).
 */
export function eventAt(i: number, n: number, base: number, urls = 10_000) {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  const ts = base + Math.floor((i * 24 * HOUR) / n)
  const user = `u${(i * 104729) % 100_000}`
  const url = `/p/${(i * 7919) % urls}`
  const value = `{"type":"${type}","url":"${url}","user":"${user}","ts":${ts}}`
  return { key: user, url, value, ts, pageView: type === 'page_view' }
}

/**
 * Creates `bench-<uuid>` and writes n events, record timestamp = the event's ts, keyed by user
 * (the default: grouping by url then means a re-key) or by url (already keyed as the view groups).
 */
export async function preloadTopic(
  admin: KafkaAdmin,
  n: number,
  partitions: number,
  urls = 10_000,
  keyBy: 'user' | 'url' = 'user',
): Promise<{ topic: string; pageViews: number; end: number[] }> {
  const topic = `bench-${randomUUID()}`
  await admin.createTopic({ topic, partitions, replicationFactor: 1 })
  const producer = createProducer({ brokers, clientId: 'bench-preload' })
  const base = Date.now() - 24 * HOUR
  let pageViews = 0
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < n; i += 4000) {
    const records = []
    for (let j = i; j < Math.min(n, i + 4000); j++) {
      const e = eventAt(j, n, base, urls)
      if (e.pageView) pageViews++
      records.push({ key: keyBy === 'url' ? e.url : e.key, value: e.value, timestamp: e.ts })
    }
    pending.push(producer.send(topic, records))
    if (pending.length >= 4) await pending.shift()
  }
  await Promise.all(pending)
  await producer.close()
  const end = (await admin.listOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => o.latest)
  return { topic, pageViews, end }
}

/** A config file with the one view pageviews_by_url on `topic`. */
export async function writeViewConfig(
  dir: string,
  topic: string,
  partitions: number,
  /** The checkout whose API the config imports (this one by default). */
  root = join(import.meta.dirname, '../..'),
): Promise<string> {
  const file = join(dir, 'strata.config.ts')
  const index = pathToFileURL(join(root, 'src/config.ts')).href
  await writeFile(
    file,
    `import { count, defineConfig, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: '${topic}', partitions: ${partitions}, replicationFactor: 1, time: 'ts' },
  views: [view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count())],
})
`,
  )
  return file
}

/** Runs a command to completion (killed after timeoutMs); resolves with the last JSON line it printed. */
export function runJson<T>(command: string, args: string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)
      if (line === undefined) reject(new Error(`${command} exited ${code}: ${err.slice(-2000)}`))
      else resolve(JSON.parse(line) as T)
    })
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
