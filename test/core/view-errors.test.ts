import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { view } from '../../src/core/view.ts'
import {
  addToTally,
  foldChecked,
  isFailing,
  RECENT_ERRORS,
  type ViewFoldError,
} from '../../src/core/view-errors.ts'

const byCountry = view('by_country')
  .key((e: any) => e.country.toUpperCase())
  .aggregate(count())

test('foldChecked: a throwing view records the event and skips it; the table holds only what it accepted', () => {
  const compiled = compileView(byCountry)
  const table = compiled.createTable()
  const errors: ViewFoldError[] = []
  assert.equal(
    foldChecked(compiled, table, { country: 'fr' }, 2, 10, (e) => errors.push(e)),
    true,
  )
  assert.equal(
    foldChecked(compiled, table, { user: 'x' }, 2, 11, (e) => errors.push(e)),
    false,
  )
  assert.equal(table.size, 1)
  assert.equal(errors.length, 1)
  assert.equal(errors[0]?.view, 'by_country')
  assert.equal(errors[0]?.partition, 2)
  assert.equal(errors[0]?.offset, 11)
  assert.match(errors[0]?.message ?? '', /^TypeError: /)
})

test("foldChecked: onError('stop') throws STRATA_ERR_VIEW_FAILED naming the view, partition and offset", () => {
  const compiled = compileView(byCountry.onError('stop'))
  assert.throws(
    () => foldChecked(compiled, compiled.createTable(), {}, 1, 7, () => assert.fail('not recorded')),
    (error: { code: string; message: string }) =>
      error.code === 'STRATA_ERR_VIEW_FAILED' &&
      /'by_country' threw on partition 1 offset 7/.test(error.message),
  )
  assert.throws(() => byCountry.onError('ignore' as never), { code: 'STRATA_ERR_INVALID_VIEW' })
  assert.equal(compileView(byCountry.onError('stop')).codeHash, compileView(byCountry).codeHash)
})

test('tallies keep the count and the newest errors; failing means most of what was offered', () => {
  const error = (offset: number): ViewFoldError => ({ view: 'v', partition: 0, offset, message: 'm' })
  let tally = addToTally(undefined, [error(1)], 10, 1000)
  tally = addToTally(
    tally,
    Array.from({ length: RECENT_ERRORS + 5 }, (_, i) => error(100 + i)),
    30,
    2000,
  )
  assert.equal(tally.count, RECENT_ERRORS + 6)
  assert.equal(tally.recent.length, RECENT_ERRORS)
  assert.equal(tally.recent.at(-1)?.offset, 100 + RECENT_ERRORS + 4)
  assert.deepEqual(tally.last, { errors: RECENT_ERRORS + 5, offered: 30, at: 2000 })
  assert.equal(isFailing(undefined, tally, 2000), true)
  assert.equal(isFailing(undefined, tally, 2000 + 61_000), false, 'not when the last errors are old')
  assert.equal(isFailing(undefined, addToTally(undefined, [error(1)], 10, 1000), 1000), false)
  assert.equal(isFailing({ errors: 6, events: 10 }, undefined, 0), true)
  assert.equal(isFailing({ errors: 5, events: 10 }, undefined, 0), false)
})
