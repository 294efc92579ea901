// A role started while Kafka is unreachable waits for it (src/cli/startup.ts) instead of exiting 1
// into a crash loop: `strata worker speed` pointed at a port where nothing listens yet logs
// "waiting for Kafka at …", and joins its group once the port answers (a TCP relay to the real
// broker, opened late: the broker's metadata then sends the client to the broker itself). Past
// --startup-timeout it exits 1 with STRATA_ERR_KAFKA_UNAVAILABLE.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { brokers, createTestTopic, defer, testAdmin } from '../log/kafka/helpers.ts'
import { configSource } from '../speed/helpers.ts'

function startWorker(args: string[]): SpawnedStrata {
  return spawnStrata(['worker', ...args])
}

async function until(ready: () => boolean, what: string): Promise<void> {
  const start = Date.now()
  while (!ready()) {
    if (Date.now() - start > 90_000) throw new Error(`Gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function scratch(t: Parameters<typeof defer>[0], topic: string) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-wait-kafka-'))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource(topic, 2))
  defer(t, () => rm(dir, { recursive: true, force: true }))
  return { dir, configPath }
}

test('strata worker speed started while Kafka is unreachable waits, then joins its group', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const { dir, configPath } = await scratch(t, topic)
  const port = await freePort()
  const group = `test-${randomUUID()}`
  defer(t, () => admin.deleteGroup(group).catch(() => undefined))
  const worker = startWorker([
    'speed',
    '--config',
    configPath,
    '--data',
    dir,
    '--brokers',
    `127.0.0.1:${port}`,
    '--group',
    group,
  ])
  defer(t, async () => {
    if (worker.child.exitCode === null) {
      worker.child.kill('SIGKILL')
      await worker.exited
    }
  })
  await until(
    () =>
      worker.output().includes(`waiting for Kafka at 127.0.0.1:${port} (attempt 2)`) ||
      worker.child.exitCode !== null,
    'the worker to say it waits for Kafka',
  )
  assert.equal(worker.child.exitCode, null, `the worker exited instead of waiting:\n${worker.output()}`)

  // Kafka "comes back": the port now relays to the real broker.
  const [host, brokerPort] = brokers.split(',')[0].split(':')
  const relay: Server = createServer((socket) => {
    const upstream = connect(Number(brokerPort), host)
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve))
  defer(t, () => new Promise((resolve) => relay.close(resolve)))

  await until(
    () => worker.output().includes('speed layer running') || worker.child.exitCode !== null,
    'the worker to join its group',
  )
  assert.equal(worker.child.exitCode, null, worker.output())
  worker.child.kill('SIGTERM')
  assert.equal(await worker.exited, 0, worker.output())
})

test('past --startup-timeout a worker that never reached Kafka exits 1 with a code', async (t) => {
  const { dir, configPath } = await scratch(t, `test-${randomUUID()}`)
  const port = await freePort()
  const worker = startWorker([
    'speed',
    '--config',
    configPath,
    '--data',
    dir,
    '--brokers',
    `127.0.0.1:${port}`,
    '--startup-timeout',
    '2s',
  ])
  defer(t, () => worker.child.kill('SIGKILL'))
  assert.equal(await worker.exited, 1, worker.output())
  assert.match(worker.output(), /waiting for Kafka at 127\.0\.0\.1:\d+ \(attempt 1\)/)
  assert.match(
    worker.output(),
    /gave up waiting for Kafka at 127\.0\.0\.1:\d+ after 2 s .*\[STRATA_ERR_KAFKA_UNAVAILABLE\]/,
  )
})
