// `strata worker serve --ingest`: an ingest-only front. POST /events validates as strata start
// does and writes to the source topic with acks=all (202 with where each event landed); a bad
// batch is refused whole; without brokers the flag is refused at start (exit 1 with a code).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { brokers, createTestTopic, defer, testAdmin } from '../log/kafka/helpers.ts'
import { configSource } from '../speed/helpers.ts'

function startServe(args: string[]): SpawnedStrata {
  return spawnStrata(['worker', 'serve', ...args])
}

async function scratch(t: Parameters<typeof defer>[0], topic: string) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-serve-ingest-'))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource(topic, 2))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return { dir, configPath }
}

test('strata worker serve --ingest takes POST /events and writes it to the source topic', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const { dir, configPath } = await scratch(t, topic)
  const port = await freePort()
  const serve = startServe([
    '--config',
    configPath,
    '--data',
    dir,
    '--brokers',
    brokers,
    '--port',
    String(port),
    '--ingest',
  ])
  defer(t, async () => {
    if (serve.child.exitCode === null) {
      serve.child.kill('SIGKILL')
      await serve.exited
    }
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    assert.equal(serve.child.exitCode, null, serve.output())
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    if (Date.now() > deadline) throw new Error(`serve did not come up:\n${serve.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  const post = (body: string) =>
    fetch(`${url}/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })
  const good = await post('{"ts":1,"type":"page_view","url":"/a"}\n{"ts":2,"type":"page_view","url":"/b"}\n')
  assert.equal(good.status, 202)
  const accepted = (await good.json()) as {
    count: number
    records: Array<{ partition: number; offset: number }>
  }
  assert.equal(accepted.count, 2)
  assert.equal(accepted.records.length, 2)

  const bad = await post('{"ts":3,"url":"/c"}\n{"url":"/no-time"}\n')
  assert.equal(bad.status, 400)
  assert.equal(
    ((await bad.json()) as { error: { code: string } }).error.code,
    'STRATA_ERR_INVALID_EVENT_TIME',
  )

  // Exactly the two accepted events are on the topic: nothing of the refused batch.
  const ends = await admin.listOffsets(topic)
  assert.equal(
    ends.reduce((sum, { latest }) => sum + latest, 0),
    2,
  )
  serve.child.kill('SIGTERM')
  assert.equal(await serve.exited, 0, serve.output())
})

test('strata worker serve --ingest without brokers exits 1 with a code', async (t) => {
  const { dir, configPath } = await scratch(t, 'no-topic')
  const serve = startServe([
    '--config',
    configPath,
    '--data',
    dir,
    '--port',
    String(await freePort()),
    '--ingest',
  ])
  defer(t, () => serve.child.kill('SIGKILL'))
  assert.equal(await serve.exited, 1, serve.output())
  assert.match(serve.output(), /--ingest writes to Kafka: give --brokers/)
  assert.match(serve.output(), /STRATA_ERR_INVALID_ARGUMENT/)
})
