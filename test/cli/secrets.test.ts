// Secrets never reach the output: a store URL's password and the SASL password, when the command
// fails because of them or despite them, and every line the logger writes.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { registerSecret, scrubSecrets } from '../../src/core/secrets.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { bin, exampleConfig } from '../runtime/start-helpers.ts'

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env } })
  const chunks: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, output: Buffer.concat(chunks).toString('utf8') }
}

test('strata start with a password-bearing store URL that fails never prints the password', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-secrets-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const password = `pg-${randomBytes(8).toString('hex')}`
  const store = `postgres://strata:${password}@127.0.0.1:${await closedPort()}/test?schema=s`
  for (const args of [
    [
      'start',
      '--config',
      exampleConfig,
      '--data',
      dir,
      '--store',
      store,
      '--port',
      String(await closedPort()),
    ],
    [
      'worker',
      'serve',
      '--config',
      exampleConfig,
      '--data',
      dir,
      '--store',
      store,
      '--port',
      String(await closedPort()),
      // A worker waits for its store (2 min by default), saying so on each attempt: a few
      // attempts are enough to show those lines redacted too.
      '--startup-timeout',
      '3s',
    ],
  ]) {
    const { code, output } = await run(args, {})
    assert.notEqual(code, 0, output)
    assert.match(output, /STRATA_ERR_STORE/, output)
    assert.ok(!output.includes(password), `the password shows in:\n${output}`)
    assert.match(output, /strata:\*\*\*@/, 'the URL is shown, redacted')
  }
  // The same URL from the environment.
  const port = String(await closedPort())
  const { output } = await run(['start', '--config', exampleConfig, '--data', dir, '--port', port], {
    STRATA_STORE: store,
  })
  assert.ok(!output.includes(password), `the password shows in:\n${output}`)
})

test('a bad Kafka security setting stops strata start before it connects, without the password', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-secrets-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const password = `sasl-${randomBytes(8).toString('hex')}`
  const { code, output } = await run(
    ['start', '--config', exampleConfig, '--data', dir, '--brokers', `127.0.0.1:${await closedPort()}`],
    {
      STRATA_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-999',
      STRATA_KAFKA_SASL_USERNAME: 'u',
      STRATA_KAFKA_SASL_PASSWORD: password,
    },
  )
  assert.notEqual(code, 0, output)
  assert.match(output, /STRATA_ERR_INVALID_CONFIG/)
  assert.match(output, /STRATA_KAFKA_SASL_MECHANISM/)
  assert.ok(!output.includes(password), output)
})

test('a token file that does not exist stops strata start with a code', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-secrets-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const shortFile = join(dir, 'short-token')
  await writeFile(shortFile, 'short\n')
  for (const file of [join(dir, 'missing'), shortFile]) {
    const { code, output } = await run(
      [
        'start',
        '--config',
        exampleConfig,
        '--data',
        dir,
        '--token-file',
        file,
        '--port',
        String(await closedPort()),
      ],
      {},
    )
    assert.notEqual(code, 0, output)
    assert.match(output, /STRATA_ERR_INVALID_ARGUMENT/, output)
    assert.match(output, /token/, output)
    assert.ok(!output.includes('short\n'), output)
  }
})

test('the logger blanks registered secrets and URL passwords in every line', () => {
  const secret = `tok-${randomBytes(8).toString('hex')}`
  registerSecret(secret)
  const lines: string[] = []
  const logger = createLogger('test', (line) => lines.push(line))
  logger.info(`connecting with ${secret}`)
  logger.error('store failed', new Error(`could not reach postgres://u:hunter2@db/x (${secret})`))
  logger.child('sub').warn(`again ${secret}`)
  assert.equal(lines.length, 3)
  for (const line of lines) {
    assert.ok(!line.includes(secret), line)
    assert.ok(!line.includes('hunter2'), line)
  }
  assert.match(lines[1]!, /postgres:\/\/u:\*\*\*@db\/x/)
  assert.equal(scrubSecrets('no secrets here'), 'no secrets here')
})
