import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { completeMarker, ensureKafkaJars, pomKafkaVersion } from '../../src/kafka-cluster/jars.ts'

test('the pom names a Kafka 4.x version', async () => {
  assert.match(await pomKafkaVersion(), /^4\.\d+\.\d+$/)
})

test('a lib folder whose marker matches the pom is reused without running Maven', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'strata-jars-'))
  t.after(() => rm(home, { recursive: true, force: true }))
  const libDir = join(home, 'lib')
  await mkdir(libDir)
  const version = await pomKafkaVersion()
  await writeFile(join(libDir, '.complete'), `${await completeMarker()}\n`)
  assert.deepEqual(await ensureKafkaJars({ home, libDir }), { libDir, version })
  assert.equal(existsSync(join(home, 'kafka', 'maven.log')), false, 'Maven did not run')
})

test('the marker names the Kafka version and changes with the pom', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-pom-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const pom = join(dir, 'pom.xml')
  await writeFile(pom, '<project><properties><kafka.version>4.4.0</kafka.version></properties></project>')
  const first = await completeMarker(pom)
  assert.match(first, /^kafka 4\.4\.0 pom [0-9a-f]{12}$/)
  await writeFile(pom, '<project><properties><kafka.version>4.4.0</kafka.version><x/></properties></project>')
  assert.notEqual(await completeMarker(pom), first)
})
