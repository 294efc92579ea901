// Which keys are stored by their digest (src/store/long-keys.ts): the long ones, and any that
// starts with the digest prefix or a control character. isLongKey is asked once per delta of every
// commit, so its order of tests is tuned; the answer must not depend on that order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DIGEST_PREFIX, isLongKey, MAX_KEY_BYTES, storedForm } from '../../src/store/long-keys.ts'

test('isLongKey: long by UTF-8 bytes, the digest prefix, a control character first; nothing else', () => {
  const cases: Array<[string, string, boolean]> = [
    ['empty', '', false],
    ['short', 'user-42', false],
    ['at the limit', 'x'.repeat(MAX_KEY_BYTES), false],
    ['one byte over', 'x'.repeat(MAX_KEY_BYTES + 1), true],
    ['2-byte characters under the limit', 'é'.repeat(MAX_KEY_BYTES / 2), false],
    ['2-byte characters over it', 'é'.repeat(MAX_KEY_BYTES / 2 + 1), true],
    ['the digest prefix', `${DIGEST_PREFIX}abc`, true],
    ["the prefix's first character only, short", '§abc', false],
    // Starts like the prefix but is not it: decided by its length, not by its first character.
    ["the prefix's first character, long", `§${'x'.repeat(MAX_KEY_BYTES)}`, true],
    ['a control character first', '\u0001abc', true],
    ['a control character later', 'a\u0001bc', false],
    ['a control character first, long', `\u0001${'x'.repeat(MAX_KEY_BYTES)}`, true],
  ]
  for (const [name, key, long] of cases) {
    assert.equal(isLongKey(key), long, name)
    assert.equal(storedForm(key) === key, !long, `${name}: stored form`)
  }
})
