// The dashboard's formatting (public/format.js, a browser module with no DOM use, loaded here as
// is). A sum past ±1.8e308 is answered `"value": null` with `"overflow"` beside it; the explorer
// showed it as '–', the dash of no value (and 'object' as a single answer's value), which the
// flag exists to prevent.
import assert from 'node:assert/strict'
import { test } from 'node:test'

type Format = {
  formatAnswer(value: unknown, overflow?: string): string
  formatValue(value: unknown): string
}
const formatPath = new URL('../../../src/serving/dashboard/public/format.js', import.meta.url).href
const format = (await import(formatPath)) as Format

test('formatAnswer: an overflowed sum shows its overflow, never the dash of no value', () => {
  assert.equal(format.formatAnswer(null, 'Infinity'), 'Infinity (overflow)')
  assert.equal(format.formatAnswer(null, '-Infinity'), '-Infinity (overflow)')
  assert.equal(format.formatAnswer(null, 'NaN'), 'NaN (overflow)')
  assert.equal(format.formatAnswer(null, undefined), '–', 'no value is still a dash')
  assert.equal(format.formatAnswer(1234, undefined), format.formatValue(1234))
  assert.equal(format.formatAnswer(1e308, undefined), format.formatValue(1e308))
})

test('the explorer shows every merged value through formatAnswer, with the overflow beside it', async () => {
  const { readFile } = await import('node:fs/promises')
  const source = await readFile(
    new URL('../../../src/serving/dashboard/public/explorer.js', import.meta.url),
    'utf8',
  )
  // The merged value of a window (table, legend, latest) and a single answer (stat, big value).
  assert.doesNotMatch(
    source,
    /formatValue\((w|latest|a)\.value\)/,
    'a merged value formatted without its overflow',
  )
  for (const site of [
    'w.value, w.overflow',
    'latest.value, latest.overflow',
    'a.value, a.overflow',
    'v, a.overflow',
  ]) {
    assert.ok(source.includes(`formatAnswer(${site})`), `formatAnswer(${site}) missing`)
  }
})
