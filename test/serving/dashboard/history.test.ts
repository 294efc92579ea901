// The dashboard's ring buffer (src/serving/dashboard/history.ts): bounded by count and by age,
// always oldest first, and started over when the clock steps back.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { History } from '../../../src/serving/dashboard/history.ts'

const HOUR = 3_600_000
const point = (at: number) => ({ at })
const times = (points: Array<{ at: number }>) => points.map((p) => p.at)

test('the history keeps at most its capacity, dropping the oldest, in order', () => {
  const history = new History(4, HOUR)
  for (let at = 1; at <= 10; at++) history.push(point(at))
  assert.equal(history.size, 4)
  assert.deepEqual(times(history.points(10)), [7, 8, 9, 10])
  // Around the ring several times: still the newest four, oldest first.
  for (let at = 11; at <= 23; at++) history.push(point(at))
  assert.deepEqual(times(history.points(23)), [20, 21, 22, 23])
})

test('points older than the span are dropped, as new ones come and when read', () => {
  const history = new History(100, 10_000)
  for (const at of [0, 4000, 8000, 12_000]) history.push(point(at))
  assert.deepEqual(times(history.points(12_000)), [4000, 8000, 12_000], 'the point at 0 is over 10 s old')
  // Nothing new came (no reading for a while): reading later still returns only the last 10 s.
  assert.deepEqual(times(history.points(19_000)), [12_000])
  assert.deepEqual(times(history.points(30_000)), [])
  assert.equal(history.size, 0)
})

test('an hour at one point per second fits its capacity: 3,601 points, none older than an hour', () => {
  const history = new History(3601, HOUR)
  const start = Date.UTC(2026, 0, 1)
  for (let s = 0; s <= 2 * 3600; s++) history.push(point(start + s * 1000))
  const now = start + 2 * HOUR
  const points = history.points(now)
  assert.equal(points.length, 3601)
  assert.equal(points[0].at, now - HOUR)
  assert.equal(points.at(-1)?.at, now)
  assert.ok(
    points.every((p, i) => i === 0 || p.at > points[i - 1].at),
    'strictly in time order',
  )
})

test('a point older than the newest (the clock stepped back) starts the history over', () => {
  const history = new History(10, HOUR)
  for (const at of [1000, 2000, 3000]) history.push(point(at))
  history.push(point(1500))
  assert.deepEqual(times(history.points(1500)), [1500])
  history.push(point(1500))
  assert.deepEqual(times(history.points(1500)), [1500, 1500], 'equal times are kept')
})

test('points() returns a copy: changing it leaves the history as it was', () => {
  const history = new History(3, HOUR)
  history.push(point(1))
  const copy = history.points(1)
  copy.pop()
  assert.deepEqual(times(history.points(1)), [1])
  assert.throws(() => new History(0, HOUR), RangeError)
})
