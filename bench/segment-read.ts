// Read+parse throughput of master-dataset encodings, one thread, on generated page-view events.
// Each candidate reads the segment files of one partition from disk (page cache warm after the
// first pass), parses them, and counts page views per url: the batch layer's inner loop.
//
//   node bench/segment-read.ts [events=3000000]   (npm script: none yet; run with Node 24)
//
// Figures go to docs/decisions/0002-master-dataset-format.md.

import './lib/help.ts' // --help: the comment above, then exit
import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import {
  listSegments,
  openPackedSegment,
  readRecords,
  SegmentBuilder,
  SegmentStore,
} from '../src/master-dataset/index.ts'

const events = Number(process.argv[2] ?? 3_000_000)
const perSegment = 500_000
const urls = 10_000
const users = 100_000

function generateEvent(i: number): string {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  return `{"type":"${type}","url":"/p/${(i * 7919) % urls}","user":"u${(i * 104729) % users}","ts":${1764000000000 + i * 10}}`
}

// Archiving: records → SegmentBuilder (NDJSON lines + packed encoding) → SegmentStore, fsynced.
async function generate(root: string): Promise<{ bytes: number; ms: number }> {
  const store = await SegmentStore.open(root)
  let bytes = 0
  const t0 = process.hrtime.bigint()
  for (let start = 0; start < events; start += perSegment) {
    const end = Math.min(events, start + perSegment)
    const builder = new SegmentBuilder()
    for (let i = start; i < end; i++) {
      builder.add({
        offset: i,
        timestamp: 1764000000000 + i,
        key: `u${(i * 104729) % users}`,
        value: Buffer.from(generateEvent(i)),
      })
    }
    bytes += builder.bytes
    await store.writeSegment(0, { start, end }, builder.data(), builder.packer())
  }
  return { bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6 }
}

type Counts = Map<string, number>
type Candidate = (files: string[]) => Promise<Counts>

function count(counts: Counts, url: string): void {
  counts.set(url, (counts.get(url) ?? 0) + 1)
}

// A: JSON.parse of every whole line.
const naiveLines: Candidate = async (files) => {
  const counts: Counts = new Map()
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    let at = 0
    while (at < text.length) {
      const nl = text.indexOf('\n', at)
      const line = JSON.parse(text.slice(at, nl))
      at = nl + 1
      if (line.event.type === 'page_view') count(counts, line.event.url)
    }
  }
  return counts
}

// B: our reader (sha256 verified, envelope scanned without parsing), JSON.parse of each event.
const readerThenParseEvent = async (root: string): Promise<Counts> => {
  const counts: Counts = new Map()
  for await (const records of readRecords(root, 0)) {
    for (const record of records) {
      const event = JSON.parse(record.value.toString())
      if (event.type === 'page_view') count(counts, event.url)
    }
  }
  return counts
}

// C: one JSON.parse per chunk of lines: "[" + lines joined by "," + "]".
const chunkParse: Candidate = async (files) => {
  const counts: Counts = new Map()
  for (const file of files) {
    const buf = await readFile(file)
    const chunk = 4 << 20
    let at = 0
    while (at < buf.length) {
      let end = Math.min(buf.length, at + chunk)
      if (end < buf.length) end = buf.indexOf(0x0a, end) + 1
      const text = buf.toString('utf8', at, end - 1).replaceAll('\n', ',')
      const lines = JSON.parse('[' + text + ']') as { event: { type: string; url: string } }[]
      for (let i = 0; i < lines.length; i++) {
        const event = lines[i]!.event
        if (event.type === 'page_view') count(counts, event.url)
      }
      at = end
    }
  }
  return counts
}

// D: the packed encoding (openPackedSegment: CRC32-checked, source matched to the sidecar).
const packed = async (root: string): Promise<Counts> => {
  const counts: Counts = new Map()
  for (const range of await listSegments(root, 0)) {
    const cursor = await openPackedSegment(root, 0, range)
    while (cursor.next()) {
      const event = cursor.event() as { type: string; url: string }
      if (event.type === 'page_view') count(counts, event.url)
    }
  }
  return counts
}

async function time(name: string, run: () => Promise<unknown>, n: number, rows: Record<string, string>[]) {
  await run() // warm the page cache and the JIT
  const t0 = process.hrtime.bigint()
  const result = await run()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const rate = (n / ms) * 1000
  rows.push({ candidate: name, ms: ms.toFixed(0), 'M events/s': (rate / 1e6).toFixed(2) })
  return result
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'strata-bench-segment-'))
  try {
    const written = await generate(root)
    const dir = join(root, 'p0000')
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).map((f) => join(dir, f))
    const packedMB = (await readdir(dir))
      .filter((f) => f.endsWith('.packed'))
      .reduce((sum, f) => sum + statSync(join(dir, f)).size / 1e6, 0)
    console.log(
      `${events} events in ${files.length} segments: ${(written.bytes / 1e6).toFixed(0)} MB NDJSON, ` +
        `${packedMB.toFixed(0)} MB packed; archived (build + sha256 + fsync) at ` +
        `${(events / written.ms / 1e3).toFixed(2)} M events/s`,
    )
    const rows: Record<string, string>[] = []
    const checks: Counts[] = []
    checks.push((await time('A naive JSON.parse per line', () => naiveLines(files), events, rows)) as Counts)
    checks.push(
      (await time(
        'B readRecords + JSON.parse(event)',
        () => readerThenParseEvent(root),
        events,
        rows,
      )) as Counts,
    )
    checks.push((await time('C JSON.parse per 4 MiB chunk', () => chunkParse(files), events, rows)) as Counts)
    checks.push((await time('D packed encoding', () => packed(root), events, rows)) as Counts)
    await time('sha256 of the NDJSON bytes', () => hashFiles(files, 'sha256'), events, rows)
    await time('crc32 of the NDJSON bytes', () => hashFiles(files, 'crc32'), events, rows)
    await duckdb(dir, rows)
    console.table(rows)
    const expected = checks[0]!
    for (const got of checks) {
      if (got.size !== expected.size || [...expected].some(([k, v]) => got.get(k) !== v)) {
        throw new Error('candidates disagree')
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

async function hashFiles(files: string[], kind: 'sha256' | 'crc32'): Promise<void> {
  for (const file of files) {
    const buf = await readFile(file)
    if (kind === 'sha256') createHash('sha256').update(buf).digest()
    else crc32(buf)
  }
}

async function duckdb(dir: string, rows: Record<string, string>[]): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn = await instance.connect()
  const json = `SELECT event.url, count(*) FROM read_json('${dir}/*.ndjson') WHERE event.type = 'page_view' GROUP BY 1`
  await time('DuckDB read_json, 1 thread', () => conn.runAndReadAll(json), events, rows)
  await conn.run(`COPY (SELECT * FROM read_json('${dir}/*.ndjson')) TO '${dir}/all.parquet' (FORMAT parquet)`)
  const parquet = `SELECT event.url, count(*) FROM read_parquet('${dir}/all.parquet') WHERE event.type = 'page_view' GROUP BY 1`
  await time('DuckDB read_parquet, 1 thread', () => conn.runAndReadAll(parquet), events, rows)
  conn.closeSync()
  instance.closeSync()
}

await main()
