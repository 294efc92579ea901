// The key filter of a log row (log-key-filter.ts) may answer "maybe" for a key the row does not
// hold, never "no" for one it holds: a false "no" would make a query miss logged deltas.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keyHash } from '../../src/store/lmdb-snapshot-version.ts'
import { KeyFilter } from '../../src/store/log-key-filter.ts'

test('a key filter never says no to a key added, and rarely maybe to one not added', () => {
  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  for (const n of [1, 10, 1_000, 20_000]) {
    const filter = new KeyFilter(n)
    const keys = Array.from({ length: n }, () => `/u/${Math.floor(random() * 1e9)}`)
    for (const key of keys) filter.add(keyHash('v', key))
    for (const key of keys) assert.ok(filter.mayHold(keyHash('v', key)), `${key} of ${n}`)
    let maybe = 0
    for (let i = 0; i < 10_000; i++) if (filter.mayHold(keyHash('v', `/other/${i}`))) maybe++
    // 16 bits a delta, 3 probes: ~0.5% expected; 2% leaves room for the hash's quality.
    assert.ok(maybe < 200, `${maybe} of 10,000 absent keys looked present at ${n}`)
    assert.ok(filter.bytes <= Math.max(8, n * 4), 'bounded by the deltas')
  }
})
