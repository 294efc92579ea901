// A role thread's stats cadence (src/runtime/stats-cadence.ts): every busyMs while batches come,
// every idleMs once none has come for that long, and back to busyMs at the first batch after.
// A clock of the test's own: no timed assertion, only which reports happened at which instant.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StatsCadence, type StatsCadenceTimers } from '../../src/runtime/stats-cadence.ts'

class ManualClock implements StatsCadenceTimers {
  at = 0
  #next = 1
  #due = new Map<number, { at: number; run: () => void }>()
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.#next++
    this.#due.set(id, { at: this.at + ms, run })
    return id
  }
  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number)
  }
  now(): number {
    return this.at
  }
  /** Moves the clock to `to`, running every timer due on the way, in order. */
  advance(to: number): void {
    for (;;) {
      const next = [...this.#due].sort((a, b) => a[1].at - b[1].at)[0]
      if (next === undefined || next[1].at > to) break
      this.#due.delete(next[0])
      this.at = next[1].at
      next[1].run()
    }
    this.at = to
  }
  get pending(): number {
    return this.#due.size
  }
}

function cadence(busyMs = 100, idleMs = 1000) {
  const clock = new ManualClock()
  const reports: number[] = []
  const c = new StatsCadence(() => reports.push(clock.at), busyMs, idleMs, clock)
  return { clock, reports, c }
}

test('reports at start, every busyMs while batches come', () => {
  const { clock, reports, c } = cadence()
  c.start()
  for (let t = 50; t <= 1000; t += 50) {
    clock.advance(t)
    c.activity()
  }
  assert.deepEqual(reports, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000])
  assert.equal(c.idle, false)
})

test('an idle role still reports, every idleMs', () => {
  const { clock, reports, c } = cadence()
  c.start()
  clock.advance(5000)
  // busy ticks until a second without a batch has passed, then one a second
  assert.deepEqual(reports, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000])
  assert.equal(c.idle, true)
})

test('the first batch after an idle stretch is reported within busyMs, not at the idle tick', () => {
  const { clock, reports, c } = cadence()
  c.start()
  clock.advance(3000) // idle: the next report is due at 4000
  assert.equal(c.idle, true)
  clock.advance(3250)
  c.activity()
  assert.equal(c.idle, false)
  clock.advance(3350)
  assert.equal(reports.at(-1), 3350, 'reported busyMs after the batch')
  clock.advance(3950)
  assert.deepEqual(
    reports.filter((t) => t > 3000),
    [3350, 3450, 3550, 3650, 3750, 3850, 3950],
    'busy again while the batch is recent',
  )
})

test('a batch while busy does not push the next report back', () => {
  const { clock, reports, c } = cadence()
  c.start()
  for (let t = 10; t <= 190; t += 10) {
    clock.advance(t)
    c.activity()
  }
  assert.deepEqual(reports, [0, 100])
})

test('stop() ends the reports', () => {
  const { clock, reports, c } = cadence()
  c.start()
  clock.advance(150)
  c.stop()
  c.activity()
  clock.advance(10_000)
  assert.deepEqual(reports, [0, 100])
  assert.equal(clock.pending, 0)
})
