// PostgreSQL text cannot hold U+0000, and Strata keys may contain it (core/group-key.ts allows
// it: a key is whatever the view's key function returns). A key that failed to store would wedge
// its partition's speed commits for good, so keys are stored escaped:
//
//   U+0000 → U+0001 U+0001      U+0001 → U+0001 U+0002      anything else → itself
//
// The code words are prefix-free and in the order of the characters they stand for, so stored
// keys sort (COLLATE "C", byte order) exactly as the keys do, and LMDB's key order is kept.
// Keys without either character, which is all of them in practice, are stored as they are.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const SPECIAL = /[\u0000\u0001]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const SPECIALS = /[\u0000\u0001]/g
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what is escaped
const ESCAPED = /\u0001([\u0001\u0002])/g

export function storedKey(key: string): string {
  return SPECIAL.test(key)
    ? key.replace(SPECIALS, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002'))
    : key
}

export function keyOf(stored: string): string {
  return stored.includes('\u0001')
    ? stored.replace(ESCAPED, (_, c: string) => (c === '\u0001' ? '\u0000' : '\u0001'))
    : stored
}
