// The answers of several fold threads combined into one, for the store (batch-run.ts): every
// (key, window) group of every answer, in the answers' order, each state decoded, combined with
// the monoid into what the answers before gave that group, and encoded again.
//
// The answers are combined as they crossed (worker.ts, PackedEntries): each thread's distinct
// keys are numbered once into the run's own key numbers, and the groups of a window are found by
// those numbers, so no string is hashed per entry and no per-entry key array is cut. The result
// is keyed columns (each distinct key once), which the store groups by number (putKeyed), as it
// does one thread's answer; the map of maps of strings this replaced, and the per-entry write
// path after it, took 46–150 ms of the main thread for two threads' 72,000 groups, against 25–45 ms
// now (BENCHMARKS.md, session 16; that two threads beat one is not shown there).
//
// The entries are exactly those the map of maps gave, in its order: windows in the order each
// first appears, and in each window its keys in the order each first appears; the same decode,
// combine and encode calls on the same states in the same order, so float sums and sketches come
// out in the same bits.
import type { Monoid } from '../core/monoid.ts'
import type { KeyedColumns } from '../store/store.ts'
import type { PackedEntries } from './worker.ts'
import { damagedEntries, distinctKeys } from './worker-pool.ts'

/** The groups of one window: per run key number, its place in `keys` and `states`. */
interface WindowGroups {
  start: number
  entryOf: Map<number, number>
  keys: number[]
  states: unknown[]
}

export function combineAnswers(
  monoid: Monoid<unknown, any, any>,
  answers: readonly PackedEntries[],
): KeyedColumns {
  const numberOf = new Map<string, number>()
  const keys: string[] = []
  const windows = new Map<number, WindowGroups>()
  let last: WindowGroups | undefined
  for (const answer of answers) {
    const { keyIndex } = answer
    const entries = keyIndex.length
    if (answer.windows.length !== entries || answer.states.length !== entries) {
      throw damagedEntries(
        `${entries} keys, ${answer.windows.length} windows and ${answer.states.length} states`,
      )
    }
    // This answer's key numbers as the run's.
    const distinct = distinctKeys(answer)
    const runNumber = new Uint32Array(distinct.length)
    for (let n = 0; n < distinct.length; n++) {
      const key = distinct[n]!
      let k = numberOf.get(key)
      if (k === undefined) {
        k = keys.length
        numberOf.set(key, k)
        keys.push(key)
      }
      runNumber[n] = k
    }
    for (let i = 0; i < entries; i++) {
      const n = keyIndex[i]!
      if (n >= distinct.length)
        throw damagedEntries(`entry ${i} has key number ${n} of ${distinct.length} keys`)
      const start = answer.windows[i]!
      if (last === undefined || last.start !== start) {
        last = windows.get(start)
        if (last === undefined) {
          last = { start, entryOf: new Map(), keys: [], states: [] }
          windows.set(start, last)
        }
      }
      const k = runNumber[n]!
      const state = monoid.decode(answer.states[i] as never)
      const at = last.entryOf.get(k)
      if (at === undefined) {
        last.entryOf.set(k, last.keys.length)
        last.keys.push(k)
        last.states.push(state)
      } else last.states[at] = monoid.combine(last.states[at], state)
    }
  }
  let size = 0
  for (const groups of windows.values()) size += groups.keys.length
  const keyIndex = new Uint32Array(size)
  const starts = new Float64Array(size)
  const numbers = new Float64Array(size)
  let others: unknown[] | undefined
  let i = 0
  for (const groups of windows.values()) {
    for (let g = 0; g < groups.keys.length; g++, i++) {
      keyIndex[i] = groups.keys[g]!
      starts[i] = groups.start
      const encoded = monoid.encode(groups.states[g])
      if (others === undefined && typeof encoded === 'number') numbers[i] = encoded
      else {
        if (others === undefined) others = Array.from(numbers.subarray(0, i))
        others[i] = encoded
      }
    }
  }
  return { keys, keyIndex, windows: starts, states: others ?? numbers }
}
