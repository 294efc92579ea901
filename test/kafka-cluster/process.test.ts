import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodePaths } from '../../src/kafka-cluster/paths.ts'
import { isOurBroker, isPortFree, runningPid, signalAndWait } from '../../src/kafka-cluster/process.ts'

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-process-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('a recorded pid that is not a kafka.Kafka java process is not ours and is never signalled', async (t) => {
  const node = nodePaths(await scratch(t), 1)
  // A live process that is not a broker: this test's own node process.
  assert.equal(await isOurBroker(process.pid, node), false)
  // signalAndWait refuses it (returns "gone") instead of killing the test runner.
  assert.equal(await signalAndWait(process.pid, node, 'SIGKILL', 1000), true)
  assert.equal(await isOurBroker(2 ** 22 + 12345, node), false)
})

test('a sleeping child posing with the wrong server.properties is not ours', async (t) => {
  const dir = await scratch(t)
  const node = nodePaths(dir, 1)
  const other = nodePaths(dir, 2)
  // argv[0] is not java, but the args mention kafka.Kafka and the node's file.
  const child = spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 60000)', 'kafka.Kafka', other.serverProperties],
    {
      stdio: 'ignore',
    },
  )
  t.after(() => child.kill('SIGKILL'))
  await new Promise((resolve) => child.once('spawn', resolve))
  assert.equal(await isOurBroker(child.pid!, node), false)
  assert.equal(await isOurBroker(child.pid!, other), false, 'argv[0] is node, not java')
  await mkdir(node.dir, { recursive: true })
  await writeFile(node.pidFile, `${child.pid}\n`)
  assert.equal(await runningPid(node), undefined)
  assert.equal(child.exitCode, null, 'still running: nothing signalled it')
})

test('isPortFree tells a listening port from a free one', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const { port } = server.address() as { port: number }
  assert.equal(await isPortFree('127.0.0.1', port), false)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  assert.equal(await isPortFree('127.0.0.1', port), true)
})
