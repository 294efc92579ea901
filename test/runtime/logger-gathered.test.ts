// The logger writes routine lines (info, debug) gathered for a few milliseconds, and warnings
// and errors at once after what was gathered before them (runtime/logger.ts, decision 0013): a
// server's request log costs a few write(2) a second, not one per request, and no line is lost or
// reordered, at exit either.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { gathered, routine } from '../../src/runtime/logger.ts'

test('routine lines are written together within the window; an urgent one writes them and itself at once', async () => {
  // A window longer than the test: what is gathered across turns waits for it (no timing asserted).
  const writes: string[] = []
  const out = gathered({ write: (text: string) => writes.push(text) }, 3_600_000)
  out('a\n', false)
  await new Promise((resolve) => setImmediate(resolve))
  out('b\n', false) // a later turn, the same window
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(writes, [], 'nothing written within the window')
  out('warn\n', true)
  assert.deepEqual(writes, ['a\nb\nwarn\n'], 'an urgent line goes out at once, after a and b')

  // A short window ends before a timer set after it for longer (timers fire in order of expiry).
  const ended: string[] = []
  const short = gathered({ write: (text: string) => ended.push(text) }, 5)
  short('c\n', false)
  short('d\n', false)
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(ended, ['c\nd\n'], 'one write when the window ends')
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(ended.length, 1, 'nothing left over')
})

test("pino's lines: info, debug and trace are routine; warn, error and fatal are not", () => {
  assert.ok(routine('{"level":"info","time":"…"}'))
  assert.ok(routine('{"level":"debug","time":"…"}'))
  assert.ok(routine('{"level":30,"time":1}'))
  assert.ok(routine('{"level":20,"time":1}'))
  for (const line of [
    '{"level":"warn"}',
    '{"level":"error"}',
    '{"level":"fatal"}',
    '{"level":40,',
    '{"level":50,',
  ])
    assert.ok(!routine(line), line)
})

test('every line reaches stderr in order, the gathered ones too when the process exits', () => {
  const script = `
    import { createLogger } from ${JSON.stringify(new URL('../../src/runtime/logger.ts', import.meta.url).href)}
    const log = createLogger('t')
    log.info('one'); log.info('two'); log.warn('three'); log.info('four')
    setTimeout(() => { log.info('five'); log.error('six'); log.info('seven'); process.exit(3) }, 5)
  `
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(run.status, 3)
  const messages = run.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line).msg)
  assert.deepEqual(messages, ['one', 'two', 'three', 'four', 'five', 'six', 'seven'])
})
