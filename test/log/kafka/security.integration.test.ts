// Kafka security against a real broker: a scratch one-node cluster with a SASL_SSL listener
// (SCRAM-SHA-512 over TLS from a throwaway CA; secure-cluster.ts). Strata's admin, producer and
// consumer work through it with the right settings; a wrong password is KAFKA_AUTH and a
// certificate nobody vouched for is KAFKA_TLS, neither showing a password; and `strata start`,
// configured only by the STRATA_KAFKA_* environment, takes an event over HTTP into a view.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { StrataError } from '../../../src/core/errors.ts'
import { createAdmin, createConsumer, createProducer } from '../../../src/log/kafka/index.ts'
import { type KafkaSecurity, kafkaSecurityFromEnv } from '../../../src/log/kafka/security.ts'
import { bin, freePort, waitFor, writePageviewsConfig } from '../../runtime/start-helpers.ts'
import { type SecureCluster, startSecureCluster } from './secure-cluster.ts'

// Fail fast: a refused login is final, and these tests must not wait out retries.
const quick = { retries: 1, retryDelay: 100, timeout: 10_000 }

function securityOf(cluster: SecureCluster, password = cluster.password): KafkaSecurity {
  return {
    sasl: { mechanism: 'SCRAM-SHA-512', username: cluster.username, password },
    tls: { ca: readFileSync(cluster.caFile) },
  }
}

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof StrataError, `a StrataError, got ${inspect(error)}`)
  return error
}

test('Kafka over SASL_SSL with SCRAM-SHA-512', async (t) => {
  const cluster = await startSecureCluster(t)
  const brokers = cluster.secure

  await t.test('admin, producer and a consumer group work with the user and the CA', async () => {
    const security = securityOf(cluster)
    const admin = createAdmin({ brokers, security })
    const topic = `test-${randomUUID()}`
    try {
      await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 })
      const producer = createProducer({ brokers, security })
      const sent = Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 }))
      try {
        assert.equal((await producer.send(topic, sent)).length, 10)
      } finally {
        await producer.close()
      }
      const received: string[] = []
      const consumer = createConsumer({
        brokers,
        security,
        groupId: `test-${randomUUID()}`,
        topics: [topic],
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        onBatch: (batch) => {
          for (const record of batch.records) received.push(String(record.value))
        },
      })
      try {
        await consumer.start()
        await waitFor(async () => received.length >= 10, 'the consumer to read all 10 records', 30_000)
      } finally {
        await consumer.close()
      }
      assert.deepEqual(received.sort(), sent.map((r) => r.value).sort())
    } finally {
      await admin.deleteTopic(topic).catch(() => undefined)
      await admin.close()
    }
  })

  await t.test('a wrong password is STRATA_ERR_KAFKA_AUTH and shows no password', async () => {
    const wrong = `wrong-${randomUUID()}`
    const admin = createAdmin({ brokers, security: securityOf(cluster, wrong), ...quick })
    try {
      const error = await failure(admin.listOffsets('anything'))
      assert.equal(error.code, 'STRATA_ERR_KAFKA_AUTH', error.message)
      assert.equal(error.retriable, false)
      const shown = `${error.message}\n${inspect(error, { depth: 8 })}`
      assert.ok(!shown.includes(wrong), `the wrong password shows in: ${shown}`)
      assert.ok(!shown.includes(cluster.password), 'the real password shows')
    } finally {
      await admin.close()
    }
  })

  await t.test('TLS without the CA that signed the broker is STRATA_ERR_KAFKA_TLS', async () => {
    const admin = createAdmin({
      brokers,
      security: { sasl: securityOf(cluster).sasl, tls: {} },
      ...quick,
    })
    try {
      const error = await failure(admin.listOffsets('anything'))
      assert.equal(error.code, 'STRATA_ERR_KAFKA_TLS', error.message)
      assert.ok(!inspect(error, { depth: 8 }).includes(cluster.password))
    } finally {
      await admin.close()
    }
  })

  await t.test('the environment alone configures a client', async () => {
    const passwordFile = join(cluster.home, 'sasl-password')
    await writeFile(passwordFile, `${cluster.password}\n`, { mode: 0o600 })
    const security = kafkaSecurityFromEnv(secureEnv(cluster, passwordFile))
    assert.equal(security?.sasl?.password, cluster.password, 'the file’s trailing newline is dropped')
    const admin = createAdmin({ brokers, security })
    const topic = `test-${randomUUID()}`
    try {
      await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 })
      assert.deepEqual(
        (await admin.listOffsets(topic)).map((p) => p.latest),
        [0],
      )
    } finally {
      await admin.deleteTopic(topic).catch(() => undefined)
      await admin.close()
    }
  })

  await t.test('strata start with STRATA_KAFKA_* takes a POSTed event into a view', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-start-sasl-'))
    const topic = `test-${randomUUID()}`
    const passwordFile = join(dir, 'sasl-password')
    await writeFile(passwordFile, cluster.password, { mode: 0o600 })
    const configPath = await writePageviewsConfig(dir, topic, 2)
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const output: Buffer[] = []
    const child: ChildProcess = spawn(
      process.execPath,
      [bin, 'start', '--config', configPath, '--data', dir, '--brokers', brokers, '--port', String(port)],
      { env: secureEnv(cluster, passwordFile), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk))
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk))
    const exited = new Promise((resolve) => child.on('exit', resolve))
    t.after(async () => {
      child.kill('SIGKILL')
      await exited
      await rm(dir, { recursive: true, force: true })
    })
    const log = () => Buffer.concat(output).toString('utf8')
    await waitFor(
      async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true,
      'strata start to answer /health',
      90_000,
    ).catch((error: Error) => assert.fail(`${error.message}; output:\n${log()}`))
    const ts = Date.UTC(2025, 10, 24, 10, 30)
    const posted = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'page_view', url: '/secure', user: 'u1', ts }),
    })
    assert.equal(posted.status, 202, await posted.text())
    await waitFor(
      async () => {
        const res = await fetch(`${url}/views/pageviews_by_url/${encodeURIComponent('/secure')}`)
        if (!res.ok) return false
        const body = (await res.json()) as { windows: Array<{ value: number }> }
        return body.windows.reduce((sum, w) => sum + w.value, 0) === 1
      },
      'the event to show in pageviews_by_url',
      60_000,
    ).catch((error: Error) => assert.fail(`${error.message}; output:\n${log()}`))
    assert.ok(log().includes('SASL SCRAM-SHA-512'), `the log names how Kafka is reached:\n${log()}`)
    assert.ok(!log().includes(cluster.password), 'the password shows in the output')
  })

  await t.test('strata start with a wrong password fails with KAFKA_AUTH and never prints it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-start-sasl-'))
    try {
      const wrong = `wrong-${randomUUID()}`
      const configPath = await writePageviewsConfig(dir, `test-${randomUUID()}`, 1)
      const env = { ...secureEnv(cluster), STRATA_KAFKA_SASL_PASSWORD: wrong }
      const child = spawn(
        process.execPath,
        [
          bin,
          'start',
          '--config',
          configPath,
          '--data',
          dir,
          '--brokers',
          brokers,
          '--port',
          String(await freePort()),
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      const output: Buffer[] = []
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk))
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk))
      const code = await new Promise((resolve) => child.on('exit', resolve))
      const text = Buffer.concat(output).toString('utf8')
      assert.notEqual(code, 0, text)
      assert.match(text, /STRATA_ERR_KAFKA_AUTH/)
      assert.ok(!text.includes(wrong), `the password shows in:\n${text}`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

function secureEnv(cluster: SecureCluster, passwordFile?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    STRATA_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    STRATA_KAFKA_SASL_USERNAME: cluster.username,
    ...(passwordFile
      ? { STRATA_KAFKA_SASL_PASSWORD_FILE: passwordFile }
      : { STRATA_KAFKA_SASL_PASSWORD: cluster.password }),
    STRATA_KAFKA_TLS_CA: cluster.caFile,
  }
}
