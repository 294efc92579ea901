// A query through the key filters (log-key-filter.ts) never misses a logged delta: for random
// logs (rows of several views, keys of any UTF-16 content — astral characters, lone surrogates,
// \0, long ones), random passes that fold rows or rewrite them under a new nonce, and snapshots
// of several ages read through one cache, every (view, key) answers exactly what decoding every
// row of the snapshot answers (review r19-drain).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { open } from 'lmdb'
import { storedRow } from '../../src/store/lmdb-log-row.ts'
import {
  LogCache,
  type LoggedRow,
  loggedDeltas,
  loggedRows,
  logRowOf,
} from '../../src/store/lmdb-speed-log.ts'

type Key = (string | number | boolean)[]

const VIEWS = ['v', 'views', 'vi\u00e9w', 'v\u{1f600}', 'v\0x']
const keyArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.constantFrom('a', 'a\0', '\0a', '\u00e9', 'e\u0301', '\ud800', '\udc00', '\u{10ffff}'),
  fc.string({ minLength: 200, maxLength: 400 }),
)
const deltaArb = fc.record({
  view: fc.constantFrom(...VIEWS),
  key: keyArb,
  state: fc.integer({ min: 1, max: 9 }),
})
const stepArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      deltas: fc.array(deltaArb, { minLength: 1, maxLength: 40 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fold' as const), n: fc.nat(3) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('rewrite' as const), at: fc.nat(10), keep: fc.nat(40) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('snapshot' as const) }) },
)

const context = {
  speed: [{ partition: 0, epochs: [0] } as never],
  speedView: { start: [] } as never,
  horizon: undefined,
}

test('a query through the key filters answers what decoding every row answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-key-filter-prop-'))
  const db = open<unknown, Key>({ path: dir })
  try {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        run++
        await db.transaction(() => {
          for (const key of db.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })) db.remove(key as Key)
        })
        const cache = new LogCache(run % 2 === 0 ? 50 : 1_000_000)
        const snapshots: Array<ReturnType<typeof db.useReadTransaction>> = []
        const asked = new Set<string>()
        let seq = 0
        try {
          for (const step of steps) {
            if (step.kind === 'append') {
              seq++
              for (const d of step.deltas) asked.add(`${d.view}\u0001${d.key}`)
              const row = logRowOf(
                {
                  partition: 0,
                  offset: seq,
                  deltas: step.deltas.map((d) => ({ ...d, epoch: 0, window: 0 })),
                } as never,
                (k) => k,
              )
              await db.put(['rl', seq, Math.random()], storedRow(row))
            } else if (step.kind === 'fold' || step.kind === 'rewrite') {
              const keys = [...db.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })] as Key[]
              await db.transaction(() => {
                if (step.kind === 'fold') {
                  for (const k of keys.slice(0, step.n)) db.remove(k)
                  return
                }
                // A pass keeps part of a row in place: same sequence number, a new nonce.
                const k = keys[step.at % Math.max(1, keys.length)]
                if (k === undefined) return
                const stored = db.get(k) as never
                const old = new LogCache().decoded(db as never, k, undefined, k[2] as number)!
                const n = Math.min(old.keys.length, step.keep)
                const deltas = Array.from({ length: n }, (_, i) => ({
                  view: old.v[old.view[i]!]!,
                  epoch: 0,
                  key: old.keys[i]!,
                  window: 0,
                  state: (old.states[i] as number) + 100,
                }))
                db.remove(k)
                if (n > 0 && stored !== undefined) {
                  const row = logRowOf({ partition: 0, offset: old.o, deltas } as never, (x) => x)
                  db.put(['rl', k[1] as number, Math.random()], storedRow(row))
                }
              })
            } else {
              snapshots.push(db.useReadTransaction())
            }
            // Every open snapshot and the newest, in turn, through the one cache.
            const newest = db.useReadTransaction()
            try {
              for (const transaction of [...snapshots, newest]) {
                const rows = loggedRows(db as never, cache, transaction)
                const everyRow = rows.map((r) => ({ ...r, filter: { mayHold: () => true } as never }))
                const names = [...asked, 'v\u0001absent', `v\u0001${'x'.repeat(300)}`]
                for (const name of names) {
                  const [view, key] = name.split('\u0001') as [string, string]
                  const got = loggedDeltas(
                    rows,
                    (r: LoggedRow) => cache.read(db as never, r.key, transaction, r.id),
                    view,
                    key,
                    -Infinity,
                    Infinity,
                    context,
                  )
                  const all = loggedDeltas(
                    everyRow,
                    (r: LoggedRow) => new LogCache().read(db as never, r.key, transaction, r.id),
                    view,
                    key,
                    -Infinity,
                    Infinity,
                    context,
                  )
                  assert.deepEqual(got, all, `${JSON.stringify(view)} ${JSON.stringify(key)}`)
                }
              }
            } finally {
              newest.done()
            }
            if (snapshots.length > 3) snapshots.shift()!.done()
          }
        } finally {
          for (const s of snapshots) s.done()
        }
      }),
      { numRuns: 60 },
    )
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
