// A fast, well-mixed 53-bit string hash for the sketches: cyrb53 (two 32-bit multiply-xorshift
// lanes over UTF-16 code units, cross-mixed at the end), public domain. 53 bits is what a JS
// number holds exactly, so a hash is one number: no BigInt and no allocation on the hot path.
// Not cryptographic, and not meant to be: sketches need uniform bits, not secrecy.
// The hash is part of every stored sketch's meaning; changing it needs a sketch version bump.

/** Hash of a string to an integer in [1, 2^53) (0 is reserved as "empty" by hash sets). */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  const h = 4294967296 * (2097151 & h2) + (h1 >>> 0)
  return h === 0 ? 1 : h
}
