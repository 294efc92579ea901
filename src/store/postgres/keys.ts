// PostgreSQL text cannot hold U+0000, and Strata keys may contain it (a key is whatever the
// view's key function returns). A key that failed to store would wedge its partition's speed
// commits for good, so keys are stored escaped:
//
//   U+0000 → U+0001 U+0001      U+0001 → U+0001 U+0002      anything else → itself
//
// The code words are prefix-free and in the order of the characters they stand for, so stored
// keys sort (COLLATE "C", byte order) exactly as the keys do, and LMDB's key order is kept.
// Keys without either character, which is all of them in practice, are stored as they are.
// Long keys are stored by digest first (../long-keys.ts); long_keys maps the digest back.
import { isDigest, storedForm } from '../long-keys.ts'

// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const SPECIAL = /[\u0000\u0001]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const SPECIALS = /[\u0000\u0001]/g
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const ESCAPED = /\u0001([\u0001\u0002])/g

/** The stored text of a key: its long-keys.ts stored form, escaped. */
export function storedKey(key: string): string {
  return escapeKey(storedForm(key))
}

function escapeKey(key: string): string {
  return SPECIAL.test(key)
    ? key.replace(SPECIALS, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002'))
    : key
}

/** The stored form (long-keys.ts) of a stored text: a long key's digest stays a digest. */
export function keyOf(stored: string): string {
  return stored.includes('\u0001')
    ? stored.replace(ESCAPED, (_, c: string) => (c === '\u0001' ? '\u0000' : '\u0001'))
    : stored
}

/** The long keys among keys: [stored text, full key] rows for the long_keys table. */
export function longKeyRows(keys: Iterable<string>): [string[], string[]] {
  const stored: string[] = []
  const full: string[] = []
  const seen = new Set<string>()
  for (const key of keys) {
    const form = storedForm(key)
    if (form === key || seen.has(form)) continue
    seen.add(form)
    stored.push(escapeKey(form))
    full.push(escapeKey(key))
  }
  return [stored, full]
}

/** Records the full keys of the long keys among `keys` (idempotent). */
export async function saveLongKeys(
  client: { query: (text: string, values: unknown[]) => Promise<unknown> },
  S: string,
  keys: Iterable<string>,
): Promise<void> {
  const [stored, full] = longKeyRows(keys)
  if (stored.length === 0) return
  await client.query(
    `INSERT INTO ${S}.long_keys (stored, key) SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (stored) DO NOTHING`,
    [stored, full],
  )
}

/** The keys of stored texts (a page of a scan): long keys looked up in one query. */
export async function keysOf(
  db: {
    query: (text: string, values: unknown[]) => Promise<{ rows: Array<{ stored: string; key: string }> }>
  },
  S: string,
  stored: readonly string[],
): Promise<string[]> {
  const forms = stored.map(keyOf)
  const digests = [...new Set(stored.filter((_, i) => isDigest(forms[i]!)))]
  if (digests.length === 0) return forms
  const { rows } = await db.query(`SELECT stored, key FROM ${S}.long_keys WHERE stored = ANY($1::text[])`, [
    digests,
  ])
  const full = new Map(rows.map((r) => [r.stored, keyOf(r.key)]))
  return stored.map((s, i) => full.get(s) ?? forms[i]!)
}
