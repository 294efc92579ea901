// Read+parse throughput of master-dataset encodings, one thread, on generated page-view events.
// Each candidate reads the segment files of one partition from disk (page cache warm after the
// first pass), parses them, and counts page views per url: the batch layer's inner loop.
//
//   node bench/segment-read.ts [events=3000000]
//
// Figures go to docs/decisions/0002-master-dataset-format.md.

import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { DuckDBInstance } from '@duckdb/node-api'
import { PackedCursor, PackedSegmentEncoder } from '../src/archive/packed-segment.ts'
import {
  encodeRecordLine,
  lineKey,
  newLineFields,
  scanLine,
  segmentFileName,
} from '../src/archive/segment-format.ts'

const events = Number(process.argv[2] ?? 3_000_000)
const perSegment = 500_000
const urls = 10_000
const users = 100_000

function generateEvent(i: number): string {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  return `{"type":"${type}","url":"/p/${(i * 7919) % urls}","user":"u${(i * 104729) % users}","ts":${1764000000000 + i * 10}}`
}

async function generate(dir: string): Promise<number> {
  let bytes = 0
  for (let start = 0; start < events; start += perSegment) {
    const end = Math.min(events, start + perSegment)
    const lines: Buffer[] = []
    for (let i = start; i < end; i++) {
      lines.push(
        encodeRecordLine({
          offset: i,
          timestamp: 1764000000000 + i,
          key: `u${(i * 104729) % users}`,
          value: Buffer.from(generateEvent(i)),
        }),
      )
    }
    const data = Buffer.concat(lines)
    bytes += data.length
    await writeFile(join(dir, segmentFileName({ start, end })), data)
  }
  return bytes
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

// B: find the event's bytes with scanLine, JSON.parse only the event.
const scanThenParseEvent: Candidate = async (files) => {
  const counts: Counts = new Map()
  const fields = newLineFields()
  for (const file of files) {
    const buf = await readFile(file)
    let at = 0
    while (at < buf.length) {
      const nl = buf.indexOf(0x0a, at)
      scanLine(buf, at, nl, fields)
      const event = JSON.parse(buf.toString('utf8', fields.eventStart, fields.eventEnd))
      at = nl + 1
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

// Building the packed encoding from the NDJSON (done once per segment, when it is sealed).
let packedBytes = 0
async function buildPacked(files: string[]): Promise<void> {
  packedBytes = 0
  const fields = newLineFields()
  for (const file of files) {
    const buf = await readFile(file)
    const encoder = new PackedSegmentEncoder()
    let at = 0
    while (at < buf.length) {
      const nl = buf.indexOf(0x0a, at)
      scanLine(buf, at, nl, fields)
      const text = buf.toString('utf8', fields.eventStart, fields.eventEnd)
      encoder.add(fields.offset, fields.timestamp, lineKey(buf, fields), JSON.parse(text), text)
      at = nl + 1
    }
    const source = createHash('sha256').update(buf).digest('hex')
    const out = encoder.finish(source)
    packedBytes += out.length
    await writeFile(file.replace(/\.ndjson$/, '.packed'), out)
  }
}

// D: decode the packed encoding into fresh event objects.
const packed: Candidate = async (files) => {
  const counts: Counts = new Map()
  for (const file of files) {
    const cursor = new PackedCursor(await readFile(file.replace(/\.ndjson$/, '.packed')))
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
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-segment-'))
  try {
    const bytes = await generate(dir)
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).map((f) => join(dir, f))
    console.log(`${events} events, ${files.length} segments, ${(bytes / 1e6).toFixed(0)} MB NDJSON`)
    const rows: Record<string, string>[] = []
    const checks: Counts[] = []
    checks.push((await time('A naive JSON.parse per line', () => naiveLines(files), events, rows)) as Counts)
    checks.push(
      (await time('B scanLine + JSON.parse(event)', () => scanThenParseEvent(files), events, rows)) as Counts,
    )
    checks.push((await time('C JSON.parse per 4 MiB chunk', () => chunkParse(files), events, rows)) as Counts)
    await time('build packed from NDJSON (once, at seal)', () => buildPacked(files), events, rows)
    checks.push((await time('D packed encoding', () => packed(files), events, rows)) as Counts)
    await time('sha256 of the bytes', () => hashFiles(files, 'sha256'), events, rows)
    await time('crc32 of the bytes', () => hashFiles(files, 'crc32'), events, rows)
    await duckdb(dir, rows)
    console.table(rows)
    console.log(`packed files: ${(packedBytes / 1e6).toFixed(0)} MB`)
    const expected = checks[0]!
    for (const got of checks) {
      if (got.size !== expected.size || [...expected].some(([k, v]) => got.get(k) !== v)) {
        throw new Error('candidates disagree')
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
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
