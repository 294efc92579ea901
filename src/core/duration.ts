// Durations in view definitions are written the way people say them: '500ms', '30s', '5m',
// '1h', '1d'. One integer and one unit, nothing else: '1h30m' or '1.5h' are rejected rather than
// guessed at, because a window size that silently means something else corrupts every result.
import { ErrorCodes, invalidInput } from './errors.ts'

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

/** The shortest exact spelling of a duration in ms: 3_600_000 → '1h', 90_000 → '90s'. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % units[unit] === 0) return `${ms / units[unit]}${unit}`
  }
  return `${ms}ms`
}
