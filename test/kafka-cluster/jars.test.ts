import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ensureKafkaJars, pomKafkaVersion } from '../../src/kafka-cluster/jars.ts'

test('the pom names a Kafka 4.x version', async () => {
  assert.match(await pomKafkaVersion(), /^4\.\d+\.\d+$/)
})

test('a lib folder whose marker names the pom version is reused without running Maven', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'strata-jars-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const libDir = join(home, 'lib')
  await mkdir(libDir)
  const version = await pomKafkaVersion()
  await writeFile(join(libDir, '.complete'), `${version}\n`)
  assert.deepEqual(await ensureKafkaJars({ home, libDir }), { libDir, version })
  assert.equal(existsSync(join(home, 'kafka', 'maven.log')), false, 'Maven did not run')
})
