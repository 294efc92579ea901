// kill -9 of the archiver at random points while events flow, then a restart: the master dataset
// holds every produced offset exactly once (events as lines, the rest as gaps in the ranges).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createProducer, readPartition } from '../../src/log/kafka/index.ts'
import { readRecords, SegmentStore } from '../../src/master-dataset/index.ts'
import { brokers, createTestTopic, defer, testAdmin, testGroup } from '../log/kafka/helpers.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const child = new URL('./archiver-child.ts', import.meta.url).pathname
const PARTITIONS = 3

function startArchiver(
  dir: string,
  topic: string,
  group: string,
): { proc: ChildProcess; started: Promise<void> } {
  const proc = spawn(process.execPath, [child, dir, topic, group, brokers], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const started = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('started')) resolve()
    })
    proc.on('exit', (code, signal) => reject(new Error(`archiver exited early: ${code ?? signal}`)))
  })
  started.catch(() => {})
  return { proc, started }
}

function kill9(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once('exit', () => resolve())
    proc.kill('SIGKILL')
  })
}

test('archiver killed with SIGKILL at random points: every produced offset archived exactly once', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, PARTITIONS)
  const group = testGroup(t, admin)
  const dir = await tempDir(t, 'strata-archiver-it-')

  // Events flow the whole time the archivers are killed: sends of 50 events, a few not JSON.
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())
  let produced = 0
  let invalid = 0
  let killing = true
  const producing = (async () => {
    while (killing || produced < 1000) {
      const records = Array.from({ length: 50 }, () => {
        const i = produced++
        if (i % 97 === 0) invalid++
        const value =
          i % 97 === 0
            ? 'not json'
            : `{"type":"page_view","url":"/p/${i % 11}","user":"u${i % 37}","ts":${1764000000000 + i}}`
        return { key: `u${i % 37}`, value }
      })
      await producer.send(topic, records)
      await sleep(100)
    }
  })()

  const store = await SegmentStore.open(dir)
  const archivedSoFar = async () => {
    let sum = 0
    for (let p = 0; p < PARTITIONS; p++) sum += await store.nextOffset(p)
    return sum
  }
  let current: ChildProcess | undefined
  defer(t, () => current && kill9(current))
  const progress: number[] = []
  for (let kill = 0; kill < 4; kill++) {
    const { proc, started } = startArchiver(dir, topic, group)
    current = proc
    // The first kill may land before the member has joined; the others while it archives.
    if (kill > 0) await started
    await sleep(100 + Math.floor(Math.random() * 900))
    await kill9(proc)
    progress.push(await archivedSoFar())
  }
  killing = false
  await producing
  const archivedBeforeRestart = await archivedSoFar()
  t.diagnostic(`offsets archived after each kill: ${progress.join(', ')} of ${produced} produced`)
  assert.ok(archivedBeforeRestart > 0 && archivedBeforeRestart < produced, `killed runs archived ${progress}`)

  const { proc, started } = startArchiver(dir, topic, group)
  current = proc
  await started
  const latest = new Map((await admin.listOffsets(topic)).map((p) => [p.partition, p.latest]))
  // A wait with a generous deadline, not a timing claim.
  const deadline = Date.now() + 120_000
  for (;;) {
    let caughtUp = true
    for (let p = 0; p < PARTITIONS; p++) caughtUp &&= (await store.nextOffset(p)) === latest.get(p)
    if (caughtUp) break
    if (Date.now() > deadline) throw new Error('the restarted archiver did not catch up')
    await sleep(100)
  }
  await new Promise((resolve) => {
    proc.once('exit', resolve)
    proc.kill('SIGTERM')
  })

  let archived = 0
  for (let p = 0; p < PARTITIONS; p++) {
    const inKafka = await readPartition({ brokers, topic, partition: p })
    const events = inKafka.filter((r) => r.value.toString() !== 'not json')
    const got = []
    for await (const batch of readRecords(dir, p)) got.push(...batch)
    assert.deepEqual(
      got.map((r) => [r.offset, r.timestamp, r.key, r.value.toString()]),
      events.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value.toString()]),
    )
    const segments = await store.segments(p)
    assert.equal(segments[0]!.start, 0)
    assert.equal(segments.at(-1)!.end, latest.get(p))
    archived += got.length
  }
  assert.equal(archived, produced - invalid)
})
