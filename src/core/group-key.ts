// The store keeps one state per (view, key, window). Its group key is a single string that
// sorts by key, then by window start:
//
//   <key> U+0000 <14 lower-case hex digits of windowStart + 2^52>
//
// The offset makes window starts before 1970 (ISO times may be) sort correctly, and the fixed
// width makes the encoding reversible even when a key itself contains U+0000: the window part
// is always the last 14 characters. All the windows of one key are a contiguous range
// (groupKeyRange), which is what `GET /views/:view/:key?from=&to=` scans. Non-windowed views use
// GLOBAL_WINDOW_START. (A key that itself contains U+0000 can fall inside another key's range;
// callers that scan a range check the decoded key.)
import { ErrorCodes, StrataError } from './errors.ts'

const OFFSET = 2 ** 52
const WIDTH = 14
const SEPARATOR = '\u0000'

function encodeStart(windowStart: number): string {
  if (!Number.isSafeInteger(windowStart) || Math.abs(windowStart) >= OFFSET) {
    throw new StrataError(ErrorCodes.INVALID_ARGUMENT, `window start out of range: ${windowStart}`)
  }
  return (windowStart + OFFSET).toString(16).padStart(WIDTH, '0')
}

export function encodeGroupKey(key: string, windowStart: number): string {
  return key + SEPARATOR + encodeStart(windowStart)
}

export function decodeGroupKey(groupKey: string): { key: string; windowStart: number } {
  const at = groupKey.length - WIDTH - 1
  if (at < 0 || groupKey[at] !== SEPARATOR) {
    throw new StrataError(ErrorCodes.INVALID_ARGUMENT, `not a group key: ${JSON.stringify(groupKey)}`)
  }
  return { key: groupKey.slice(0, at), windowStart: Number.parseInt(groupKey.slice(at + 1), 16) - OFFSET }
}

/**
 * Group keys of `key` with window starts in [from, to), as a half-open string range
 * [start, end) for a sorted store. Without from/to, all windows of the key.
 */
export function groupKeyRange(key: string, from?: number, to?: number): { start: string; end: string } {
  // Window starts are integers, so start >= from iff start >= ceil(from), and likewise for to.
  const bound = (t: number) => encodeStart(Math.min(Math.max(Math.ceil(t), -OFFSET + 1), OFFSET - 1))
  return {
    start: key + SEPARATOR + (from === undefined ? '' : bound(from)),
    end: to === undefined ? key + '\u0001' : key + SEPARATOR + bound(to),
  }
}
