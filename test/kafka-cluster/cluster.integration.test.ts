// The local cluster for real: JVMs, ports, pids. The shared 1-node cluster on 127.0.0.1:9092 is
// used by every other integration test, so this file never stops it unless it started it
// itself; start/kill/restart/stop are exercised on a scratch cluster (its own STRATA_HOME and
// free ports) instead.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { NodeSpec } from '../../src/kafka-cluster/config.ts'
import {
  clusterStatus,
  ensureKafkaJars,
  killNode,
  restartNode,
  startCluster,
  stopCluster,
} from '../../src/kafka-cluster/index.ts'
import { nodePaths } from '../../src/kafka-cluster/paths.ts'
import { isOurBroker } from '../../src/kafka-cluster/process.ts'
import { spawnStrata } from '../helpers/process.ts'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function scratchCluster(t: { after: (fn: () => Promise<void>) => void }) {
  const home = await mkdtemp(join(tmpdir(), 'strata-kafka-'))
  const members: NodeSpec[] = [
    { id: 1, host: '127.0.0.1', clientPort: await freePort(), controllerPort: await freePort() },
  ]
  // Share the main jar folder: a second Maven copy would prove nothing new.
  const { libDir } = await ensureKafkaJars()
  t.after(async () => {
    await stopCluster({ nodes: 1, home })
    await rm(home, { recursive: true, force: true })
  })
  return { home, members, libDir }
}

test('the shared 1-node cluster answers on 127.0.0.1:9092 and start is idempotent', async (t) => {
  const before = await clusterStatus({ nodes: 1 })
  const first = await startCluster({ nodes: 1 })
  if (!before.answering) t.after(() => stopCluster({ nodes: 1 }).then(() => {}))
  assert.equal(first.bootstrap, '127.0.0.1:9092')

  const again = await startCluster({ nodes: 1 })
  assert.equal(again.alreadyRunning, true)
  assert.equal(again.nodes[0]!.pid, first.nodes[0]!.pid, 'the running broker was left alone')

  const status = await clusterStatus({ nodes: 1 })
  assert.equal(status.answering, true)
  assert.deepEqual(status.answer?.brokers, [1])
  assert.equal(status.answer?.clusterId, first.clusterId)
  const [node] = status.members
  assert.equal(node!.alive, true)
  assert.equal(node!.listener, '127.0.0.1:9092')
  assert.equal(await isOurBroker(node!.pid!, nodePaths(status.folder, 1)), true)
  assert.equal(existsSync(node!.logFile), true, `broker log at ${node!.logFile}`)

  // The command says so too, and exits 0 for scripts.
  const cli = spawnStrata(['kafka', 'status', '--nodes', '1'])
  assert.equal(await cli.exited, 0, cli.output())
  assert.match(cli.output(), /1-node cluster at 127\.0\.0\.1:9092: answers/)
})

test('strata kafka status with no cluster of ours: says so and exits 3', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'strata-kafka-status-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const cli = spawnStrata(['kafka', 'status'], { STRATA_HOME: home })
  assert.equal(await cli.exited, 3, cli.output())
  assert.match(cli.output(), /1-node cluster at 127\.0\.0\.1:9092: .*never started/)
  assert.match(cli.output(), /3-node cluster at .*never started/)
})

test('a scratch cluster starts, survives kill -9 and restart, and stop leaves no broker running', async (t) => {
  const { home, members, libDir } = await scratchCluster(t)
  const started = await startCluster({ nodes: 1, home, libDir, members, heap: '512m' })
  assert.equal(started.alreadyRunning, false)
  assert.equal(started.bootstrap, `127.0.0.1:${members[0]!.clientPort}`)
  const paths = nodePaths(join(home, 'kafka', 'cluster-1'), 1)
  const firstPid = started.nodes[0]!.pid!
  assert.equal(await isOurBroker(firstPid, paths), true)

  // Regression: killNode used to return while the JVM's threads still held its ports (the pid's
  // cmdline empties before the sockets close), and the restart below failed with "in use".
  assert.equal(await killNode(1, 1, 'SIGKILL', { home }), firstPid)
  assert.equal(await isOurBroker(firstPid, paths), false)
  assert.equal((await clusterStatus({ nodes: 1, home })).members[0]!.alive, false)

  const restarted = await restartNode(1, 1, { home, libDir, heap: '512m' })
  assert.equal(restarted.alive, true)
  assert.notEqual(restarted.pid, firstPid)
  const status = await clusterStatus({ nodes: 1, home })
  assert.equal(status.answering, true)
  assert.equal(status.answer?.clusterId, started.clusterId, 'same storage, same cluster id')

  const stopped = await stopCluster({ nodes: 1, home })
  assert.deepEqual(
    stopped.map((n) => n.pid),
    [restarted.pid],
  )
  assert.equal(await isOurBroker(restarted.pid!, paths), false)
  assert.equal(existsSync(`/proc/${restarted.pid}`), false, 'no process with the recorded pid')
  assert.equal(existsSync(paths.pidFile), false)
  const after = await clusterStatus({ nodes: 1, home })
  assert.equal(after.answering, false)
  assert.equal(after.members[0]!.alive, false)
})

test('start refuses a port held by another process and names it', async (t) => {
  const { home, members, libDir } = await scratchCluster(t)
  const squatter = createServer()
  await new Promise<void>((resolve) =>
    squatter.listen({ host: '127.0.0.1', port: members[0]!.clientPort }, resolve),
  )
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())))
  await assert.rejects(
    startCluster({ nodes: 1, home, libDir, members, timeoutMs: 5000 }),
    (error: any) =>
      error.code === 'STRATA_ERR_CLUSTER' &&
      error.message.includes(`127.0.0.1:${members[0]!.clientPort} is in use`),
  )
  assert.equal((await clusterStatus({ nodes: 1, home })).members[0]!.alive, false)
})
