// Group keys come from the views' key functions, so they can be as long as an event's field (a
// 3,000-character URL). The stores index keys, and their indexes have limits: LMDB's whole key
// (view, key, window, …) at most 1,978 bytes, a PostgreSQL B-tree row at most 2,704. A key over
// them would fail every commit of its partition and every batch run, for good. So a key is
// stored as itself while it is short, and by its digest when it is long:
//
//   stored(key) = key                                  when key is at most MAX_KEY_BYTES of UTF-8
//               = DIGEST_PREFIX + sha256hex(key)       otherwise, and for any key that starts with
//                                                      DIGEST_PREFIX (so no real key can be taken
//                                                      for the digest of another) or with a
//                                                      control character (see isLongKey)
//
// and the full key is kept beside, under its stored form, for the reads that list keys (a scan of
// a batch version, the keys with realtime states). Reads of one key (a query) only need stored().
// The answers are the same whatever the key's length: only where it lives changes.
import { createHash } from 'node:crypto'

export const MAX_KEY_BYTES = 1000
/** Printable (see isLongKey); a real key that starts with it is stored by digest too. */
export const DIGEST_PREFIX = '§sha256:'

// Asked once per delta of every commit (the log row's keys): the first character decides the two
// prefix cases, so the usual short key costs one charCodeAt and one length test.
const DIGEST_FIRST = DIGEST_PREFIX.charCodeAt(0)

export function isLongKey(key: string): boolean {
  const first = key.charCodeAt(0)
  return (
    // lmdb-js's ordered-binary misreads some keys that start with a control character (a long
    // one after U+0001 came back as '' and a buffer): stored by digest they cannot be misread.
    first < 0x20 ||
    (first === DIGEST_FIRST && key.startsWith(DIGEST_PREFIX)) ||
    (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES)
  )
}

/** Where a key is stored: itself, or its digest when long (see above). */
export function storedForm(key: string): string {
  return isLongKey(key) ? DIGEST_PREFIX + createHash('sha256').update(key).digest('hex') : key
}

/** True for a stored form that stands for a longer key (look it up to answer with the key). */
export function isDigest(stored: string): boolean {
  return stored.startsWith(DIGEST_PREFIX)
}
