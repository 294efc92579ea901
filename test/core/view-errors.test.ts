import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { view } from '../../src/core/view.ts'
import {
  addToTally,
  currentStops,
  failureOf,
  foldChecked,
  isFailing,
  RECENT_ERRORS,
  ViewFailedError,
  type ViewFoldError,
  type ViewStop,
  viewState,
  withStop,
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
  // The error carries the event, for what answers for the view (viewState).
  let thrown: unknown
  try {
    foldChecked(compiled, compiled.createTable(), {}, 1, 7, () => undefined)
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof ViewFailedError)
  assert.deepEqual(
    { ...failureOf(thrown), message: undefined },
    { view: 'by_country', partition: 1, offset: 7, message: undefined },
  )
  assert.match(failureOf(thrown)?.message ?? '', /^TypeError: /)
  assert.equal(failureOf(new Error('other')), undefined)
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

test("viewState: stopped while a layer is stopped on the view's event, above failing; else failing, else ok", () => {
  const stop: ViewStop = { view: 'v', partition: 1, offset: 7, message: 'TypeError: x', layer: 'speed' }
  const flood = addToTally(undefined, [{ view: 'v', partition: 0, offset: 1, message: 'm' }], 1, 1000)
  assert.equal(viewState(undefined, undefined, [stop], 0), 'stopped')
  assert.equal(viewState({ errors: 9, events: 10 }, flood, [stop], 1000), 'stopped')
  assert.equal(viewState({ errors: 9, events: 10 }, undefined, [], 0), 'failing')
  assert.equal(viewState(undefined, flood, [], 1000), 'failing')
  assert.equal(viewState({ errors: 1, events: 10 }, undefined, [], 0), 'ok')
})

test("a stop recorded in the store holds until its partition commits past the event; the process's own come first", () => {
  const error = (partition: number, offset: number): ViewFoldError => ({
    view: 'v',
    partition,
    offset,
    message: 'TypeError: x',
  })
  // withStop: one per partition (the newer replaces the older); the tally's count and errors kept.
  let tally = addToTally(undefined, [error(0, 1)], 10, 1000)
  tally = withStop(withStop(withStop(tally, error(2, 9)), error(1, 5)), error(2, 12))
  assert.deepEqual(tally.stops, [error(1, 5), error(2, 12)])
  assert.equal(tally.count, 1)
  assert.deepEqual(withStop(undefined, error(0, 3)), { count: 0, recent: [], stops: [error(0, 3)] })
  // A later commit's errors keep the stops.
  assert.deepEqual(addToTally(tally, [error(0, 2)], 5, 2000).stops, tally.stops)

  // Partition 1 consumed up to 5 (the event at 5 not folded): holds; partition 2 past 12: over.
  assert.deepEqual(currentStops('v', tally, [0, 5, 13], []), [{ ...error(1, 5), layer: 'speed' }])
  // Never ran there (null), or unknown: holds.
  assert.equal(currentStops('v', tally, [0, null], []).length, 2)
  // The process's own stops come first, one per layer and partition; other views' are not this one's.
  const own: ViewStop[] = [
    { ...error(1, 5), message: 'own', layer: 'speed' },
    { ...error(0, 40), layer: 'batch' },
    { ...error(1, 5), view: 'w', layer: 'speed' },
  ]
  assert.deepEqual(currentStops('v', tally, [0, 5, 13], own), own.slice(0, 2))
  assert.deepEqual(currentStops('w', undefined, [], own), [own[2]])
})
