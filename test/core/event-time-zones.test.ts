// Issue 11: a zone-less event time was read in the process's local zone, so a batch run in one
// zone put an event in another window than the speed layer had in another. The same events go
// through the speed fold and the batch fold in child processes under different TZ; every table
// must be the same, and the impossible dates refused by both.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'

const fixture = new URL('./event-time-zones.fixture.ts', import.meta.url).pathname

const events = [
  '{"k":"a","ts":"2026-01-01T00:30"}',
  '{"k":"a","ts":"2026-01-01 23:50:00"}',
  '{"k":"b","ts":"2026-01-01T05:29:59.999"}',
  '{"k":"b","ts":"2026-03-08T02:30"}', // does not exist in New York (DST gap); fine in UTC
  '{"k":"b","ts":"2026-11-01T01:30"}', // twice in New York (DST overlap)
  '{"k":"c","ts":"2026-01-01"}',
  '{"k":"c","ts":"2026-01-01T00:30+05:30"}',
  '{"k":"c","ts":"2026-01-01T00:30-0500"}',
  '{"k":"c","ts":1767227400000}',
  '{"k":"x","ts":"2026-02-30T00:00"}',
  '{"k":"x","ts":"2025-02-29"}',
  '{"k":"x","ts":"2026-13-01"}',
  '{"k":"x","ts":"2026-01-01T24:61"}',
]

interface Folded {
  tz: string
  offset: number
  speed: string[][]
  batch: string[][]
  rejected: string[]
}

function foldIn(tz: string): Promise<Folded> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, TZ: tz },
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`fixture exit ${code}`)),
    )
    child.stdin.end(events.join('\n'))
  })
}

test('batch and speed folds put zone-less times in the same UTC windows in every TZ', async () => {
  const [utc, newYork, kolkata] = await Promise.all([
    foldIn('UTC'),
    foldIn('America/New_York'),
    foldIn('Asia/Kolkata'),
  ])
  assert.equal(newYork.offset, 300)
  assert.equal(kolkata.offset, -330)
  for (const run of [utc, newYork, kolkata]) {
    assert.deepEqual(run.batch, run.speed, `batch = speed in ${run.tz}`)
    assert.deepEqual(run.speed, utc.speed, `${run.tz} = UTC`)
    assert.deepEqual(
      run.rejected,
      events.filter((e) => e.includes('"x"')),
      `refused in ${run.tz}`,
    )
  }
  // The zone-less 00:30 on Jan 1 is in the UTC hour 00:00 of Jan 1, not 05:00 (New York's reading).
  assert.ok(utc.speed[0]?.includes(`a@${Date.UTC(2026, 0, 1)}=1`), JSON.stringify(utc.speed[0]))
  assert.ok(utc.speed[1]?.includes(`a@${Date.UTC(2026, 0, 1)}=2`), JSON.stringify(utc.speed[1]))
})
