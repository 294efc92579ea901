// The query fast path's kept bodies (api/kept-bodies.ts): the bound holds what is kept — the URL
// (the map's key, up to 512 characters) as well as the body — and one body larger than the whole
// bound is not kept, rather than dropping every other URL's body on its way out.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { KeptBodies, type KeptBody } from '../../../src/serving/api/kept-bodies.ts'

const entry = (body: string): KeptBody => ({ view: {}, version: 1, log: undefined, body, bytes: body.length })

test('the URLs count toward the bound, not the bodies alone', () => {
  const kept = new KeptBodies(1000)
  // Long URLs with short bodies (a short answer asked by a long percent-encoded key).
  for (let i = 0; i < 100; i++) kept.keep(`/views/v/${String(i).padStart(400, '0')}`, entry('{}'))
  assert.ok(kept.chars <= 1000, `${kept.chars} characters held, bound 1000`)
  assert.ok(kept.size <= 2, `${kept.size} URLs kept`)
  // What it counts is what it holds.
  const held = [...Array(100).keys()]
    .map((i) => `/views/v/${String(i).padStart(400, '0')}`)
    .filter((url) => kept.get(url) !== undefined)
    .reduce((sum, url) => sum + url.length + (kept.get(url)?.body.length ?? 0), 0)
  assert.equal(kept.chars, held)
})

test('a body larger than the bound is not kept and leaves the others kept', () => {
  const kept = new KeptBodies(1000)
  kept.keep('/views/v/a', entry('a'.repeat(100)))
  kept.keep('/views/v/b', entry('b'.repeat(100)))
  kept.keep('/views/v/huge', entry('h'.repeat(2000)))
  assert.equal(kept.get('/views/v/huge'), undefined)
  assert.notEqual(kept.get('/views/v/a'), undefined, 'an older body still kept')
  assert.notEqual(kept.get('/views/v/b'), undefined, 'an older body still kept')
  assert.ok(kept.chars <= 1000)
})

test('a URL kept again replaces its body; one now too large drops the old one too', () => {
  const kept = new KeptBodies(1000)
  kept.keep('/views/v/a', entry('a'.repeat(100)))
  kept.keep('/views/v/a', entry('x'.repeat(50)))
  assert.equal(kept.get('/views/v/a')?.body, 'x'.repeat(50))
  assert.equal(kept.chars, '/views/v/a'.length + 50)
  kept.keep('/views/v/a', entry('y'.repeat(5000)))
  assert.equal(kept.get('/views/v/a'), undefined, 'not the older body of that URL either')
  assert.equal(kept.chars, 0)
})
