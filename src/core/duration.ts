// Durations in view definitions are written the way people say them: '500ms', '30s', '5m',
// '1h', '1d'. One integer and one unit, nothing else: '1h30m' or '1.5h' are rejected rather than
// guessed at, because a window size that silently means something else corrupts every result.
import { type ErrorCode, ErrorCodes, invalidInput } from './errors.ts'

const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const pattern = /^(\d+)(ms|s|m|h|d)$/

/** Milliseconds in a duration given as '500ms' | '30s' | '5m' | '1h' | '1d' or a number of ms. */
export function parseDuration(input: string | number, field = 'duration'): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input > 0) return input
    throw invalidInput(
      ErrorCodes.INVALID_VIEW,
      `${field} must be a positive integer of milliseconds, got ${input}`,
      {
        field,
      },
    )
  }
  const match = typeof input === 'string' ? pattern.exec(input) : null
  if (match === null) {
    throw invalidInput(
      ErrorCodes.INVALID_VIEW,
      `${field} must look like '500ms', '30s', '5m', '1h' or '1d', got ${JSON.stringify(input)}`,
      { field },
    )
  }
  const ms = Number(match[1]) * units[match[2] as keyof typeof units]
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw invalidInput(ErrorCodes.INVALID_VIEW, `${field} must be positive and finite, got ${input}`, {
      field,
    })
  }
  return ms
}

/**
 * The longest setting that runs a timer (a hang timeout, a batch interval, a segment age): 24 days.
 * Node's setTimeout holds a 32-bit count of ms (~24.8 days); a longer delay fires after 1 ms, so
 * `--batch-interval 30d` ran batches back to back and `--hang-timeout 30d` ended every thread at
 * once at a stop. A window size is not a timer and may be longer.
 */
export const maxTimerMs = 24 * units.d

/**
 * A setting's duration that runs a timer: parseDuration's, refused past maxTimerMs with the
 * field named (the code is the caller's: a bad argument for a flag or an option).
 */
export function parseTimerDuration(input: string | number, field: string, code: ErrorCode): number {
  let ms: number
  try {
    ms = parseDuration(input, field)
  } catch (error) {
    throw invalidInput(code, (error as Error).message, { field })
  }
  if (ms > maxTimerMs) {
    throw invalidInput(
      code,
      `${field} must be at most 24d (a longer timer would fire at once), got ${formatDuration(ms)}`,
      { field },
    )
  }
  return ms
}

/** The shortest exact spelling of a duration in ms: 3_600_000 → '1h', 90_000 → '90s'. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % units[unit] === 0) return `${ms / units[unit]}${unit}`
  }
  return `${ms}ms`
}
