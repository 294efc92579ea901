// Two speed workers (child processes) in one consumer group on a real broker. One is killed with
// SIGKILL while events flow; batch runs complete meanwhile (one while the dead worker's
// partitions are orphaned, so its horizon is a boundary the survivor must seal at when it takes
// them over). Afterwards every answer equals the plain fold of everything produced, as of the
// topic's end, and the group offsets show no lag. The first worker folds in a fold thread (as
// `strata worker speed` does), the second in process.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { test } from 'node:test'
import type { StrataEvent } from '../../src/core/event.ts'
import { createProducer } from '../../src/log/kafka/index.ts'
import { queryView } from '../../src/serving/query.ts'
import { brokers, createTestTopic, defer, testAdmin, testGroup } from '../log/kafka/helpers.ts'
import {
  archive,
  assertExact,
  batch,
  byPartition,
  pageView,
  speedFixture,
  type TestRecord,
  waitFor,
} from './helpers.ts'

const PARTITIONS = 3

interface Member {
  child: ChildProcess
  output: string
  owned(): number[]
}

function startMember(groupId: string, configPath: string, storePath: string, threads = false): Member {
  const child = spawn(
    process.execPath,
    [
      new URL('./speed-worker-process.fixture.ts', import.meta.url).pathname,
      brokers,
      groupId,
      configPath,
      storePath,
      ...(threads ? ['threads'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const member: Member = {
    child,
    output: '',
    owned() {
      const lines = member.output.split('\n').filter((l) => l.startsWith('owned'))
      const last = lines.at(-1)?.slice('owned'.length).trim() ?? ''
      return last === '' ? [] : last.split(',').map(Number)
    },
  }
  child.stdout?.on('data', (chunk) => {
    member.output += chunk
  })
  return member
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()))
}

test('two speed workers, one killed with SIGKILL while events flow and batch runs complete: answers stay exact', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, PARTITIONS)
  const groupId = testGroup(t, admin)
  const fixture = await speedFixture(t, PARTITIONS, topic)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())

  const records: TestRecord[][] = byPartition(PARTITIONS, [], [])
  let n = 0
  const produce = async (count: number) => {
    const values: Array<StrataEvent | string> = []
    for (let i = 0; i < count; i++, n++) {
      values.push(n % 40 === 13 ? '{oops' : n % 40 === 27 ? '{"type":"click"}' : pageView(n))
    }
    const positions = await producer.send(
      topic,
      values.map((v, i) => ({
        key: `k${(n + i) % 11}`,
        value: typeof v === 'string' ? v : JSON.stringify(v),
      })),
    )
    byPartition(PARTITIONS, values, positions, records)
  }
  const latest = async () =>
    (await admin.listOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.latest)
  const caughtUp = async (what: string) => {
    const ends = await latest()
    await waitFor(async () => {
      const stored = await fixture.store.speedPartitions()
      return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
    }, what)
    return ends
  }
  const archived = new Array(PARTITIONS).fill(0)
  const archiveAll = async () => {
    const ends = await latest()
    for (let p = 0; p < PARTITIONS; p++) {
      if (ends[p] > archived[p]) await archive(fixture.root, p, records[p], archived[p], ends[p])
      archived[p] = ends[p]
    }
  }

  // The first with a fold thread (Kafka's records then decoded as spans), the second without.
  const a = startMember(groupId, fixture.configPath, fixture.storePath, true)
  defer(t, () => a.child.kill('SIGKILL'))
  await waitFor(() => a.owned().length === PARTITIONS, 'the first worker owns every partition')
  const b = startMember(groupId, fixture.configPath, fixture.storePath)
  defer(t, async () => {
    b.child.kill('SIGTERM')
    await exited(b.child)
  })
  await waitFor(() => a.owned().length > 0 && b.owned().length > 0, 'the two workers share the partitions')
  assert.equal(a.owned().length + b.owned().length, PARTITIONS)

  await produce(300)
  await caughtUp('both workers commit the first wave')
  await assertExact(fixture.store, fixture.views, records, 'first wave')

  // The first wave goes to the master dataset; a batch run aligns with the speed layer's epochs.
  await archiveAll()
  const first = await batch(fixture)
  assert.ok(first.versions.length > 0)
  await assertExact(fixture.store, fixture.views, records, 'after the first batch run')

  // Events flow; the first worker dies mid-way, without flushing or leaving the group.
  const orphaned = a.owned()
  for (let chunk = 0; chunk < 6; chunk++) {
    await produce(50)
    if (chunk === 2) {
      a.child.kill('SIGKILL')
      await exited(a.child)
    }
  }
  await assertExact(fixture.store, fixture.views, records, 'right after the kill')
  // While its partitions are orphaned, the master dataset gets everything and a batch run
  // requires boundaries past what the dead worker committed.
  await archiveAll()
  const before = await fixture.store.speedPartitions()
  const second = await batch(fixture)
  assert.ok(second.versions.length > 0)
  const after = await fixture.store.speedPartitions()
  // Where no one claimed the partition since (same owner token), the dead worker's offset is
  // below the horizon: the horizon must be required of the next owner.
  let required = 0
  for (const p of orphaned) {
    const [was, now] = [before, after].map((list) => list.find((s) => s.partition === p)!)
    if (now.owner === was.owner && was.offset < second.plan.horizon[p]) {
      assert.ok(now.required.includes(second.plan.horizon[p]), `partition ${p} requires its horizon`)
      required++
    }
  }
  t.diagnostic(`orphaned partitions with a required boundary: ${required} of ${orphaned.length}`)
  await assertExact(fixture.store, fixture.views, records, 'after the second batch run')

  await waitFor(() => b.owned().length === PARTITIONS, 'the survivor takes over every partition')
  await produce(60)
  const ends = await caughtUp('the survivor commits everything')
  await assertExact(fixture.store, fixture.views, records, 'at the end')
  for (const view of fixture.views) assert.deepEqual((await queryView(fixture.store, view, '/a')).asOf, ends)
  // Every served horizon is an epoch boundary (docs/horizon.md, rule 3).
  const final = await fixture.store.speedPartitions()
  second.plan.horizon.forEach((h, p) => {
    const epochs = final.find((s) => s.partition === p)!.epochs
    assert.ok(h === 0 || epochs.includes(h), `partition ${p}: horizon ${h} in epochs ${epochs}`)
  })

  // Group offsets follow the store's, for kafka-consumer-groups.
  await waitFor(async () => {
    const committed = await admin.committedOffsets(groupId, topic)
    return ends.every((end, p) => committed.get(p) === end)
  }, 'group offsets at the end')
  assert.doesNotMatch(b.output, /^error/m)
})
