// Every failed command ends with one line that names a code, and no stack unless asked for
// (--verbose): a port in use and a server that does not answer used to print a raw stack.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { failureLine } from '../../src/cli/failure.ts'
import { bin, freePort, spawnStrata } from '../helpers/process.ts'

const stackLine = /^ {4}at /m

async function occupied(t: import('node:test').TestContext): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as { port: number }).port
}

test('strata start on a port in use: exit 1, one line with STRATA_ERR_PORT_IN_USE, no stack', async (t) => {
  const port = await occupied(t)
  const data = await mkdtemp(join(tmpdir(), 'strata-port-'))
  t.after(() => rm(data, { recursive: true, force: true }))
  const run = spawnStrata(['start', '--demo', '--port', String(port), '--data', data])
  assert.equal(await run.exited, 1, run.output())
  const lines = run
    .output()
    .split('\n')
    .filter((line) => line.includes('STRATA_ERR_PORT_IN_USE'))
  assert.equal(lines.length, 1, run.output())
  assert.match(
    lines[0]!,
    new RegExp(`^strata: port ${port} on 127\\.0\\.0\\.1 is in use.*\\[STRATA_ERR_PORT_IN_USE\\]$`),
  )
  assert.doesNotMatch(run.output(), stackLine, run.output())

  const verbose = spawnStrata(['start', '--demo', '--port', String(port), '--data', data, '--verbose'])
  assert.equal(await verbose.exited, 1, verbose.output())
  assert.match(verbose.output(), /\[STRATA_ERR_PORT_IN_USE\]/)
  assert.match(verbose.output(), stackLine, 'the stack with --verbose')
})

test('strata query --url with no server there: exit 1, one line with STRATA_ERR_UNREACHABLE', async () => {
  const port = await freePort()
  const run = spawnStrata(['query', 'pageviews_by_url', '/a', '--url', `http://127.0.0.1:${port}`])
  assert.equal(await run.exited, 1, run.output())
  assert.equal(run.output().trim().split('\n').length, 1, run.output())
  assert.match(
    run.output(),
    new RegExp(
      `^strata: no server answers at http://127\\.0\\.0\\.1:${port}/.*\\[STRATA_ERR_UNREACHABLE\\]\\n$`,
    ),
  )
  assert.doesNotMatch(run.output(), stackLine)
})

// A good line and no broker: the failure is Kafka's, not the input's. It was printed as a bad line
// under "1 bad line(s); nothing was sent", which also said nothing was sent of a write that had
// timed out (STRATA_ERR_KAFKA_DELIVERY_TIMEOUT: it may have been written, and a rerun doubles it).
test('strata produce with no broker there: exit 1, one line with the Kafka code, no bad line', async () => {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [bin, 'produce', '--topic', 'events', '--brokers', `127.0.0.1:${port}`],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, STRATA_BROKERS: '' },
    },
  )
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.stdin.end('{"type":"page_view","url":"/a","ts":1767261600000}\n')
  assert.equal(await exited, 1, output)
  assert.match(output, /^strata: .*\[STRATA_ERR_KAFKA_UNAVAILABLE\]\n$/, output)
  assert.doesNotMatch(output, /bad line/)
})

test('a bad log level is refused with its code', async () => {
  const run = spawnStrata(['query', 'v', 'k'], { STRATA_LOG_LEVEL: 'loud' })
  assert.equal(await run.exited, 1)
  assert.match(
    run.output(),
    /^strata: STRATA_LOG_LEVEL "loud": use one of .*\[STRATA_ERR_INVALID_ARGUMENT\]\n$/,
  )
})

// docs/health.md: a command line that does not parse is the parser's two lines, no code, exit 1.
test("a command line that does not parse: exit 1, the parser's error and where the usage is", async () => {
  for (const argv of [['bogus'], ['start', '--bogus'], ['query']]) {
    const run = spawnStrata(argv)
    assert.equal(await run.exited, 1, argv.join(' '))
    assert.match(run.output(), /^error: .*\n\(run with --help for usage\)\n$/, argv.join(' '))
  }
})

test('an error that is not ours is named by what it means, else STRATA_ERR_INTERNAL; secrets scrubbed', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  assert.equal(
    failureLine(new TypeError('fetch failed', { cause: refused })),
    'strata: fetch failed: connect ECONNREFUSED 127.0.0.1:5432 [STRATA_ERR_UNREACHABLE]',
  )
  const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use'), { code: 'EADDRINUSE' })
  assert.match(failureLine(inUse), /\[STRATA_ERR_PORT_IN_USE\]$/)
  assert.equal(
    failureLine(new Error('cannot read postgres://u:hunter2@db/x')),
    'strata: cannot read postgres://u:***@db/x [STRATA_ERR_INTERNAL]',
  )
})

// A flag out of range is the user's input, refused at the edge with STRATA_ERR_INVALID_ARGUMENT:
// --port 99999 reached Node's listen() and came back as STRATA_ERR_INTERNAL ("options.port
// should be >= 0 and < 65536"), and a bad --batch-interval or --request-timeout said
// STRATA_ERR_INVALID_VIEW, the code of a view's window.
test('flags out of range are STRATA_ERR_INVALID_ARGUMENT naming the flag', async (t) => {
  const data = await mkdtemp(join(tmpdir(), 'strata-flags-'))
  t.after(() => rm(data, { recursive: true, force: true }))
  const config = join(import.meta.dirname, '../../examples/pageviews/strata.config.ts')
  for (const [command, env, flag] of [
    [['start', '--port', '99999'], {}, '--port'],
    [['start'], { STRATA_PORT: '65536' }, 'STRATA_PORT'],
    [['worker', 'serve', '--port', '70000'], {}, '--port'],
    [['start', '--batch-interval', '5x'], {}, '--batch-interval'],
    [['start', '--segment-age', '0s'], {}, '--segment-age'],
    [['start', '--request-timeout', 'soon'], {}, '--request-timeout'],
    [['worker', 'batch', '--startup-timeout', '1y'], {}, '--startup-timeout'],
  ] as const) {
    const run = spawnStrata([...command, '--config', config, '--data', data], env)
    assert.equal(await run.exited, 1, run.output())
    assert.match(
      run.output(),
      new RegExp(`^strata: ${flag} .*\\[STRATA_ERR_INVALID_ARGUMENT\\]\\n$`),
      run.output(),
    )
  }
})
