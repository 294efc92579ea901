// Event-time windows. Every window is aligned to the Unix epoch (UTC), half-open [start, end):
// an event at time t belongs to the windows whose start s satisfies s <= t < s + size, where
// s is a multiple of the window's advance. A tumbling window advances by its size, so each event
// is in exactly one window; a hopping window advances by less than its size, so each event is in
// ceil-or-floor(size / advance) overlapping windows. Alignment to the epoch is what lets the
// batch layer and the speed layer, on different machines and at different times, agree on the
// window of every event without talking to each other.
import { formatDuration, parseDuration } from './duration.ts'
import { ErrorCodes, invalidInput } from './errors.ts'

export interface Window {
  readonly kind: 'tumbling' | 'hopping'
  /** Length of each window in ms. */
  readonly size: number
  /** Distance in ms between the starts of consecutive windows (= size when tumbling). */
  readonly advance: number
}

/** Non-windowed views keep one pseudo window per key; this is its start. */
export const GLOBAL_WINDOW_START = 0

/** Windows of a fixed size that do not overlap: tumbling('1h'). */
export function tumbling(size: string | number): Window {
  const ms = parseDuration(size, 'window size')
  return Object.freeze({ kind: 'tumbling', size: ms, advance: ms })
}

/** Overlapping windows: hopping({ size: '1h', advance: '15m' }). */
export function hopping(options: { size: string | number; advance: string | number }): Window {
  const size = parseDuration(options?.size, 'window size')
  const advance = parseDuration(options?.advance, 'window advance')
  // An advance longer than the size would leave gaps that belong to no window (Kafka Streams
  // rejects it too); equal is allowed and behaves as tumbling.
  if (advance > size) {
    throw invalidInput(
      ErrorCodes.INVALID_VIEW,
      `window advance (${formatDuration(advance)}) must not be longer than its size (${formatDuration(size)})`,
      { field: 'window.advance' },
    )
  }
  return Object.freeze({ kind: advance === size ? 'tumbling' : 'hopping', size, advance })
}

/** The latest multiple of `advance` at or before `time` (floor, also for times before 1970). */
export function alignDown(time: number, advance: number): number {
  const r = time % advance
  return r < 0 ? time - r - advance : time - r
}

/** Starts of the windows that contain `time`, ascending. Allocates; the hot path inlines this. */
export function windowStarts(window: Window | null, time: number): number[] {
  if (window === null) return [GLOBAL_WINDOW_START]
  const starts: number[] = []
  const earliest = time - window.size
  for (let s = alignDown(time, window.advance); s > earliest; s -= window.advance) starts.push(s)
  return starts.reverse()
}

/** End (exclusive) of the window that starts at `start`. */
export function windowEnd(window: Window, start: number): number {
  return start + window.size
}

/** A JSON description for hashes, the API and the docs: { kind: 'hopping', size: '1h', advance: '15m' }. */
export function describeWindow(
  window: Window | null,
): { kind: string; size: string; advance: string } | null {
  if (window === null) return null
  return { kind: window.kind, size: formatDuration(window.size), advance: formatDuration(window.advance) }
}

export function isWindow(value: unknown): value is Window {
  if (value === null || typeof value !== 'object') return false
  const w = value as Window
  return (
    (w.kind === 'tumbling' || w.kind === 'hopping') &&
    Number.isSafeInteger(w.size) &&
    Number.isSafeInteger(w.advance) &&
    w.size > 0 &&
    w.advance > 0 &&
    w.advance <= w.size
  )
}
