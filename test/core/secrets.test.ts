// The one URL redactor (core/secrets.ts): what the CLI, the PostgreSQL store and the log
// scrubbing show of a URL with a password.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { redactUrl, scrubSecrets } from '../../src/core/secrets.ts'

test('redactUrl hides the password of every URL, and nothing else', () => {
  const cases: Array<[string, string]> = [
    ['postgres://strata:s3cret@localhost:5432/db', 'postgres://strata:***@localhost:5432/db'],
    // An empty user name.
    ['postgres://:s3cret@localhost/db', 'postgres://:***@localhost/db'],
    // Every URL of a text, not only the first.
    [
      'from postgres://a:one@h1/db to postgresql://b:two@h2/db',
      'from postgres://a:***@h1/db to postgresql://b:***@h2/db',
    ],
    // A raw `@` or space in the password: a URL parser takes the last `@`, so does the redactor.
    ['postgres://u:p@ss@host/db', 'postgres://u:***@host/db'],
    ['not a PostgreSQL URL: postgres://u:pa ss@host/db', 'not a PostgreSQL URL: postgres://u:***@host/db'],
    // Nothing to hide.
    ['postgres://strata@localhost/db', 'postgres://strata@localhost/db'],
    ['http://127.0.0.1:8080/views', 'http://127.0.0.1:8080/views'],
    ['lmdb:/var/lib/strata/store', 'lmdb:/var/lib/strata/store'],
    // A password never runs across lines.
    [
      'listening on http://127.0.0.1:8080\nmail ops@example.com',
      'listening on http://127.0.0.1:8080\nmail ops@example.com',
    ],
  ]
  for (const [text, expected] of cases) assert.equal(redactUrl(text), expected, text)
})

test('scrubSecrets redacts URLs with the same rule', () => {
  assert.equal(scrubSecrets('store postgres://:s3cret@h/db'), 'store postgres://:***@h/db')
})
