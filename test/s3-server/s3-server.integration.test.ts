// `strata s3 start|stop|status` on a real S3Proxy: started once (jars cached), idempotent, and the
// conditional write the master dataset relies on (If-None-Match: * never replaces an object).
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { parseObjectStoreUrl } from '../../src/master-dataset/index.ts'
import { createObjectStore } from '../../src/master-dataset/s3/objects.ts'
import { s3ServerStatus, startS3Server } from '../../src/s3-server/index.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'
import { startTestS3, type TestS3 } from '../helpers/s3.ts'

let s3: TestS3
before(async () => {
  s3 = await startTestS3()
})
after(() => s3.stop())

test('s3 server: a second start reports the running server instead of starting another', async () => {
  const port = Number(new URL(s3.server.endpoint).port)
  const again = await startS3Server({
    port,
    dir: s3.dataDir.replace(/\/data$/, ''),
    buckets: ['strata-test'],
  })
  assert.equal(again.alreadyRunning, true)
  assert.equal(again.pid, s3.server.pid)
  const status = await s3ServerStatus({ port, dir: s3.dataDir.replace(/\/data$/, '') })
  assert.equal(status.answers, true)
  assert.equal(status.alive, true)
})

test('s3 server: If-None-Match: * creates once and never replaces (412 → false)', async () => {
  const objects = createObjectStore(parseObjectStoreUrl('s3://strata-test/x'), s3.settings)
  try {
    assert.equal(await objects.putIfAbsent('x/a', Buffer.from('one')), true)
    assert.equal(await objects.putIfAbsent('x/a', Buffer.from('two')), false)
    assert.equal((await objects.get('x/a'))?.toString(), 'one')
    assert.deepEqual(await objects.list('x/'), ['x/a'])
    assert.equal(await objects.get('x/missing'), undefined)
  } finally {
    objects.close()
  }
})

test('strata s3 status: exit 0 while the server answers, 3 when nothing answers on the port', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'strata-s3-home-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const down = spawnStrata(['s3', 'status', '--port', String(await freePort())], { STRATA_HOME: home })
  assert.equal(await down.exited, 3, down.output())
  assert.match(down.output(), /does not answer; not running/)
  const port = new URL(s3.server.endpoint).port
  const up = spawnStrata(['s3', 'status', '--port', port], { STRATA_HOME: home })
  assert.equal(await up.exited, 0, up.output())
  assert.match(up.output(), /: answers;/)
})
