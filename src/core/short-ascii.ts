// Short ASCII strings built in JavaScript: the projected check's read strings (projected-check.ts)
// of up to SHORT_STRING characters, every byte below 0x80.
/**
 * Read strings of at most this many characters are built in JavaScript (shortAscii), not cut
 * from a latin1 slice of the record: V8 copies a substring this short anyway (a sliced string
 * needs 13 characters), and a slice is a call into C++ that costs more than building the string.
 */
export const SHORT_STRING = 12

/**
 * The ASCII string b[i, i + length), length <= SHORT_STRING, every byte below 0x80 (the caller
 * checked): String.fromCharCode with the bytes as its arguments builds one flat string in
 * JavaScript's builtins, without the call into C++ a latin1Slice is. Its characters are the
 * bytes, as latin1Slice's would be.
 */
export function shortAscii(b: Uint8Array, i: number, length: number): string {
  switch (length) {
    case 0:
      return ''
    case 1:
      return String.fromCharCode(b[i]!)
    case 2:
      return String.fromCharCode(b[i]!, b[i + 1]!)
    case 3:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!)
    case 4:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!)
    case 5:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!)
    case 6:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!)
    case 7:
      return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!)
    case 8:
      return String.fromCharCode(
        b[i]!,
        b[i + 1]!,
        b[i + 2]!,
        b[i + 3]!,
        b[i + 4]!,
        b[i + 5]!,
        b[i + 6]!,
        b[i + 7]!,
      )
    case 9:
      return String.fromCharCode(
        b[i]!,
        b[i + 1]!,
        b[i + 2]!,
        b[i + 3]!,
        b[i + 4]!,
        b[i + 5]!,
        b[i + 6]!,
        b[i + 7]!,
        b[i + 8]!,
      )
    case 10:
      return String.fromCharCode(
        b[i]!,
        b[i + 1]!,
        b[i + 2]!,
        b[i + 3]!,
        b[i + 4]!,
        b[i + 5]!,
        b[i + 6]!,
        b[i + 7]!,
        b[i + 8]!,
        b[i + 9]!,
      )
    case 11:
      return String.fromCharCode(
        b[i]!,
        b[i + 1]!,
        b[i + 2]!,
        b[i + 3]!,
        b[i + 4]!,
        b[i + 5]!,
        b[i + 6]!,
        b[i + 7]!,
        b[i + 8]!,
        b[i + 9]!,
        b[i + 10]!,
      )
    case 12:
      return String.fromCharCode(
        b[i]!,
        b[i + 1]!,
        b[i + 2]!,
        b[i + 3]!,
        b[i + 4]!,
        b[i + 5]!,
        b[i + 6]!,
        b[i + 7]!,
        b[i + 8]!,
        b[i + 9]!,
        b[i + 10]!,
        b[i + 11]!,
      )
    default:
      throw new RangeError(`shortAscii: ${length} bytes`)
  }
}
